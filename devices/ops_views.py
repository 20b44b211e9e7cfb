"""The operations page, /staff/devices/operations/: open alerts and where recording officers
are, kept current by a Server-Sent Events stream; and closing an alert with a reason.

Why Server-Sent Events and not a WebSocket: the page only listens (closing an alert is an
ordinary POST), EventSource reconnects by itself, and an SSE stream is a plain HTTP response
that our WSGI server (gunicorn gthread) and its proxy already carry, with the session cookie
and the access rules of every other page. A WebSocket would need an ASGI server beside it for
this one page. The cost: each open stream holds one gunicorn thread, so a stream ends after
OPS_STREAM_SECONDS (the browser reconnects and gets a fresh snapshot) and the Procfile gives
each worker more threads.
"""

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from redis.exceptions import RedisError

from devices import audit_actions as actions
from devices import live
from devices import selectors as sel
from devices.forms import AlertCloseForm
from devices.models import AlertPriority
from devices.policies import can_operate
from devices.services import triggers as trigger_services
from portal.audit import audit_record
from portal.decorators import not_user_activity, requires
from portal.models import User

log = logging.getLogger(__name__)

# How long the browser waits before it reconnects after the stream ends or breaks.
RECONNECT_MS = 1000
BUSY_RECONNECT_MS = 10_000


@never_cache
@require_GET
@requires(can_operate)
def operations(request):
    """The page (alerts as the server saw them, usable without JavaScript); the script then
    keeps it current from the event stream."""
    snapshot = sel.operations_snapshot(actor=request.user)
    alerts = snapshot["alerts"]
    for alert in alerts:
        alert["raised"] = dt.datetime.fromisoformat(alert["raised_at"])
    audit_record(
        action=actions.OPERATIONS_VIEWED.name,
        actor=request.user,
        details={"alerts": len(alerts), "recording_officers": len(snapshot["locations"])},
    )
    return render(
        request,
        "devices/operations.html",
        {
            "high": [a for a in alerts if a["priority"] == AlertPriority.HIGH],
            "general": [a for a in alerts if a["priority"] != AlertPriority.HIGH],
            "zone": request.user.agency.time_zone,
        },
    )


# --- the event stream ------------------------------------------------------------------------


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _release_db_connection() -> None:
    # A stream lives for minutes and mostly waits on Redis: it gives its database connection
    # back rather than hold one per open page (it reconnects when it polls). Inside a
    # transaction (a test's) the connection is not ours to close.
    if not connection.in_atomic_block:
        connection.close()


def _subscribe(agency_id: int):
    """The agency's operations channel, subscribed, or None while Redis is away."""
    try:
        # Confirmed by Redis when it returns: from here on every publish reaches us, so a
        # change made after the snapshot below is read cannot fall between the two.
        pubsub = live.subscribe(live.ops_channel(agency_id))
    except RedisError as exc:
        log.warning("operations stream without Redis (%s): polling the database", exc)
        return None
    return pubsub


def _still_allowed(actor: User, session_key: str | None) -> bool:
    """Re-read at each keep-alive: someone deactivated, demoted or signed out since the stream
    opened stops receiving officers' places within OPS_KEEPALIVE_SECONDS."""
    fresh = User.objects.filter(pk=actor.pk, is_active=True).first()
    if fresh is None or fresh.role != actor.role or fresh.agency_id != actor.agency_id:
        return False
    if (
        session_key is not None
        and not Session.objects.filter(
            session_key=session_key, expire_date__gt=timezone.now()
        ).exists()
    ):
        return False
    return can_operate(actor)


