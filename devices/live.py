"""Live pushes over Redis pub/sub: operations events for an agency's supervisors and
dispatchers (alerts, recording officers' positions), and wake-ups for a device waiting on its
command long-poll.

Nothing here is the record: the database is. A message lost while Redis is away only delays
what it announces: an operations stream opens with a snapshot read from the database, and a
woken device re-reads its commands there (so does its next heartbeat).
"""

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError

from portal.redis_fallback import client

log = logging.getLogger(__name__)
SUBSCRIBE_TIMEOUT = 2.0


def ops_channel(agency_id: int) -> str:
    return f"{settings.LIVE_NAMESPACE}canvass:ops:{agency_id}"


def device_channel(device_id: object) -> str:
    return f"{settings.LIVE_NAMESPACE}canvass:device:{device_id}"


def _publish(channel: str, message: str) -> None:
    try:
        client().publish(channel, message)
    except RedisError as exc:
        log.warning(
            "live push to %s not sent (%s); readers catch up from the database", channel, exc
        )


def ops_publish(agency_id: int, event: dict[str, Any]) -> None:
    """Tell the agency's open operations pages, once the transaction that made it commits."""
    message = json.dumps(event, separators=(",", ":"))
    transaction.on_commit(lambda: _publish(ops_channel(agency_id), message))


def device_wake(device_id: object) -> None:
    """Wake the device's long-poll, if it is waiting, once the commands are committed."""
    transaction.on_commit(lambda: _publish(device_channel(device_id), "commands"))


def subscribe(*channels: str) -> PubSub:
    """A subscription on a connection of its own (a subscribed connection can do nothing else),
    returned once Redis has confirmed it: from then on every publish reaches it, so a reader
    that subscribes and then reads the database misses nothing in between. The caller closes
    it. Raises RedisError when Redis is away (or does not confirm)."""
    pubsub = Redis.from_url(settings.REDIS_URL, socket_timeout=5).pubsub()
    try:
        pubsub.subscribe(*channels)
        confirmed = 0
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
        while confirmed < len(channels):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RedisError("Redis did not confirm the subscription")
            message = pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "subscribe":
                confirmed += 1
    except BaseException:
        pubsub.close()
        raise
    return pubsub


# --- threads held by long requests -------------------------------------------------------------

_held: tuple[int, threading.BoundedSemaphore] | None = None
_held_lock = threading.Lock()


def _semaphore() -> threading.BoundedSemaphore:
    """This process's semaphore, sized from the settings (made anew if they change: tests)."""
    global _held
    size = settings.LIVE_HELD_THREADS_PER_PROCESS
    with _held_lock:
        if _held is None or _held[0] != size:
            _held = (size, threading.BoundedSemaphore(max(size, 0) or 1))
            if size <= 0:
                _held[1].acquire()  # none may be held: the one permit is taken for good
        return _held[1]


@contextlib.contextmanager
def thread_held() -> Iterator[bool]:
    """Whether this request may hold its web thread for long (an operations stream, a camera's
    long-poll): at most LIVE_HELD_THREADS_PER_PROCESS at once per process, so waiting requests
    never take every thread from heartbeats, uploads and pages."""
    semaphore = _semaphore()
    held = semaphore.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            semaphore.release()
