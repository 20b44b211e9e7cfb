"""Live-feed writes: what the relay's callbacks decide (publishes), and viewing sessions
(start, renew, end, revoke, expire), each audited in the same transaction as the change."""

import contextlib
import datetime as dt
import ipaddress
import logging
import re
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from redis import Redis
from redis.exceptions import RedisError

from devices import live as device_live
from devices.models import Alert, Device, DeviceCommand, DeviceCredential, TriggerKind
from devices.selectors import heard_since, open_assignment_of
from livefeeds import audit_actions as actions
from livefeeds import relay, relaystate
from livefeeds.models import Publish, ReasonCategory, ViewSession
from livefeeds.policies import can_revoke_views, can_watch_live
from livefeeds.reasons import view_details, view_reason_checked
from portal.audit import audit_record
from portal.models import AuditEvent, User
from portal.redis_fallback import client
from portal.tokens import token_digest, token_matches

log = logging.getLogger(__name__)

# 128 random bits in each viewer token (URL-safe base64, 22 characters).
VIEW_TOKEN_BYTES = 16
WATCH_ME_REASON = "officer-requested"
# An HLS allow decision is remembered this long in Redis; revocation deletes it at once.
ALLOW_CACHE_MS = 1000


class ViewRefused(Exception):
    """A live view that may not start; the message says why, for the person asking."""


def stream_of(device: Device) -> str:
    """A body camera's stream name on the relay: its id as 32 hex digits."""
    return device.pk.hex


def device_of_stream(stream: str) -> Device | None:
    try:
        device_id = uuid.UUID(hex=stream)
    except ValueError:
        return None
    if len(stream) != 32:
        return None
    return Device.objects.select_related("agency").filter(pk=device_id).first()


def is_recording(device: Device, *, now: dt.datetime | None = None) -> bool:
    """What the camera's last heartbeat said, if it was heard from recently enough."""
    return (
        device.status == Device.Status.IN_SERVICE
        and device.state == Device.State.RECORDING
        and device.last_heartbeat_at is not None
        and device.last_heartbeat_at >= heard_since(now)
    )


def is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.strip()).is_loopback
    except ValueError:
        return False


# --- publishes: the relay's callbacks ------------------------------------------------------


@dataclass(frozen=True)
class PublishCall:
    """What nginx-rtmp posts (form fields; the publish URL's query arrives as fields too)."""

    app: str
    stream: str
    client_id: str
    addr: str
    key: str = ""
    relay_key: str = ""  # the one-time key of a relay manager's publish (cam)


def _live_refusal(device: Device | None, key: str) -> str:
    """Why a body camera may not publish now ("" when it may)."""
    if device is None:
        return "unknown stream"
    credential = DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).first()
    if credential is None or not token_matches(key, credential.stream_key_hash):
        return "wrong key"
    if not is_recording(device):
        return "not recording"
    return ""


def _cam_refusal(call: PublishCall) -> str:
    from livefeeds import watching

    if not is_loopback(call.addr):
        return "not from this host"
    if not relaystate.publish_key_spend(call.stream, call.relay_key):
        return "wrong relay key"
    camera = watching.camera_for_stream(call.stream)
    if camera is None:
        return "unknown camera"
    if not watching.camera_has_feed(camera):
        return "no stream linked"
    return ""


@transaction.atomic
def publish_start(*, call: PublishCall) -> bool:
    """on_publish: whether the relay may take this stream. A body camera needs its stream key
    and a recording heartbeat; a CCTV relay, this host and a one-time key
    (relaystate.publish_key_issue)."""
    device = device_of_stream(call.stream) if call.app == Publish.App.LIVE else None
    if call.app == Publish.App.LIVE:
        why = _live_refusal(device, call.key)
    elif call.app == Publish.App.CAM:
        why = _cam_refusal(call)
    else:
        why = "unknown application"
    label = f"body camera {device.serial}" if device else "live relay"
    agency = device.agency if device else None
    if why:
        audit_record(
            action=actions.PUBLISH_REFUSED.name,
            actor_label=label,
            target=device,
            agency=agency,
            outcome=AuditEvent.Outcome.DENIED,
            details={"app": call.app[:8], "stream": call.stream[:64], "why": why},
        )
        return False
    publish = Publish.objects.create(
        app=call.app,
        stream=call.stream,
        device=device,
        agency=agency,
        client_id=call.client_id[:32],
        started_at=timezone.now(),
    )
    audit_record(
        action=actions.PUBLISH_STARTED.name,
        actor_label=label,
        target=publish,
        agency=agency,
        details={
            "app": call.app,
            "stream": call.stream,
            "device": str(device.pk) if device else None,
        },
    )
    return True


