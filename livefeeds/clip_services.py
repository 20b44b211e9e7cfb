"""Saving clips from the live viewer page: who may, when, of which window, into which case.

The viewer page's "Save the last N seconds" and "Save from … to …" come here. The window is
fixed when the button is pressed (clips.window_last / window_between, on this host's clock,
which is the relay's), checked against the view it comes from, and the clip is queued as the
Celery task livefeeds.save_live_clip (clip_intake), which cuts it from the relay's ring and
files it into the case. Asking is audited (livefeeds.clip_requested, with the clip's id); the
task audits the outcome (livefeeds.clip_saved, or livefeeds.clip_refused with the reason), so
a clip's state is read back from the record: saved when its item exists, refused when its
refusal is logged, queued until then.
"""

import datetime as dt
import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.models import Case, Source
from evidence.policies import can_view_evidence
from livefeeds import clip_intake, clips
from livefeeds.cctv import cctv_live_decision
from livefeeds.models import ViewSession
from livefeeds.policies import can_watch_live
from portal.audit import audit_record
from portal.models import AuditEvent, User
from portal.roles import has_capability

logger = logging.getLogger(__name__)

CHOICES_SECONDS = (30, 60, 120)
# A clip's task that has not reported after this long is shown as late, not as lost; the beat
# (livefeeds.tasks.requeue_late_clips) queues it again, at most REQUEUE_MAX times, and after
# that gives it up as failed. Older asks than REQUEUE_HORIZON are left as they are.
LATE_AFTER = dt.timedelta(minutes=5)
REQUEUE_MAX = 2
REQUEUE_HORIZON = dt.timedelta(hours=6)


# evidence.cases' capabilities (its policies are evidence's own; case_get_for has the last word).
_MANAGE_CASES = "evidence.manage_cases"
_SEE_ALL_CASES = "evidence.see_all_cases"


def can_manage_cases(user: User) -> bool:
    return can_view_evidence(user) and has_capability(user, _MANAGE_CASES)


def ring_seconds() -> int:
    """How long the relay's ring keeps a stream (RELAY_HLS_PLAYLIST_SECONDS)."""
    return int(settings.RELAY_HLS_PLAYLIST_SECONDS)


def may_clip(actor: User, session: ViewSession) -> bool:
    """The view's own viewer, still allowed to watch, who may add to cases."""
    return (
        session.viewer_id == actor.pk
        and session.agency_id == actor.agency_id
        and can_watch_live(actor)
        and can_manage_cases(actor)
    )


def clip_deadline(session: ViewSession) -> dt.datetime | None:
    """Until when a clip can be saved from an ended view (None while it is open): the ring
    still holds its last RELAY_HLS_PLAYLIST_SECONDS for that long after it ends."""
    end = _view_end(session)
    return None if end is None else end + dt.timedelta(seconds=ring_seconds())


def _view_end(session: ViewSession) -> dt.datetime | None:
    if session.ended_at is not None:
        return session.ended_at
    if session.expires_at <= timezone.now():
        return session.expires_at
    return None


def can_still_clip(session: ViewSession, *, now: dt.datetime | None = None) -> bool:
    if session.end == ViewSession.End.REVOKED:
        return False  # a supervisor ended it: nothing more comes of it
    deadline = clip_deadline(session)
    return deadline is None or (now or timezone.now()) < deadline


def writable_cases(actor: User) -> list[str]:
    """Numbers of the open cases the actor may file into, newest first, for the page to offer
    (the number typed is checked by case_get_for all the same)."""
    if not can_manage_cases(actor) or actor.agency_id is None:
        return []
    cases = Case.objects.filter(agency_id=actor.agency_id).exclude(status=Case.Status.CLOSED)
    if not has_capability(actor, _SEE_ALL_CASES):
        theirs = Case.objects.filter(Q(lead=actor) | Q(memberships__user=actor)).values("pk")
        cases = cases.filter(pk__in=theirs)
    return list(cases.order_by("-created_at").values_list("number", flat=True)[:200])


def _case_to_write(actor: User, number: str) -> Case:
    number = number.strip()
    if not number:
        raise ValidationError({"case_number": "Give the number of the case to save into."})
    found = (
        Case.objects.filter(agency_id=actor.agency_id, number=number).first()
        if actor.agency_id is not None
        else None
    )
    if found is None:
        raise ValidationError({"case_number": f"There is no case numbered {number}."})
    try:
        case = evidence_services.case_get_for(actor=actor, id=found.pk, write=True)
    except (Http404, PermissionDenied) as exc:
        raise ValidationError({"case_number": f"You may not add to case {number}."}) from exc
    if case.status == Case.Status.CLOSED:
        raise ValidationError({"case_number": f"Case {number} is closed."})
    return case


@dataclass(frozen=True)
class ClipAsked:
    clip_id: str
    case: Case
    window: clips.Window


