"""Abuse limits that know no one: hashed-address rate limits and ALTCHA proof-of-work.

The client's address is turned into HMAC(salt of this hour, address) by the anonymity
middleware and then dropped. The salt is random, lives only in Redis and expires with its
hour, so after that hour no one (us included) can link a key back to an address. Counters
live in Redis too and never outlive the hour of their salt.

When Redis cannot be reached, tips and uploads are still accepted: the salt, the counters and
the proof-of-work replay guard fall back to this process's memory (portal.redis_fallback), with
half the allowance, since each web process then counts on its own.
"""

import secrets
import threading
import time
from dataclasses import dataclass
from typing import cast

import altcha
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from redis import Redis

from portal.redis_fallback import fallback_limit as _fallback_limit
from portal.redis_fallback import memory as _state
from portal.redis_fallback import with_redis as _with_redis

HOUR = 3600
_SALT_KEY = "tips:salt:{hour}"
_COUNTER_KEY = "tips:rate:{namespace}{bucket}:{key}"
_POW_USED_KEY = "tips:pow-used:{signature}"
_salts: dict[int, bytes] = {}
_salts_lock = threading.Lock()


def _hour_salt(hour: int) -> bytes:
    """This hour's salt: made once by whichever process asks first, shared through Redis."""
    salt = _salts.get(hour)
    if salt is not None:
        return salt
    key = _SALT_KEY.format(hour=hour)
    ttl = (hour + 1) * HOUR - int(time.time()) + 1

    def shared(client: Redis) -> bytes | None:
        client.set(key, secrets.token_bytes(32), nx=True, ex=max(ttl, 1))
        # The client does not decode responses (bytes, not str); None if the key just expired.
        return cast(bytes | None, client.get(key))

    salt = _with_redis(shared, lambda: None)
    if salt is None:
        # Not kept: once Redis is back, the shared salt replaces this process's own.
        return _local_salt(hour)
    with _salts_lock:
        # Keep only the current hour in memory: an old salt must not outlive its hour here either.
        _salts.clear()
        _salts[hour] = salt
    return salt


_own_salts: dict[int, bytes] = {}


def _local_salt(hour: int) -> bytes:
    with _salts_lock:
        if hour not in _own_salts:
            _own_salts.clear()
            _own_salts[hour] = secrets.token_bytes(32)
        return _own_salts[hour]


def anonymous_key(address: str) -> str:
    """A short-lived pseudonym for a client address, good for rate limits within this hour."""
    hour = int(time.time()) // HOUR
    digest = salted_hmac("tips.rate", address, secret=_hour_salt(hour), algorithm="sha256")
    return f"{hour}:{digest.hexdigest()[:32]}"


@dataclass(frozen=True)
class Limit:
    allowed: bool
    retry_after: int


def _seconds_left_in_hour(key: str) -> int:
    hour = int(key.split(":", 1)[0])
    return max((hour + 1) * HOUR - int(time.time()), 1)


def _counter_name(bucket: str, key: str) -> str:
    return _COUNTER_KEY.format(namespace=settings.TIPS_RATE_NAMESPACE, bucket=bucket, key=key)


def hit(bucket: str, key: str, limit: int) -> Limit:
    """Count one event of `bucket` for `key`; refused once `limit` events happened this hour."""
    name = _counter_name(bucket, key)
    expiry = _seconds_left_in_hour(key)

    def shared(client: Redis) -> int:
        pipe = client.pipeline()
        pipe.incr(name)
        pipe.expire(name, expiry, nx=True)
        return pipe.execute()[0]

    count = _with_redis(shared, lambda: None)
    if count is None:
        count, limit = _state().incr(name, expiry), _fallback_limit(limit)
    if count > limit:
        return Limit(False, expiry)
    return Limit(True, 0)


def peek(bucket: str, key: str, limit: int) -> Limit:
    """Whether `key` is already over `limit` in `bucket`, without counting an event."""
    name = _counter_name(bucket, key)
    count = _with_redis(lambda client: int(client.get(name) or 0), lambda: None)
    if count is None:
        count, limit = _state().get(name), _fallback_limit(limit)
    if count >= limit:
        return Limit(False, _seconds_left_in_hour(key))
    return Limit(True, 0)


# --- proof of work ------------------------------------------------------------------------


class PowRefused(Exception):
    """The proof-of-work is missing, wrong, expired or already used; the message is for the client."""


def _pow_secret() -> str:
    return salted_hmac("canvass.tips.altcha", "hmac").hexdigest()


def challenge_create() -> dict:
    """A signed ALTCHA (v2) challenge, as the widget and the API hand it to clients."""
    challenge = altcha.create_challenge(
        settings.TIPS_POW_ALGORITHM,
        settings.TIPS_POW_COST,
        key_prefix=settings.TIPS_POW_KEY_PREFIX,
        expires_at=int(time.time()) + settings.TIPS_POW_TTL_SECONDS,
        hmac_secret=_pow_secret(),
    )
    return challenge.to_dict()


def pow_spend(payload: str) -> None:
    """Check a solved challenge and mark it used, so the same solution never works twice."""
    if not payload or not isinstance(payload, str) or len(payload) > 4000:
        raise PowRefused(_("The anti-spam check is missing. Reload the page and try again."))
    result = altcha.verify_solution(payload, _pow_secret())
    if result.expired:
        raise PowRefused(_("The anti-spam check expired. Try sending again."))
    if not result.verified:
        raise PowRefused(_("The anti-spam check failed. Reload the page and try again."))
    signature = altcha.Payload.from_base64(payload).challenge.signature
    ttl = settings.TIPS_POW_TTL_SECONDS + 60
    name = _POW_USED_KEY.format(signature=signature)
    # A proof spent in this process's memory while Redis was away stays spent once it is back.
    first_use = _with_redis(
        lambda client: bool(client.set(name, 1, nx=True, ex=ttl)) and not _state().was_spent(name),
        lambda: _state().spend(name, ttl),
    )
    if not first_use:
        raise PowRefused(_("This anti-spam check was already used. Try sending again."))
