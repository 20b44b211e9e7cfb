"""Signed webhooks (CAD incidents, activation triggers), the parts that touch no database.

The sender signs `timestamp + "." + body` with HMAC-SHA256 under its secret, hex, in
`Canvass-Signature`; `Canvass-Timestamp` is Unix seconds and must be within FRESHNESS of our
clock; `Canvass-Nonce` is used once per sender within that window (the caller keeps it).

Secrets are sealed at rest (HMAC needs the secret itself, so a digest would not do): the
sealing lives in portal/sealing.py, shared with the registry's camera credentials, and is
re-exported here for the devices code that seals webhook secrets.
"""

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets

from portal.sealing import secret_seal as secret_seal
from portal.sealing import secret_unseal as secret_unseal

FRESHNESS = dt.timedelta(minutes=5)
AGENCY_HEADER = "Canvass-Agency"
SOURCE_HEADER = "Canvass-Source"
TIMESTAMP_HEADER = "Canvass-Timestamp"
SIGNATURE_HEADER = "Canvass-Signature"
NONCE_HEADER = "Canvass-Nonce"
NONCE_MAX_LENGTH = 128
_HEX64 = re.compile(r"[0-9a-f]{64}")


def secret_new() -> str:
    """A fresh webhook secret (256 bits, URL-safe text to paste into the sender).

    Never one that begins with "-": pasted after a flag on a command line it would be read
    as another flag (the demo's printed command failed that way one run in 64).
    """
    while True:
        secret = secrets.token_urlsafe(32)
        if not secret.startswith("-"):
            return secret


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    """What the sender puts in Canvass-Signature (hex HMAC-SHA256 of `timestamp.body`)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is the body's; anything but 64 hex digits is simply wrong."""
    signature = signature.strip().lower()
    if not _HEX64.fullmatch(signature):
        return False
    return hmac.compare_digest(signature_of(secret, timestamp, body), signature)


def timestamp_fresh(timestamp: str, now: dt.datetime) -> bool:
    """Within FRESHNESS of `now`, either side (a sender's clock a little ahead is not refused)."""
    if not re.fullmatch(r"\d{1,12}", timestamp.strip()):
        return False
    try:
        sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):  # past the year 9999
        return False
    return abs(now - sent) <= FRESHNESS


class BodyInvalid(ValueError):
    """The body cannot be kept as sent: not JSON, or JSON PostgreSQL cannot store."""


def _no_constants(name: str) -> float:
    raise BodyInvalid(f"{name} is not JSON (send numbers, not NaN or Infinity).")


def json_body(body: bytes) -> object:
    """The body as JSON, refused when it is not, or holds what a jsonb column cannot keep
    (NaN or Infinity, a NUL character): the delivery is kept as sent or not at all."""
    try:
        parsed = json.loads(body, parse_constant=_no_constants)
    except BodyInvalid:
        raise
    except ValueError as exc:  # JSONDecodeError and bad UTF-8 alike
        raise BodyInvalid("The body is not JSON.") from exc
    if "\\u0000" in body.decode("utf-8", "replace").lower():
        raise BodyInvalid("The body holds a NUL character (\\u0000), which cannot be stored.")
    return parsed


def nonce_valid(nonce: str) -> bool:
    return 1 <= len(nonce) <= NONCE_MAX_LENGTH