def clip_request(
    *,
    actor: User,
    session: ViewSession,
    case_number: str,
    seconds: float | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> ClipAsked:
    """Fix the window now and queue the clip. `seconds` asks for the last N seconds (up to the
    view's end, if it has ended); `start` and `end` (aware) for a window inside the view.
    PermissionDenied for anyone but the view's viewer who may file into cases;
    ValidationError (by field) for a late ask, a bad window or a case they may not write."""
    if not may_clip(actor, session):
        raise PermissionDenied
    if session.end == ViewSession.End.REVOKED:
        raise ValidationError("This view was revoked: nothing can be saved from it.")
    if (
        session.camera is not None
        and not cctv_live_decision(session.camera, session.agency).allowed
    ):
        raise ValidationError(
            "The camera's owner does not share it now: nothing can be saved from this view."
        )
    now = now or timezone.now()
    if not can_still_clip(session, now=now):
        raise ValidationError(
            f"Too late: the relay keeps a stream for {ring_seconds()} s, so clips can be saved "
            f"until {ring_seconds()} s after a view ends."
        )
    case = _case_to_write(actor, case_number)
    view_end = _view_end(session) or now
    # What the ring held when the view opened is as far back as a clip of it may reach.
    earliest = session.started_at - dt.timedelta(seconds=ring_seconds())
    try:
        if seconds is not None:
            window = clips.window_last(seconds, now=view_end.timestamp())
        elif start is not None and end is not None:
            window = clips.window_between(start, end)
            if end > view_end + dt.timedelta(seconds=1):
                raise ValidationError(
                    {"end": "The window must end by the time the view ended (or now)."}
                )
        else:
            raise ValidationError("Ask for the last seconds, or give a start and an end.")
    except clips.ClipError as exc:
        raise ValidationError(exc.message) from exc
    if window.start < earliest.timestamp():
        raise ValidationError(
            {"start": "The window starts before anything this view could see was kept."}
        )
    clip_id = uuid.uuid4().hex
    subject = _subject_of(session)
    audit_record(
        action=clip_intake.CLIP_REQUESTED.name,
        actor=actor,
        target=session,
        case_ref=case.number,
        details={
            "clip_id": clip_id,
            "stream": session.path_prefix,
            "asked": window.asked,
            "start": window.start,
            "end": window.end,
            "case": str(case.pk),
            **subject,
        },
    )
    kwargs = {
        "clip_id": clip_id,
        "requester_id": actor.pk,
        "case_id": str(case.pk),
        "app": session.app,
        "stream": session.stream,
        "start": window.start,
        "end": window.end,
        "asked": window.asked,
        "session_id": str(session.pk),
        "subject": subject,
    }
    transaction.on_commit(lambda: _send(kwargs), robust=True)
    return ClipAsked(clip_id=clip_id, case=case, window=window)


def _send(kwargs: dict) -> None:
    try:
        clip_intake.save_live_clip.apply_async(kwargs=kwargs)
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning("could not queue live clip %s (%s)", kwargs["clip_id"], type(exc).__name__)


def _subject_of(session: ViewSession) -> dict:
    device = session.device
    if device is None:
        return {}
    officer = session.officer
    return {
        "device": {
            "id": str(device.pk),
            "serial": device.serial,
            "officer": officer.label if officer else "",
        }
    }


@dataclass(frozen=True)
class ClipState:
    clip_id: str
    asked: str
    case_number: str
    requested_at: dt.datetime
    requester: str
    state: str  # queued, saved, refused, late, failed
    message: str
    item_id: str


STATE_LABELS = {
    "queued": gettext_lazy("queued"),
    "saved": gettext_lazy("saved"),
    "refused": gettext_lazy("refused"),
    "late": gettext_lazy("late"),
    "failed": gettext_lazy("failed"),
}


@dataclass(frozen=True)
class _Outcomes:
    """What became of some clip asks, as the record has it."""

    items: dict[str, str]
    refusals: dict[str, str]
    failures: dict[str, int]  # clip_id -> attempts
    # clip_id -> when it was last queued again, and how many times
    requeued: dict[str, tuple[dt.datetime, int]]


def _outcomes(ids: list[str], agency_id: int | None) -> _Outcomes:
    scope: dict[str, Any] = {"agency_id": agency_id}  # None: the rows without an agency
    items = {
        item.source_ref: str(item.pk)
        for item in evidence_selectors.items_from_source(source=Source.LIVE_CLIP, refs=ids).filter(
            **scope
        )
    }

    def reasons(action: str) -> dict[str, str]:
        return {
            event.details.get("clip_id"): event.reason
            for event in AuditEvent.objects.filter(action=action, details__clip_id__in=ids, **scope)
        }

    requeued: dict[str, tuple[dt.datetime, int]] = {}
    for event in AuditEvent.objects.filter(
        action=clip_intake.CLIP_REQUEUED.name, details__clip_id__in=ids, **scope
    ).order_by("seq"):
        clip_id = event.details.get("clip_id")
        requeued[clip_id] = (event.at, requeued.get(clip_id, (event.at, 0))[1] + 1)
    return _Outcomes(
        items=items,
        refusals=reasons(clip_intake.CLIP_REFUSED.name),
        failures={
            event.details.get("clip_id"): int(event.details.get("attempts", 0))
            for event in AuditEvent.objects.filter(
                action=clip_intake.CLIP_FAILED.name, details__clip_id__in=ids, **scope
            )
        },
        requeued=requeued,
    )


def _state_of(
    clip_id: str, asked_at: dt.datetime, outcomes: _Outcomes, now: dt.datetime
) -> tuple[str, str]:
    if clip_id in outcomes.items:
        return "saved", _("Saved into the case.")
    if clip_id in outcomes.refusals:
        return "refused", outcomes.refusals[clip_id]
    if clip_id in outcomes.failures:
        return "failed", _(
            "Not saved: the clip maker never reported, after %(attempts)s attempts. Ask for the "
            "clip again while the relay still holds it, or use the device's own recording."
        ) % {"attempts": outcomes.failures[clip_id]}
    last, times = outcomes.requeued.get(clip_id, (asked_at, 0))
    if now - last > LATE_AFTER:
        return "late", _("Not saved yet: the clip maker has not reported.")
    if times:
        return "queued", _("Queued again: the clip maker had not reported.")
    return "queued", _("Queued: the clip is being cut from the relay.")


def view_clips(*, session: ViewSession) -> list[ClipState]:
    """The clips asked for from this view, newest first, each with its state as recorded.
    The caller has the view through livefeeds.selectors.view_get_for."""
    asked = list(
        AuditEvent.objects.filter(
            action=clip_intake.CLIP_REQUESTED.name,
            target_type=ViewSession._meta.label_lower,
            target_id=str(session.pk),
        )
        .select_related("actor")
        .order_by("-seq")[:50]
    )
    ids = [event.details.get("clip_id", "") for event in asked]
    outcomes = _outcomes(ids, session.agency_id)
    now = timezone.now()
    out = []
    for event, clip_id in zip(asked, ids, strict=True):
        state, message = _state_of(clip_id, event.at, outcomes, now)
        out.append(
            ClipState(
                clip_id=clip_id,
                asked=event.details.get("asked", ""),
                case_number=event.case_ref,
                requested_at=event.at,
                requester=event.actor_label,
                state=state,
                message=str(message),
                item_id=outcomes.items.get(clip_id, ""),
            )
        )
    return out


def _task_kwargs(event: AuditEvent) -> dict:
    """The task's arguments again, from the ask's record (clip_request wrote them there)."""
    details = event.details
    app, _slash, stream = details.get("stream", "").partition("/")
    subject = {"device": details["device"]} if "device" in details else {}
    return {
        "clip_id": details["clip_id"],
        "requester_id": event.actor_id,
        "case_id": details["case"],
        "app": app,
        "stream": stream,
        "start": details["start"],
        "end": details["end"],
        "asked": details.get("asked", ""),
        "session_id": event.target_id,
        "subject": subject,
    }


def clips_requeue_late(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The beat's pass over clips whose task never reported (lost with a worker, or a queue
    that dropped it): each late ask is queued again (audited, with its attempt), at most
    REQUEUE_MAX times; a clip still late after that is given up as failed, which its viewer
    sees. Running the task again is safe: the same clip_id files one item (clip_intake)."""
    now = now or timezone.now()
    asked = list(
        AuditEvent.objects.filter(
            action=clip_intake.CLIP_REQUESTED.name,
            at__lte=now - LATE_AFTER,
            at__gte=now - REQUEUE_HORIZON,
        ).order_by("seq")[:500]
    )
    counts = {"requeued": 0, "failed": 0}
    by_agency: dict[int | None, list[AuditEvent]] = {}
    for event in asked:
        by_agency.setdefault(event.agency_id, []).append(event)
    for agency_id, events in by_agency.items():
        ids = [event.details.get("clip_id", "") for event in events]
        outcomes = _outcomes(ids, agency_id)
        for event, clip_id in zip(events, ids, strict=True):
            if not clip_id or _state_of(clip_id, event.at, outcomes, now)[0] != "late":
                continue
            times = outcomes.requeued.get(clip_id, (event.at, 0))[1]
            if times >= REQUEUE_MAX:
                _clip_failed(event, clip_id, times)
                counts["failed"] += 1
                continue
            audit_record(
                action=clip_intake.CLIP_REQUEUED.name,
                actor_label="system (live clip retry)",
                agency=event.agency,
                case_ref=event.case_ref,
                details={"clip_id": clip_id, "attempt": times + 2},
            )
            kwargs = _task_kwargs(event)
            transaction.on_commit(functools.partial(_send, kwargs), robust=True)
            counts["requeued"] += 1
    return counts


def _clip_failed(event: AuditEvent, clip_id: str, times: int) -> None:
    audit_record(
        action=clip_intake.CLIP_FAILED.name,
        actor_label="system (live clip retry)",
        agency=event.agency,
        case_ref=event.case_ref,
        outcome=AuditEvent.Outcome.DENIED,
        reason=f"the clip maker never reported, after {times + 1} attempts",
        details={"clip_id": clip_id, "attempts": times + 1},
    )
