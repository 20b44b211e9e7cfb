"""Queueing Celery tasks after a commit without letting a broker outage undo the request.

The committed row is the record of the work to do; the task is only a nudge. When Redis is
unreachable the nudge is logged and dropped, the request still succeeds, and a beat sweep
(evidence.tasks.requeue_stalled_items, submissions.tasks.notify_missed_tips) finds the work
from the database once the broker is back.
"""

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def send(task, *args) -> bool:
    """Queue `task` now; False (logged) when the broker cannot take it."""
    try:
        task.apply_async(args=args)
    except (OperationalError, RedisError, OSError) as exc:
        log.warning(
            "could not queue %s (%s); the sweep will pick the work up later",
            task.name,
            type(exc).__name__,
        )
        return False
    return True


def send_on_commit(task, *args) -> None:
    """Queue `task` once the current transaction commits, never failing the request."""
    transaction.on_commit(lambda: send(task, *args), robust=True)


def send_named(name: str, *args) -> bool:
    """Queue the task registered under `name`, for a caller the task's module imports (so it
    cannot import the task); False (logged) when the broker cannot take it."""
    try:
        current_app.send_task(name, args=args)
    except (OperationalError, RedisError, OSError) as exc:
        log.warning(
            "could not queue %s (%s); the sweep will pick the work up later",
            name,
            type(exc).__name__,
        )
        return False
    return True


def send_named_on_commit(name: str, *args) -> None:
    """Queue the task registered under `name` once the transaction commits, never failing."""
    transaction.on_commit(lambda: send_named(name, *args), robust=True)
