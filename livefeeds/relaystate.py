"""The relay's shared state in Redis: which CCTV streams are wanted, when a viewer was last
seen, and the relay manager's status per stream (keys in CONTRACT-LIVE.md).

Stream names are `cam/<stream>`'s <stream>: the camera's id as 32 hex digits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from django.conf import settings

from portal.redis_fallback import client

STATUS_SECONDS = 300
SEEN_SECONDS = 300
PUBLISH_KEY_SECONDS = 60
STATES = ("connecting", "live", "unreachable", "not_h264", "wrong_credentials", "stopped")


def _ns() -> str:
    return settings.LIVE_NAMESPACE


def wanted_key() -> str:
    return f"{_ns()}relay:wanted"


def seen_key(stream: str) -> str:
    return f"{_ns()}relay:seen:{stream}"


def status_key(stream: str) -> str:
    return f"{_ns()}relay:status:{stream}"


def wake_key() -> str:
    return f"{_ns()}relay:wake"


def want(stream: str) -> None:
    """Someone wants this stream: the relay manager starts pulling it (if not already).

    It also wakes the manager, which otherwise would notice only at its next poll (up to
    RELAYMGR_POLL_SECONDS later, time a viewer waits for the first playlist).
    """
    pipe = client().pipeline()
    pipe.sadd(wanted_key(), stream)
    pipe.rpush(wake_key(), stream)
    pipe.expire(wake_key(), 10)
    pipe.execute()


def wait_for_want(timeout: float) -> bool:
    """Wait up to `timeout` seconds for a want() (True) or for nothing (False).

    Wakes that piled up while the manager was busy count as one: it reads the whole wanted set.
    """
    woken = client().blpop([wake_key()], timeout=timeout)
    if woken is not None:
        client().delete(wake_key())
    return woken is not None


def unwant(stream: str) -> None:
    client().srem(wanted_key(), stream)


def wanted() -> set[str]:
    members = client().smembers(wanted_key())
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}


def seen(stream: str, at: float | None = None) -> None:
    """An allowed viewer request for the stream just now (the HLS auth check calls this)."""
    client().set(seen_key(stream), repr(time.time() if at is None else at), ex=SEEN_SECONDS)


def last_seen(stream: str) -> float | None:
    raw = client().get(seen_key(stream))
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def set_status(stream: str, state: str, detail: str = "") -> None:
    """The relay manager's word on the stream, for the viewer's page."""
    if state not in STATES:
        raise ValueError(f"unknown relay state {state!r}")
    value = json.dumps({"state": state, "detail": detail[:300], "at": time.time()})
    client().set(status_key(stream), value, ex=STATUS_SECONDS)


def status(stream: str) -> dict | None:
    """{"state", "detail", "at"} as the relay manager last wrote it, or None."""
    raw = client().get(status_key(stream))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# --- one-time publish keys ------------------------------------------------------------------
# The relay manager's ffmpeg publishes into `cam` with a key on its command line, which other
# local users can read in /proc: so each start gets its own key, good for one publish of that
# one stream within PUBLISH_KEY_SECONDS, and spent by on_publish (a copy read from /proc after
# ffmpeg published is worth nothing). Only the key's digest is stored.


def _publish_key_key(stream: str, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{_ns()}relay:pubkey:{stream}:{digest}"


def publish_key_issue(stream: str) -> str:
    """A fresh key for one publish of `cam/<stream>`."""
    key = secrets.token_urlsafe(24)
    client().set(_publish_key_key(stream, key), "1", ex=PUBLISH_KEY_SECONDS)
    return key


def publish_key_spend(stream: str, key: str) -> bool:
    """Whether `key` was issued for this stream and not spent yet; spends it (atomic: of two
    publishes with one key, one wins)."""
    if not key or len(key) > 100:
        return False
    return bool(client().delete(_publish_key_key(stream, key)))
