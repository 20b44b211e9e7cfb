"""Log formatting: timestamps in UTC (ASVS V7), whatever the server's local zone."""

import logging
import time
from collections.abc import Callable


class UTCFormatter(logging.Formatter):
    converter: Callable[[float | None], time.struct_time] = time.gmtime
