"""Redis when it answers, this process's memory while it does not.

Rate limits and replay guards (the tips line's, the account pages') keep their counters in
Redis so that every web process shares them. An outage must not turn a tip, an upload or a
sign-up into an error page, so while Redis is unreachable they count in this process's memory
instead, with half the allowance (each process then counts on its own), and Redis is tried
again after a short pause. The switch both ways is logged once.
"""

import logging
import threading
import time

from django.conf import settings
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
# After Redis fails, this process uses its own memory this long before trying Redis again.
RETRY_REDIS_AFTER = 5.0
_local = threading.local()
_stores_lock = threading.Lock()


def client() -> Redis:
    """This thread's client of the Redis in the settings (tests point the settings elsewhere)."""
    redis = getattr(_local, "redis", None)
    if redis is None or _local.url != settings.REDIS_URL:
        redis = _local.redis = Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        _local.url = settings.REDIS_URL
    return redis


class MemoryStore:
    """Counters and spent tokens in this process's memory while Redis is unreachable.

    Everything here expires as it would in Redis. `down_until` is when Redis is tried again.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.counters: dict[str, tuple[int, float]] = {}  # name -> (count, expires at)
        self.spent: dict[str, float] = {}  # token -> expires at
        self.pruned_at = 0.0

    def redis_usable(self) -> bool:
        return time.monotonic() >= self.down_until

    def redis_failed(self, exc: Exception) -> None:
        with self.lock:
            if self.down_until == 0.0:
                log.warning(
                    "Redis unreachable (%s): rate limits use this process's memory",
                    type(exc).__name__,
                )
            self.down_until = time.monotonic() + RETRY_REDIS_AFTER

    def redis_worked(self) -> None:
        if self.down_until:
            with self.lock:
                if self.down_until:
                    log.warning("Redis reachable again: rate limits use it again")
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

    def was_spent(self, token: str) -> bool:
        return self.spent.get(token, 0.0) >= time.time()

    def spend(self, token: str, ttl: int) -> bool:
        now = time.time()
        with self.lock:
            self._prune(now)
            if self.spent.get(token, 0.0) >= now:
                return False
            self.spent[token] = now + ttl
            return True


_stores: dict[str, MemoryStore] = {}


def memory() -> MemoryStore:
    """The memory store standing in for the Redis in the settings."""
    with _stores_lock:
        return _stores.setdefault(settings.REDIS_URL, MemoryStore())


def with_redis(use_redis, use_memory):
    """use_redis(client) when Redis answers, else use_memory() (and Redis rests a while)."""
    store = memory()
    if store.redis_usable():
        try:
            result = use_redis(client())
        except (RedisError, OSError) as exc:
            store.redis_failed(exc)
        else:
            store.redis_worked()
            return result
    return use_memory()


def fallback_limit(limit: int) -> int:
    # Each web process counts alone while Redis is away: half the allowance keeps it strict.
    return max(1, limit // 2)
