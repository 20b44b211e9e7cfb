"""Watching a resident's or business's camera live (app `cam`): the owner's decision, in
words, at the start and on every HLS check; the relay manager asked to pull it; the owner's
"who looked" log. Body cameras are livefeeds.services'.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from redis.exceptions import RedisError

from livefeeds import audit_actions as actions
from livefeeds import relaystate
from livefeeds.cctv import Decision, cctv_live_decision
from livefeeds.models import ReasonCategory, ViewSession
from livefeeds.policies import can_watch_live
from livefeeds.reasons import view_details, view_reason_checked
from portal.audit import audit_record
from portal.models import Agency, AuditEvent, User
from portal.templatetags.portal_time import local_and_utc
from portal.tokens import token_digest
from registry import feeds
from registry import selectors as registry_selectors
from registry.models import Camera

log = logging.getLogger(__name__)

# The owner's decision, for the person asking (each code of livefeeds.cctv.CODES).
DECISION_WORDS = {
    "never": "The camera's owner does not share it live.",
    "ask_pending": (
        "The owner shares this camera only when asked: ask them first, and watch once they "
        "allow it."
    ),
    "ask_allowed": "The owner allowed your agency to watch for a set time.",
    "incident_near": "The owner shares this camera while an incident near it is open.",
    "no_incident_near": (
        "The owner shares this camera only during an incident near it, and none is open."
    ),
    "always": "The owner shares this camera with your agency.",
    "paused": "The owner has paused live sharing.",
    "no_stream": "The owner has not linked a live stream for this camera.",
    "other_agency": "The owner shares this camera with another agency, not yours.",
}

# The relay manager's states (livefeeds.relaystate), for the viewer.
RELAY_WORDS = {
    "connecting": "Connecting to the camera.",
    "live": "The camera is streaming.",
    "unreachable": "The camera is unreachable.",
    "not_h264": "The camera does not send H.264 video, which the relay needs.",
    "wrong_credentials": "The camera refused the owner's user name or password.",
    "stopped": "The relay stopped pulling this camera.",
}

# The decision is re-read at most this often per feed and agency (an owner's pause is
# refused on the next segment).
DECISION_CACHE_SECONDS = 1.0
_decisions: dict[tuple[str, int], tuple[float, Decision]] = {}


def decision_words(decision: Decision) -> str:
    text = DECISION_WORDS.get(decision.code, decision.code)
    if decision.until is not None:
        text = f"{text} Until {local_and_utc(decision.until)}."
    return text


def stream_of_camera(camera: Camera) -> str:
    return registry_selectors.live_stream_of(camera)


def camera_for_stream(stream: str) -> Camera | None:
    return registry_selectors.camera_for_live_stream(stream)


def camera_has_feed(camera: Camera) -> bool:
    return feeds.feed_of(camera).has_source


def serves_agency(camera: Camera, agency_id: int) -> bool:
    feed = feeds.feed_of(camera)
    return agency_id in (camera.jurisdiction_ids or []) or feed.agency_id == agency_id


def watchable_camera_get(*, actor: User, id: object) -> Camera:
    """A camera the actor's agency could be shown: inside its jurisdiction, or one whose owner
    named the agency. 404 for any other (whether it exists stays unknown); 403 for a colleague
    who may not watch live."""
    from django.http import Http404

    if actor.agency_id is None:
        raise Http404
    stream = getattr(id, "hex", str(id).replace("-", ""))
    camera = registry_selectors.camera_for_live_stream(stream)
    if camera is None or not serves_agency(camera, actor.agency_id):
        raise Http404("No such camera.")
    if not can_watch_live(actor):
        raise PermissionDenied
    return camera


def decision_for(camera: Camera, agency: Agency) -> Decision:
    return cctv_live_decision(camera, agency)


def cached_decision(camera_id: str, agency_id: int) -> Decision:
    """cctv_live_decision, remembered DECISION_CACHE_SECONDS in this process."""
    import time

    key = (camera_id, agency_id)
    now = time.monotonic()
    hit = _decisions.get(key)
    if hit is not None and now - hit[0] < DECISION_CACHE_SECONDS:
        return hit[1]
    camera = Camera.objects.filter(pk=camera_id).first()
    agency = Agency.objects.filter(pk=agency_id).first()
    if camera is None or agency is None:
        decision = Decision(False, "no_stream")
    else:
        decision = cctv_live_decision(camera, agency)
    if len(_decisions) > 10_000:
        _decisions.clear()
    _decisions[key] = (now, decision)
    return decision


class CameraRefused(Exception):
    """The owner's policy (or the relay's limits) refuse this view; the message says why."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def _want(stream: str) -> None:
    try:
        relaystate.want(stream)
    except RedisError as exc:  # the page shows "connecting" and the viewer can try again
        log.warning("relay not asked for %s (%s)", stream, exc)