def _close_publishes(call: PublishCall, end_reason: str) -> None:
    now = timezone.now()
    publishes = Publish.objects.select_for_update().filter(
        app=call.app, stream=call.stream, ended_at__isnull=True
    )
    if call.client_id:
        publishes = publishes.filter(client_id=call.client_id[:32])
    for publish in publishes:
        publish.ended_at = now
        publish.end_reason = end_reason
        publish.save(update_fields=["ended_at", "end_reason"])
        audit_record(
            action=actions.PUBLISH_ENDED.name,
            actor_label="live relay",
            target=publish,
            agency=publish.agency,
            details={
                "app": publish.app,
                "stream": publish.stream,
                "why": end_reason,
                "seconds": round((now - publish.started_at).total_seconds(), 2),
            },
        )


@transaction.atomic
def publish_update(*, call: PublishCall) -> bool:
    """on_update (every RELAY_UPDATE_SECONDS): may the stream go on? A body camera that
    stopped recording, or lost its credential, is cut off."""
    if call.app != Publish.App.LIVE:
        return call.app == Publish.App.CAM
    why = _live_refusal(device_of_stream(call.stream), call.key)
    if why:
        _close_publishes(call, f"refused: {why}")
        return False
    return True


@transaction.atomic
def publish_done(*, call: PublishCall) -> None:
    """on_publish_done: the stream ended."""
    _close_publishes(call, "done")


def device_stopped_recording(device: Device) -> None:
    """A camera said it stopped recording: cut its live stream now (on_update would refuse it
    within RELAY_UPDATE_SECONDS anyway, so a relay that is down loses nothing)."""
    if Publish.objects.filter(app="live", stream=stream_of(device), ended_at__isnull=True).exists():
        relay.drop_publisher("live", stream_of(device))


def is_live(app: str, stream: str) -> bool:
    return Publish.objects.filter(app=app, stream=stream, ended_at__isnull=True).exists()


# --- viewing sessions ---------------------------------------------------------------------


def _allow_key(token_hash: str) -> str:
    return f"{settings.LIVE_NAMESPACE}relay:allow:{token_hash}"


def _forget_allowed(token_hash: str) -> None:
    try:
        client().delete(_allow_key(token_hash))
    except RedisError as exc:  # the cached decision expires within ALLOW_CACHE_MS anyway
        log.warning("live allow cache not cleared (%s)", exc)


def _tell_device(device: Device | None, kind: str, reason: str) -> None:
    if device is None:
        return
    DeviceCommand.objects.create(device=device, kind=kind, reason=reason[:200])
    device_live.device_wake(device.pk)


def watch_me_alert_of(device: Device) -> Alert | None:
    """The open "Watch me" alert the device's officer raised, if any."""
    return (
        Alert.objects.filter(
            device=device,
            kind=TriggerKind.WATCH_ME,
            state=Alert.State.OPEN,
            expires_at__gt=timezone.now(),
        )
        .order_by("-raised_at")
        .first()
    )


