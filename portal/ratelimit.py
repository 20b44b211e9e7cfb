"""Rate limits for the account pages (sign-up, password reset), counted in Redis.

Counters are keyed by a hash, never by the raw value: an email address becomes an HMAC
(keyed with SECRET_KEY) of its normalised form, a client address an HMAC of the address, so
Redis holds no list of who tried what. Each counter lives for one fixed window
(ACCOUNT_RATE_WINDOW_SECONDS) and then expires by itself. The tips line keeps its own,
hour-salted limiter (submissions/abuse.py); this one is for signed-out account pages (and
counts custody proof exports per user, evidence.custody.proof). Both fall back to this
process's memory while Redis is unreachable (portal.redis_fallback).
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac
from redis import Redis

from portal.redis_fallback import fallback_limit, memory, with_redis

_COUNTER_KEY = "accounts:rate:{namespace}{bucket}:{window}:{key}"


def normalised_email(email: str) -> str:
    return (email or "").strip().lower()


def _hashed(kind: str, value: str) -> str:
    return salted_hmac(f"portal.ratelimit.{kind}", value, algorithm="sha256").hexdigest()[:32]


def email_key(email: str) -> str:
    """The counter key of an address: HMAC(SECRET_KEY, normalised email)."""
    return "e:" + _hashed("email", normalised_email(email))


def client_address(request) -> str:
    # Behind our proxy the last entry of its header is the one it added (as for tips).
    header = getattr(settings, "TIPS_CLIENT_IP_HEADER", "")
    if header:
        forwarded = request.META.get(header, "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")


def client_key(request) -> str:
    return "c:" + _hashed("client", client_address(request))


@dataclass(frozen=True)
class Limit:
    allowed: bool
    retry_after: int


def hit(bucket: str, key: str, limit: int, *, window_seconds: int | None = None) -> Limit:
    """Count one event of `bucket` for `key`; refused once `limit` events happened this window
    (ACCOUNT_RATE_WINDOW_SECONDS unless `window_seconds` is given)."""
    window_seconds = window_seconds or settings.ACCOUNT_RATE_WINDOW_SECONDS
    now = int(time.time())
    window = now // window_seconds
    retry_after = max((window + 1) * window_seconds - now, 1)
    name = _COUNTER_KEY.format(
        namespace=settings.ACCOUNT_RATE_NAMESPACE, bucket=bucket, window=window, key=key
    )

    def shared(client: Redis) -> int:
        pipe = client.pipeline()
        pipe.incr(name)
        pipe.expire(name, retry_after + 1, nx=True)
        return pipe.execute()[0]

    count = with_redis(shared, lambda: None)
    if count is None:
        # Redis is away: count in this process, with half the allowance, rather than fail.
        count, limit = memory().incr(name, retry_after + 1), fallback_limit(limit)
    return Limit(count <= limit, 0 if count <= limit else retry_after)


def hit_all(bucket: str, *, request, email: str | None = None) -> Limit:
    """Count one attempt against the client's allowance and, when given, the address's.

    Both are counted even when the first is already refused, so a refused burst still spends
    the address's allowance and cannot be used to probe it.
    """
    checks = [hit(f"{bucket}:client", client_key(request), _limit(bucket, "CLIENT"))]
    if email is not None:
        checks.append(hit(f"{bucket}:email", email_key(email), _limit(bucket, "ADDRESS")))
    refused = [c for c in checks if not c.allowed]
    return max(refused, key=lambda c: c.retry_after) if refused else Limit(True, 0)


def _limit(bucket: str, per: str) -> int:
    return getattr(settings, f"ACCOUNT_RATE_{bucket.upper()}_PER_{per}")