def watch_camera(
    *,
    actor: User,
    camera: Camera,
    reason: str,
    case_ref: str,
    reason_category: str = ReasonCategory.OTHER,
) -> tuple[ViewSession, str]:
    """Open a live view of a resident's or business's camera: for a permitted viewer, with a
    reason and a case or incident number, while the owner's policy allows the agency now and
    fewer than LIVE_VIEWERS_PER_FEED watch it. Asks the relay manager to pull the camera.
    Returns the session and its token (shown once). CameraRefused says why not, in words."""
    if not can_watch_live(actor) or actor.agency is None:
        raise PermissionDenied
    reason, case_ref = view_reason_checked(reason, case_ref, reason_category)
    stream = stream_of_camera(camera)
    details: dict[str, str] = view_details("cam", stream, reason, case_ref, reason_category)
    refusal: tuple[str, str] | None = None
    with transaction.atomic():
        locked = Camera.objects.select_for_update().get(pk=camera.pk)
        now = timezone.now()
        decision = cctv_live_decision(locked, actor.agency, now)
        if not decision.allowed:
            refusal = (decision_words(decision), decision.code)
        elif (
            ViewSession.objects.filter(
                app="cam", stream=stream, ended_at__isnull=True, expires_at__gt=now
            ).count()
            >= settings.LIVE_VIEWERS_PER_FEED
        ):
            refusal = (
                f"Too many viewers: {settings.LIVE_VIEWERS_PER_FEED} already watch this camera. "
                "Try again when one of them stops.",
                "too_many",
            )
        if refusal:
            audit_record(
                action=actions.VIEW_REFUSED.name,
                actor=actor,
                target=locked,
                outcome=AuditEvent.Outcome.DENIED,
                details={**details, "why": refusal[0], "code": refusal[1]},
            )
        else:
            token = secrets.token_urlsafe(16)
            expires = now + dt.timedelta(minutes=settings.LIVE_VIEW_MINUTES)
            if decision.until is not None:
                expires = max(min(expires, decision.until), now + dt.timedelta(seconds=1))
            session = ViewSession.objects.create(
                agency=actor.agency,
                viewer=actor,
                app="cam",
                stream=stream,
                camera=locked,
                reason=reason,
                reason_category=reason_category,
                case_ref=case_ref,
                token_hash=token_digest(token),
                started_at=now,
                expires_at=expires,
            )
            audit_record(
                action=actions.VIEW_STARTED.name,
                actor=actor,
                target=session,
                reason=reason,
                case_ref=case_ref,
                details={
                    **details,
                    "camera": str(locked.pk),
                    "policy": decision.code,
                    "expires_at": session.expires_at.isoformat(),
                },
            )
    if refusal:
        raise CameraRefused(*refusal)
    _want(stream)  # the relay manager starts pulling it (it drops it again if nobody comes)
    return session, token


def cam_request_allowed(session_camera_id: str, agency_id: int, stream: str) -> bool:
    """The HLS check's extra step for app `cam`: the owner's decision now (cached ≤ 1 s), and
    the relay manager told a viewer is there."""
    if not cached_decision(session_camera_id, agency_id).allowed:
        return False
    try:
        relaystate.seen(stream)
    except RedisError as exc:
        log.warning("relay seen not recorded for %s (%s)", stream, exc)
    return True


def cam_status(session: ViewSession) -> dict:
    """What the viewer's page shows for a CCTV view that has not ended."""
    decision = cached_decision(str(session.camera_id), session.agency_id)
    if not decision.allowed:
        return {"state": "refused", "detail": decision_words(decision), "code": decision.code}
    try:
        relay = relaystate.status(session.stream) or {}
    except RedisError:
        relay = {}
    state = relay.get("state") or "connecting"
    if state == "stopped":
        _want(session.stream)  # the page is open: ask again
        state = "connecting"
    return {"state": state, "detail": RELAY_WORDS.get(state, state)}


def who_looked(*, camera: Camera) -> QuerySet[ViewSession]:
    """Every live view of the owner's camera: who, when, how long, why, for which case."""
    return (
        ViewSession.objects.filter(camera=camera)
        .select_related("viewer", "agency", "ended_by")
        .order_by("-started_at")
    )


@dataclass(frozen=True)
class LookedRow:
    session: ViewSession
    seconds: int | None

    @property
    def duration(self) -> str:
        if self.seconds is None:
            return "watching now"
        minutes, seconds = divmod(self.seconds, 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def who_looked_rows(*, camera: Camera) -> list[LookedRow]:
    rows = []
    for s in who_looked(camera=camera)[:500]:
        seconds = (
            int((s.ended_at - s.started_at).total_seconds()) if s.ended_at is not None else None
        )
        rows.append(LookedRow(s, seconds))
    return rows
