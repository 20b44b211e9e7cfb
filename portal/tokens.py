"""Bearer tokens: make one, keep only its digest, and check one in constant time.

Every secret Canvass hands out in a link or header (upload grants, reshare links, footage-request
links, device credentials) is 256 random bits, so a fast hash is enough: there is nothing to
brute-force, and the database holds nothing a reader could replay.
"""

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """The hex SHA-256 kept in place of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue() -> tuple[str, str]:
    """A new token and its digest; the token is shown once and never stored.

    URL-safe base64 has no "." so a token can follow an id and a "." in a header.
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def token_matches(token: str, digest: str) -> bool:
    """Whether the token is the one kept as this digest (constant time; "" never matches)."""
    return bool(token) and bool(digest) and hmac.compare_digest(token_digest(token), digest)