def view_start(
    *,
    actor: User,
    device: Device,
    reason: str,
    case_ref: str,
    reason_category: str = ReasonCategory.OTHER,
) -> tuple[ViewSession, str]:
    """Open a live view of a body camera: for a permitted viewer of its agency, with a reason
    and a case or incident number, while the camera records, and while fewer than
    LIVE_VIEWERS_PER_FEED already watch it. Returns the session and its token (shown once:
    it opens the HLS path). The officer's camera is told."""
    if not can_watch_live(actor) or device.agency_id != actor.agency_id:
        raise PermissionDenied
    reason, case_ref = view_reason_checked(reason, case_ref, reason_category)
    stream = stream_of(device)
    details = view_details("live", stream, reason, case_ref, reason_category)
    refusal = None
    with transaction.atomic():
        # One viewer at a time counts the feed's viewers: the lock is the device's row.
        locked = Device.objects.select_for_update().get(pk=device.pk)
        now = timezone.now()
        if not is_recording(locked, now=now):
            refusal = "This camera is not recording: live view opens only while it records."
        elif (
            ViewSession.objects.filter(
                app="live", stream=stream, ended_at__isnull=True, expires_at__gt=now
            ).count()
            >= settings.LIVE_VIEWERS_PER_FEED
        ):
            refusal = (
                f"Too many viewers: {settings.LIVE_VIEWERS_PER_FEED} already watch this camera. "
                "Try again when one of them stops."
            )
        if refusal:
            _refuse_in_place(actor, locked, refusal, details)
        else:
            token = secrets.token_urlsafe(VIEW_TOKEN_BYTES)
            assignment = open_assignment_of(locked)
            alert = watch_me_alert_of(locked) if reason == WATCH_ME_REASON else None
            session = ViewSession.objects.create(
                agency_id=actor.agency_id,
                viewer=actor,
                app="live",
                stream=stream,
                device=locked,
                officer=assignment.officer if assignment else None,
                alert=alert,
                reason=reason,
                reason_category=reason_category,
                case_ref=case_ref,
                token_hash=token_digest(token),
                started_at=now,
                expires_at=now + dt.timedelta(minutes=settings.LIVE_VIEW_MINUTES),
            )
            audit_record(
                action=actions.VIEW_STARTED.name,
                actor=actor,
                target=session,
                reason=reason,
                case_ref=case_ref,
                details={
                    **details,
                    "device": str(locked.pk),
                    "alert": str(alert.pk) if alert else None,
                    "expires_at": session.expires_at.isoformat(),
                },
            )
            _tell_device(
                locked,
                DeviceCommand.Kind.BEING_WATCHED,
                f"{actor.label} is watching live: {reason}",
            )
    if refusal:
        raise ViewRefused(refusal)
    return session, token


def _refuse_in_place(actor: User, device: Device, why: str, details: dict[str, str]) -> None:
    audit_record(
        action=actions.VIEW_REFUSED.name,
        actor=actor,
        target=device,
        outcome=AuditEvent.Outcome.DENIED,
        details={**details, "why": why},
    )


def _ended(session: ViewSession, now: dt.datetime) -> bool:
    return session.ended_at is not None or session.expires_at <= now


@transaction.atomic
def view_renew(*, actor: User, session: ViewSession) -> ViewSession:
    """The viewer's open page says it is still watching: LIVE_VIEW_MINUTES more, never past
    LIVE_VIEW_CAP_MINUTES from the start."""
    if session.viewer_id != actor.pk:
        raise PermissionDenied
    locked = ViewSession.objects.select_for_update().get(pk=session.pk)
    now = timezone.now()
    if _ended(locked, now):
        raise ValidationError("This live view has ended.")
    cap = locked.started_at + dt.timedelta(minutes=settings.LIVE_VIEW_CAP_MINUTES)
    expires = min(now + dt.timedelta(minutes=settings.LIVE_VIEW_MINUTES), cap)
    if expires > locked.expires_at:
        locked.expires_at = expires
        locked.save(update_fields=["expires_at"])
        audit_record(
            action=actions.VIEW_RENEWED.name,
            actor=actor,
            target=locked,
            details={"expires_at": expires.isoformat(), "capped": expires == cap},
        )
    return locked


def _close(
    session: ViewSession, *, end: str, at: dt.datetime, by: User | None = None, reason: str = ""
) -> None:
    session.ended_at = at
    session.end = end
    session.ended_by = by
    session.end_reason = reason[:300]
    session.save(update_fields=["ended_at", "end", "ended_by", "end_reason"])
    action = actions.VIEW_REVOKED if end == ViewSession.End.REVOKED else actions.VIEW_ENDED
    audit_record(
        action=action.name,
        actor=by,
        actor_label="" if by else "live feeds",
        target=session,
        agency=session.agency,
        reason=reason,
        case_ref=session.case_ref,
        details={
            "end": end,
            "viewer": session.viewer_id,
            "stream": session.path_prefix,
            "seconds": round((at - session.started_at).total_seconds(), 2),
        },
    )
    _forget_allowed(session.token_hash)
    transaction.on_commit(lambda: _forget_allowed(session.token_hash))
    _tell_device(
        session.device,
        DeviceCommand.Kind.WATCH_ENDED,
        f"{session.viewer.label} stopped watching ({session.get_end_display().lower()})",
    )


@transaction.atomic
def view_end(*, actor: User, session: ViewSession) -> ViewSession:
    """The viewer stops watching (the page's Stop button, or the page closing)."""
    if session.viewer_id != actor.pk:
        raise PermissionDenied
    locked = ViewSession.objects.select_for_update().select_related("viewer").get(pk=session.pk)
    now = timezone.now()
    if locked.ended_at is None:
        if locked.expires_at <= now:
            _close(locked, end=ViewSession.End.EXPIRED, at=locked.expires_at)
        else:
            _close(locked, end=ViewSession.End.STOPPED, at=now, by=actor)
    return locked