def operations_stream(actor: User, session_key: str | None = None) -> Iterator[bytes]:
    """The snapshot, then the agency's events as they come, for OPS_STREAM_SECONDS.

    Subscribe first, read the snapshot second: an event published in between arrives twice
    at worst (the page applies events idempotently), never not at all. While Redis is away
    (at the start or later) the stream re-reads the snapshot from the database every
    OPS_POLL_SECONDS and sends it when it changed: slower, but nothing is missed.
    """
    if actor.agency_id is None:  # can_operate lets only an agency's staff in
        return
    with live.thread_held() as held:
        if not held:
            # Every thread this process may lend to waiting requests is taken: the snapshot
            # now, and the browser comes back for more in BUSY_RECONNECT_MS.
            yield f"retry: {BUSY_RECONNECT_MS}\n".encode() + _event(
                sel.operations_snapshot(actor=actor)
            )
            _release_db_connection()
            return
        yield from _relay(actor, actor.agency_id, session_key)


def _relay(actor: User, agency_id: int, session_key: str | None) -> Iterator[bytes]:
    pubsub = _subscribe(agency_id)
    try:
        snapshot = sel.operations_snapshot(actor=actor)
        _release_db_connection()
        yield f"retry: {RECONNECT_MS}\n".encode() + _event(snapshot)
        now = time.monotonic()
        deadline = now + settings.OPS_STREAM_SECONDS
        keepalive_at = now + settings.OPS_KEEPALIVE_SECONDS
        while (now := time.monotonic()) < deadline:
            wait = max(0.0, min(keepalive_at, deadline) - now)
            if pubsub is not None:
                try:
                    message = pubsub.get_message(timeout=min(wait, 1.0))
                except RedisError as exc:
                    log.warning("operations stream lost Redis (%s): polling the database", exc)
                    pubsub.close()
                    pubsub = None
                    continue
                if message is not None and message["type"] == "message":
                    data = message["data"]
                    yield b"data: " + (data if isinstance(data, bytes) else data.encode()) + b"\n\n"
            else:
                time.sleep(min(wait, settings.OPS_POLL_SECONDS))
                fresh = sel.operations_snapshot(actor=actor)
                _release_db_connection()
                if fresh != snapshot:
                    snapshot = fresh
                    yield _event(snapshot)
            if time.monotonic() >= keepalive_at:
                allowed = _still_allowed(actor, session_key)
                _release_db_connection()
                if not allowed:
                    # No retry: the page says to sign in again (a reconnect would be refused).
                    yield b"event: ended\ndata: {}\n\n"
                    return
                keepalive_at = time.monotonic() + settings.OPS_KEEPALIVE_SECONDS
                yield b": keep-alive\n\n"
        # Ended on purpose (the thread is wanted back): the browser reconnects after `retry`.
        yield f"retry: {RECONNECT_MS}\n: reconnect for a fresh snapshot\n\n".encode()
    finally:
        if pubsub is not None:
            pubsub.close()


@not_user_activity
@require_GET
@requires(can_operate)
def operations_events(request):
    """Server-Sent Events for the operations page (text/event-stream, never cached or
    buffered by a proxy)."""
    response = StreamingHttpResponse(
        operations_stream(request.user, request.session.session_key),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"
    return response


# --- closing an alert --------------------------------------------------------------------


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@requires(can_operate)
def alert_close(request, alert_id):
    """Resolve an alert or mark it false, with a reason. The page's script asks for JSON;
    a plain form post is sent back to the page with a message."""
    alert = sel.alert_get_for(actor=request.user, id=alert_id)
    form = AlertCloseForm(request.POST)
    errors: dict[str, list[str]] = {}
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    else:
        try:
            trigger_services.alert_close(
                actor=request.user,
                alert_id=alert.pk,
                state=form.cleaned_data["state"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        except PermissionDenied:
            errors = {"": ["You may not close this alert."]}
    if _wants_json(request):
        if errors:
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({"id": str(alert.pk), "state": form.cleaned_data["state"]})
    if errors:
        for field_errors in errors.values():
            for error in field_errors:
                messages.error(request, f"Alert not closed: {error}")
    else:
        done = "resolved" if form.cleaned_data["state"] == "resolved" else "marked false"
        messages.success(request, f"Alert {done}.")
    return redirect("devices:operations")
