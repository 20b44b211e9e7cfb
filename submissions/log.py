"""A logging filter for public tip requests: nothing about the client reaches a log line.

The anonymity middleware already removed the address and headers from the request; this is
the second lock. While a tip request is served, a record loses its `request` (handlers such as
AdminEmailHandler would dump its headers) and any address-shaped text in its message.
"""

import logging
import re

from submissions.middleware import PUBLIC_PREFIXES, in_tipster_request

_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"  # IPv4
    r"|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"  # IPv6, full
    r"|(?<![\w:])[0-9a-fA-F:]*::[0-9a-fA-F:]*(?![\w:])"  # IPv6, compressed (not clock times)
)


# The development server's own connection-level lines ("Broken pipe from (address, port)")
# are written outside any request, so nothing tells a tipster's connection from staff's.
_CONNECTION_LOGGERS = ("django.server",)


def _about_a_tip(record: logging.LogRecord) -> bool:
    if in_tipster_request() or record.name in _CONNECTION_LOGGERS:
        return True
    request = getattr(record, "request", None)
    path = getattr(request, "path", "") or ""
    return isinstance(path, str) and path.startswith(PUBLIC_PREFIXES)


class TipsterPrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _about_a_tip(record):
            return True
        if hasattr(record, "request"):
            record.request = None
        message = record.getMessage()
        record.msg, record.args = _ADDRESS.sub("[address removed]", message), ()
        return True
