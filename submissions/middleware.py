"""Tipster anonymity at the door: on public tip paths, who the client is never gets further.

This runs first. It turns the client address into this hour's rate-limit pseudonym
(`request.tipster_key`, see submissions/abuse.py) and then removes the address, the user
agent, forwarding and client-hint headers, the referrer and any incoming request id from the
request. Under WSGI `request.META` is the server's own environ, so gunicorn's access log, which
is written from it after the response, cannot carry them either, whatever its format.
"""

import contextvars

from django.conf import settings

from submissions import abuse

_public_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tipster_request", default=False
)
PUBLIC_PREFIXES = ("/tips/", "/api/tips/")
UPLOAD_PREFIX = "/api/uploads/"
GRANT_HEADER_META = "HTTP_CANVASS_UPLOAD_GRANT"
_IDENTIFYING_META = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "HTTP_USER_AGENT",
    "HTTP_REFERER",
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_X_CLIENT_IP",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_X_REQUEST_ID",
    "HTTP_VIA",
    "HTTP_DNT",
)


def in_tipster_request() -> bool:
    """True while serving a public tip request (the log filter uses it)."""
    return _public_request.get()


def is_public_tip_path(path: str, meta) -> bool:
    if path.startswith(PUBLIC_PREFIXES):
        return True
    # Secret-bearing upload grants ("<id>.<secret>") belong to tipsters and other outsiders.
    return path.startswith(UPLOAD_PREFIX) and "." in meta.get(GRANT_HEADER_META, "")


def _client_address(meta) -> str:
    header = getattr(settings, "TIPS_CLIENT_IP_HEADER", "")
    if header:
        # The last entry is the one our own proxy added; earlier ones are the client's say.
        forwarded = meta.get(header, "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return meta.get("REMOTE_ADDR", "")


def scrub(meta) -> None:
    """Remove everything that identifies the client from a WSGI environ / request.META."""
    for name in _IDENTIFYING_META:
        meta.pop(name, None)
    for name in [k for k in meta if k.startswith("HTTP_SEC_CH_UA")]:
        meta.pop(name, None)


class TipsterAnonymityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_public_tip_path(request.path_info, request.META):
            return self.get_response(request)
        request.tipster_key = abuse.anonymous_key(_client_address(request.META))
        scrub(request.META)
        token = _public_request.set(True)
        try:
            response = self.get_response(request)
        finally:
            _public_request.reset(token)
        response["Referrer-Policy"] = "no-referrer"
        response.setdefault("Cache-Control", "no-store")
        return response
