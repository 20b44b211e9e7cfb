"""Live pushes over Redis pub/sub: operations events for an agency's supervisors and
dispatchers (alerts, recording officers' positions), and wake-ups for a device waiting on its
command long-poll.

Nothing here is the record: the database is. A message lost while Redis is away only delays
what it announces: an operations stream opens with a snapshot read from the database, and a
woken device re-reads its commands there (so does its next heartbeat).
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError

from portal.redis_fallback import client

log = logging.getLogger(__name__)


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
    """A subscription on a connection of its own (a subscribed connection can do nothing else);
    the caller closes it. Raises RedisError when Redis is away."""
    pubsub = Redis.from_url(settings.REDIS_URL, socket_timeout=5).pubsub(
        ignore_subscribe_messages=True
    )
    pubsub.subscribe(*channels)
    return pubsub
