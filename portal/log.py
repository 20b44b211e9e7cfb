"""Log formatting: timestamps in UTC (ASVS V7), whatever the server's local zone."""

import logging
import time


class UTCFormatter(logging.Formatter):
    converter = time.gmtime
