"""Abuse limits that know no one: hashed-address rate limits and ALTCHA proof-of-work.

The client's address is turned into HMAC(salt of this hour, address) by the anonymity
middleware and then dropped. The salt is random, lives only in Redis and expires with its
hour, so after that hour no one (us included) can link a key back to an address. Counters
live in Redis too and never outlive the hour of their salt.

When Redis cannot be reached, tips and uploads are still accepted: the salt, the counters and
the proof-of-work replay guard fall back to this process's memory (`_Fallback`), with half the
allowance, since each web process then counts on its own. Redis is tried again after a pause.
"""

import logging
import secrets
import threading
import time
from dataclasses import dataclass

import altcha
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from redis import Redis
from redis.exceptions import RedisError

HOUR = 3600
_SALT_KEY = "tips:salt:{hour}"
_COUNTER_KEY = "tips:rate:{namespace}{bucket}:{key}"
_POW_USED_KEY = "tips:pow-used:{signature}"
_local = threading.local()
_salts: dict[int, bytes] = {}
_salts_lock = threading.Lock()
log = logging.getLogger(__name__)
# After Redis fails, this process uses its own memory this long before trying Redis again.
_RETRY_REDIS_AFTER = 5.0


def redis() -> Redis:
    client = getattr(_local, "redis", None)
    if client is None or _local.url != settings.REDIS_URL:
        client = _local.redis = Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        _local.url = settings.REDIS_URL
    return client


class _Fallback:
    """Salts, counters and spent proofs in this process's memory while Redis is unreachable.

    Everything here expires with its hour as it would in Redis. `down_until` is when Redis
    is tried again; the switch both ways is logged once.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.counters: dict[str, tuple[int, float]] = {}  # name -> (count, expires at)
        self.spent: dict[str, float] = {}  # signature -> expires at
        self.pruned_at = 0.0

    def redis_usable(self) -> bool:
        return time.monotonic() >= self.down_until

    def redis_failed(self, exc: Exception) -> None:
        with self.lock:
            if self.down_until == 0.0:
                log.warning(
                    "Redis unreachable (%s): tip rate limits use this process's memory",
                    type(exc).__name__,
                )
            self.down_until = time.monotonic() + _RETRY_REDIS_AFTER

    def redis_worked(self) -> None:
        if self.down_until:
            with self.lock:
                if self.down_until:
                    log.warning("Redis reachable again: tip rate limits use it again")
                self.down_until = 0.0

    def _prune(self, now: float) -> None:
        # At most once a minute: tables only grow while Redis is away, and then slowly.
        if now < self.pruned_at + 60:
            return
        self.pruned_at = now
        self.counters = {n: v for n, v in self.counters.items() if v[1] >= now}
        self.spent = {n: t for n, t in self.spent.items() if t >= now}

    def incr(self, name: str, expiry: int) -> int:
        now = time.time()
        with self.lock:
            self._prune(now)
            count, expires = self.counters.get(name, (0, 0.0))
            if expires < now:
                count, expires = 0, now + expiry
            self.counters[name] = (count + 1, expires)
            return count + 1

    def get(self, name: str) -> int:
        with self.lock:
            count, expires = self.counters.get(name, (0, 0.0))
            return count if expires >= time.time() else 0

    def was_spent(self, signature: str) -> bool:
        return self.spent.get(signature, 0.0) >= time.time()

    def spend(self, signature: str, ttl: int) -> bool:
        now = time.time()
        with self.lock:
            self._prune(now)
            if self.spent.get(signature, 0.0) >= now:
                return False
            self.spent[signature] = now + ttl
            return True


_fallbacks: dict[str, _Fallback] = {}


def _state() -> _Fallback:
    """The fallback of the Redis in the settings (tests point the settings elsewhere)."""
    with _salts_lock:
        return _fallbacks.setdefault(settings.REDIS_URL, _Fallback())


def _with_redis(use_redis, use_memory):
    """use_redis(client) when Redis answers, else use_memory() (and Redis rests a while)."""
    _fallback = _state()
    if _fallback.redis_usable():
        try:
            result = use_redis(redis())
        except (RedisError, OSError) as exc:
            _fallback.redis_failed(exc)
        else:
            _fallback.redis_worked()
            return result
    return use_memory()


def _fallback_limit(limit: int) -> int:
    # Each web process counts alone while Redis is away: half the allowance keeps it strict.
    return max(1, limit // 2)


def _hour_salt(hour: int) -> bytes:
    """This hour's salt: made once by whichever process asks first, shared through Redis."""
    salt = _salts.get(hour)
    if salt is not None:
        return salt
    key = _SALT_KEY.format(hour=hour)
    ttl = (hour + 1) * HOUR - int(time.time()) + 1

    def shared(client: Redis) -> bytes:
        client.set(key, secrets.token_bytes(32), nx=True, ex=max(ttl, 1))
        return client.get(key)

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