@transaction.atomic
def view_revoke(*, actor: User, session: ViewSession, reason: str) -> ViewSession:
    """A supervisor of the agency cuts a viewer off: the very next HLS request is refused."""
    if not can_revoke_views(actor) or session.agency_id != actor.agency_id:
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the view is revoked."})
    locked = ViewSession.objects.select_for_update().select_related("viewer").get(pk=session.pk)
    if locked.ended_at is not None:
        raise ValidationError("This live view has already ended.")
    _close(locked, end=ViewSession.End.REVOKED, at=timezone.now(), by=actor, reason=reason)
    return locked


def views_close_expired(*, now: dt.datetime | None = None) -> int:
    """Close (and audit, with their duration) the sessions whose time ran out unrenewed."""
    now = now or timezone.now()
    closed = 0
    for pk in ViewSession.objects.filter(ended_at__isnull=True, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            session = (
                ViewSession.objects.select_for_update(of=("self",))
                .select_related("viewer", "agency", "device")
                .filter(pk=pk, ended_at__isnull=True)
                .first()
            )
            if session is not None:
                _close(session, end=ViewSession.End.EXPIRED, at=session.expires_at)
                closed += 1
    return closed


# --- the HLS gate (nginx auth_request) --------------------------------------------------------


_HLS_PATH = re.compile(
    r"/hls/(?P<token>[A-Za-z0-9_-]+)/(?P<app>live|cam)/(?P<stream>[A-Za-z0-9_-]+)"
    r"/[A-Za-z0-9_-]+\.(?:m3u8|ts)"
)


def hls_path_parts(original_uri: str) -> tuple[str, str, str] | None:
    """(token, app, stream) of /hls/<token>/<app>/<stream>/<file>, or None.

    Strict on the raw URI: nginx serves the decoded, normalised path, so anything that could
    decode or normalise to another feed's file (%2F, dot segments) is no path of ours."""
    path = original_uri.split("?", 1)[0]
    match = _HLS_PATH.fullmatch(path)
    if match is None:
        return None
    return match["token"], match["app"], match["stream"]


def hls_allowed(original_uri: str) -> bool:
    """Whether this playlist or segment request may be served: a session of that feed, not
    ended, revoked nor expired. An allow is remembered ALLOW_CACHE_MS in Redis (revocation
    deletes it), so most segments cost one Redis GET; the session's last_seen_at is written
    at most once per ALLOW_CACHE_MS."""
    parts = hls_path_parts(original_uri)
    if parts is None:
        return False
    token, app, stream = parts
    if len(token) > 64:
        return False
    digest = token_digest(token)
    feed = f"{app}/{stream}"
    key = _allow_key(digest)
    redis: Redis | None = client()
    try:
        cached = client().get(key)
    except RedisError:
        redis, cached = None, None
    if cached is not None:
        text = cached.decode() if isinstance(cached, bytes) else str(cached)
        cached_feed, _, extra = text.partition(" ")
        if cached_feed == feed:
            return _cam_allowed(app, stream, extra)
    now = timezone.now()
    sessions = ViewSession.objects.filter(
        token_hash=digest, app=app, stream=stream, ended_at__isnull=True, expires_at__gt=now
    )
    row = sessions.values_list("camera_id", "agency_id").first()
    if row is None:
        return False
    extra = f"{row[0]} {row[1]}" if app == Publish.App.CAM and row[0] else ""
    if not _cam_allowed(app, stream, extra):
        return False
    sessions.update(last_seen_at=now)
    if redis is not None:
        with contextlib.suppress(RedisError):
            redis.set(key, f"{feed} {extra}".strip(), px=ALLOW_CACHE_MS)
    return True


def _cam_allowed(app: str, stream: str, extra: str) -> bool:
    """A body camera's session is all it takes; a CCTV camera's also needs its owner's
    decision now (cached ≤ 1 s), and tells the relay manager a viewer is there."""
    if app != Publish.App.CAM:
        return True
    camera_id, _, agency_id = extra.partition(" ")
    if not camera_id or not agency_id.isdigit():
        return False
    from livefeeds import watching

    return watching.cam_request_allowed(camera_id, int(agency_id), stream)
