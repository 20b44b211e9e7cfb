"""Footage request reads: the agency's dashboard, what owners are shown, and who looked."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evidence import selectors as evidence_selectors
from evidence.models import EvidenceItem, Source
from portal.models import Agency, AuditEvent, User
from portal.roles import Role
from registry.footage.policies import can_view_footage_requests
from registry.models import (
    Camera,
    CameraSearch,
    FootageRequest,
    FootageRequestCamera,
    FootageRequestRecipient,
    RegistryPolicy,
)
from registry.policies import can_own_cameras

Status = FootageRequestCamera.Status
# The audit actions that tell an owner their camera was looked at or asked for.
SEARCH_ACTION = "registry.camera_search"
REQUEST_ACTION = "registry.footage_request"


def registry_policy_for(agency: Agency) -> RegistryPolicy:
    """The agency's registry settings, or the defaults when it never set any."""
    return RegistryPolicy.objects.filter(agency=agency).first() or RegistryPolicy(agency=agency)


def asking_party(request: FootageRequest) -> dict[str, str]:
    """Who is asking, as owners are told: agency and role; the officer's name and email (the
    contact an owner may write to) only when the agency's policy shows officers' names."""
    officer = request.requested_by
    show_name = registry_policy_for(request.agency).show_officer_names_to_owners
    return {
        "agency": request.agency.name,
        "role": officer.get_role_display(),
        "officer": officer.full_name if show_name else "",
        "email": officer.email if show_name else "",
    }


def window_in_zones(request: FootageRequest, camera: Camera) -> dict[str, Any]:
    """The request's window in the camera's own time zone and in UTC."""
    zone = zoneinfo.ZoneInfo(camera.time_zone)
    return {
        "zone": camera.time_zone,
        # Wall-clock times in `zone`, naive on purpose: templates (and DRF) convert an aware
        # value back to the active time zone, UTC, which printed the UTC time twice.
        "local_start": request.window_start.astimezone(zone).replace(tzinfo=None),
        "local_end": request.window_end.astimezone(zone).replace(tzinfo=None),
        "local_start_iso": request.window_start.astimezone(zone).isoformat(),
        "local_end_iso": request.window_end.astimezone(zone).isoformat(),
        "utc_start": request.window_start.astimezone(dt.UTC),
        "utc_end": request.window_end.astimezone(dt.UTC),
    }


def overwrite_at(request: FootageRequest, camera: Camera) -> dt.datetime:
    """When the camera likely records over the window's start: retention in local calendar days."""
    local = request.window_start.astimezone(zoneinfo.ZoneInfo(camera.time_zone))
    # Adding a timedelta to an aware datetime is wall-clock arithmetic: DST changes are kept.
    return (local + dt.timedelta(days=camera.retention_days)).astimezone(dt.UTC)


# --- the agency's side ------------------------------------------------------------------------


def footage_requests_for(*, actor: User) -> QuerySet[FootageRequest]:
    """The actor's agency's requests, newest first, with per-status counts and first answer."""
    if not can_view_footage_requests(actor):
        raise PermissionDenied
    answered = Q(cameras__status__in=FootageRequestCamera.ANSWERED)
    return (
        FootageRequest.objects.filter(agency=actor.agency_id)
        .select_related("requested_by", "agency")
        .annotate(
            camera_count=Count("cameras", distinct=True),
            answered_count=Count("cameras", filter=answered, distinct=True),
            # distinct: the recipients join below repeats each camera once per recipient.
            uploaded_count=Count(
                "cameras", filter=Q(cameras__status=Status.UPLOADED), distinct=True
            ),
            no_footage_count=Count(
                "cameras", filter=Q(cameras__status=Status.NO_FOOTAGE), distinct=True
            ),
            declined_count=Count(
                "cameras", filter=Q(cameras__status=Status.DECLINED), distinct=True
            ),
            first_answer_at=Min("cameras__answered_at"),
            email_failed_count=Count(
                "recipients",
                filter=Q(recipients__email_status=FootageRequestRecipient.EmailStatus.FAILED),
                distinct=True,
            ),
        )
        .order_by("-created_at")
    )


class RequestState(models.TextChoices):
    """Where a request stands, as the agency reads it in its list (owners see the same words)."""

    AWAITING_APPROVAL = "awaiting_approval", _("Waiting for a supervisor")
    REFUSED = "refused", _("Refused, never sent")
    SENT = "sent", _("Sent, no answer yet")
    PARTLY_ANSWERED = "partly_answered", _("Partly answered")
    COMPLETE = "complete", _("Complete: every camera answered")
    # Not "expired": that word is the per-camera status the agency is never shown (see
    # AnswerCounts); a request's deadline is the agency's own and passing it names nobody.
    EXPIRED = "deadline_passed", _("Deadline passed")


def request_state(
    *, status: str, asked: int, answered: int, deadline: dt.datetime, now: dt.datetime | None = None
) -> RequestState:
    """The state from counts the list already has (no query): every camera answered is
    complete even after the deadline; otherwise a passed deadline is expired, however many
    answered (the page still says "2 of 3 answered")."""
    if status == FootageRequest.Status.AWAITING_APPROVAL:
        return RequestState.AWAITING_APPROVAL
    if status == FootageRequest.Status.REFUSED:
        return RequestState.REFUSED
    if asked and answered >= asked:
        return RequestState.COMPLETE
    if (now or timezone.now()) >= deadline:
        return RequestState.EXPIRED
    return RequestState.PARTLY_ANSWERED if answered else RequestState.SENT


@dataclass(frozen=True)
class RequestRow:
    """One request in the agency's list: its counts, its state and how soon it was answered."""

    req: FootageRequest
    counts: "AnswerCounts"
    state: RequestState
    first_answer: dt.timedelta | None


def footage_request_rows(*, actor: User, limit: int = 200) -> list[RequestRow]:
    """The agency's newest requests with their state, in one query whatever their number (the
    counts and the first answer come from footage_requests_for's annotations)."""
    now = timezone.now()
    rows = []
    # The counts are grouped over the newest `limit` requests only: grouping every request of
    # the agency before keeping the newest grows with the years of requests.
    newest = (
        FootageRequest.objects.filter(agency=actor.agency_id)
        .order_by("-created_at")
        .values("pk")[:limit]
    )
    for req in footage_requests_for(actor=actor).filter(pk__in=newest)[:limit]:
        counts = answer_counts(req)
        rows.append(
            RequestRow(
                req=req,
                counts=counts,
                state=request_state(
                    status=req.status,
                    asked=counts.asked,
                    answered=counts.answered,
                    deadline=req.deadline,
                    now=now,
                ),
                first_answer=time_to_first_answer(req),
            )
        )
    return rows


def footage_request_get_for(*, actor: User, id: UUID | str, write: bool = False) -> FootageRequest:
    """One request: 404 outside its agency (and for anyone who may not see requests)."""
    try:
        return footage_requests_for(actor=actor).get(pk=id)
    except (FootageRequest.DoesNotExist, ValueError, PermissionDenied) as exc:
        raise Http404("No such footage request.") from exc


def footage_requests_for_case_number(*, actor: User, case_number: str) -> QuerySet[FootageRequest]:
    """The agency's requests filed under a case number (the cases app links them by it)."""
    return footage_requests_for(actor=actor).filter(case_number__iexact=case_number.strip())


# What the agency learns of the owners it asked. An answer (files, "no footage", "I decline") is
# the owner's to give, so answered cameras are listed with their answer. Whether an owner opened
# the link, or let the deadline pass, is not: unanswered cameras are only ever counted, never
# named, so the agency cannot tell who ignored it.


@dataclass(frozen=True)
class AnswerCounts:
    asked: int
    uploaded: int
    no_footage: int
    declined: int

    @property
    def answered(self) -> int:
        return self.uploaded + self.no_footage + self.declined

    @property
    def no_answer(self) -> int:
        return self.asked - self.answered

    def as_dict(self) -> dict[str, int]:
        return {
            "asked": self.asked,
            "uploaded": self.uploaded,
            "no_footage": self.no_footage,
            "declined": self.declined,
            "no_answer": self.no_answer,
        }


def answer_counts(request: FootageRequest) -> AnswerCounts:
    """Counts for a request from footage_requests_for (annotated), or counted here otherwise."""
    if hasattr(request, "no_footage_count"):
        # footage_requests_for's annotations, which the model class does not declare.
        annotated: Any = request
        return AnswerCounts(
            asked=annotated.camera_count,
            uploaded=annotated.uploaded_count,
            no_footage=annotated.no_footage_count,
            declined=annotated.declined_count,
        )
    by_status = dict(
        request.cameras.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return AnswerCounts(
        asked=sum(by_status.values()),
        uploaded=by_status.get(Status.UPLOADED, 0),
        no_footage=by_status.get(Status.NO_FOOTAGE, 0),
        declined=by_status.get(Status.DECLINED, 0),
    )


@dataclass
class CameraRow:
    rc: FootageRequestCamera
    status: str
    status_label: str
    items: list[EvidenceItem] = field(default_factory=list)


def answered_camera_rows(
    *, actor: User, request: FootageRequest, with_items: bool = True
) -> list[CameraRow]:
    """The request's ANSWERED cameras, first answer first, with the answer and the items sent.

    Unanswered cameras are left out on purpose (see AnswerCounts). Items come through the
    evidence selectors scoped to the actor's agency.
    """
    cameras = list(
        request.cameras.filter(status__in=FootageRequestCamera.ANSWERED)
        .select_related("camera", "request")
        .order_by("answered_at", "pk")
    )
    by_ref: dict[str, list[EvidenceItem]] = {}
    if with_items and cameras:
        refs = [str(rc.pk) for rc in cameras]
        items = evidence_selectors.items_for(actor=actor).filter(
            source=Source.FOOTAGE_REQUEST, source_ref__in=refs
        )
        for item in items.order_by("received_at"):
            by_ref.setdefault(item.source_ref, []).append(item)
    return [
        CameraRow(rc, rc.status, str(Status(rc.status).label), by_ref.get(str(rc.pk), []))
        for rc in cameras
    ]


@dataclass
class FailedEmail:
    recipient_id: int
    cameras: list[str]
    at: dt.datetime | None


def failed_emails(*, request: FootageRequest) -> list[FailedEmail]:
    """Owners whose last email failed, named by their cameras (the agency never sees the owner)."""
    failed = request.recipients.filter(
        email_status=FootageRequestRecipient.EmailStatus.FAILED
    ).prefetch_related("cameras__camera")
    return [
        FailedEmail(r.pk, [rc.camera.name for rc in r.cameras.all()], r.email_at)
        for r in failed.order_by("pk")
    ]


def time_to_first_answer(request: FootageRequest) -> dt.timedelta | None:
    """From sending to the first answer; read from footage_requests_for's annotation when the
    request came from it (no query), counted here otherwise."""
    first: dt.datetime | None
    if hasattr(request, "first_answer_at"):
        annotated: Any = request
        first = annotated.first_answer_at
    else:
        first = request.cameras.filter(answered_at__isnull=False).aggregate(m=Min("answered_at"))[
            "m"
        ]
    if first is None or request.sent_at is None:
        return None
    return max(first - request.sent_at, dt.timedelta(0))


def awaiting_my_approval(*, actor: User) -> QuerySet[FootageRequest]:
    return (
        footage_requests_for(actor=actor)
        .filter(status=FootageRequest.Status.AWAITING_APPROVAL)
        .exclude(requested_by=actor)
    )


# --- the owner's side: the requests they were sent, read in their account ---------------------


def owner_requests_for(*, owner: User) -> QuerySet[FootageRequestRecipient]:
    """The requests sent to the owner (one recipient row each), newest first, with how many of
    their cameras were asked and answered, in one query. Requests a supervisor still holds or
    refused never reached the owner and are not listed."""
    if not can_own_cameras(owner):
        raise PermissionDenied
    return (
        FootageRequestRecipient.objects.filter(
            owner=owner, request__status=FootageRequest.Status.SENT
        )
        .select_related("request__agency")
        .annotate(
            camera_count=Count("cameras", distinct=True),
            answered_count=Count(
                "cameras",
                filter=Q(cameras__status__in=FootageRequestCamera.ANSWERED),
                distinct=True,
            ),
        )
        .order_by("-request__created_at", "-pk")
    )


def owner_request_get_for(*, owner: User, request_id: UUID | str) -> FootageRequestRecipient:
    """The owner's part of one request: 404 for a request not sent to them."""
    try:
        return owner_requests_for(owner=owner).get(request__pk=request_id)
    except (FootageRequestRecipient.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such footage request.") from exc


def owner_request_rows(*, owner: User) -> list[dict[str, Any]]:
    """The owner's Requests page: each request with its state (same words as the agency's)."""
    now = timezone.now()
    rows = []
    for recipient in owner_requests_for(owner=owner)[:200]:
        annotated: Any = recipient
        rows.append(
            {
                "recipient": recipient,
                "req": recipient.request,
                "asked": annotated.camera_count,
                "answered": annotated.answered_count,
                "state": request_state(
                    status=recipient.request.status,
                    asked=annotated.camera_count,
                    answered=annotated.answered_count,
                    deadline=recipient.request.deadline,
                    now=now,
                ),
            }
        )
    return rows


def request_map(recipient: FootageRequestRecipient) -> dict[str, Any]:
    """What the owner's small map draws: their cameras in the request (with their cones) and
    the incident point of the search the request came from (none for a request without one)."""
    search = recipient.request.search
    return {
        "cameras": [
            {
                "lat": rc.camera.location.y,
                "lon": rc.camera.location.x,
                "direction_deg": rc.camera.direction_deg,
                "fov_angle_deg": rc.camera.fov_angle_deg,
                "range_m": rc.camera.range_m,
                "name": rc.camera.name,
            }
            for rc in recipient.cameras.select_related("camera")
        ],
        "incident": [search.incident.y, search.incident.x] if search is not None else None,
    }


# --- the owner's side: who looked at my cameras -----------------------------------------------


@dataclass(frozen=True)
class AccessEntry:
    at: dt.datetime
    kind: str  # "search" or "request"
    agency: str
    role: str
    officer: str
    reason: str
    cameras: list[str]


_ROLE_LABELS = dict(Role.choices)


def owns_camera(*, owner: User, camera_id: UUID | str) -> bool:
    return Camera.objects.filter(owner=owner, pk=camera_id).exists()


def access_events(*, camera_ids: list[str]) -> QuerySet[AuditEvent]:
    """Search and request audit rows naming any of these cameras, newest first.

    One `details @> {"camera_ids": [id]}` per camera, ORed: each is answered by the GIN
    (jsonb_path_ops) index of registry migration 0003 as a bitmap, not a scan of the log.
    """
    touches = Q()
    for camera in camera_ids:
        touches |= Q(details__contains={"camera_ids": [str(camera)]})
    return (
        AuditEvent.objects.filter(action__in=[SEARCH_ACTION, REQUEST_ACTION], outcome="success")
        .filter(touches)
        .order_by("-seq")
    )


def camera_access_history_for(
    *, owner: User, camera_id: UUID | str | None = None
) -> list[AccessEntry]:
    """Every search hit and footage request that touched the owner's cameras, newest first.

    Read from the audit log (JSON containment on details.camera_ids), so it shows exactly what
    was recorded. Deleted cameras keep their history. The officer's name appears only when the
    agency's policy allows it.
    """
    cameras = Camera.objects.filter(owner=owner)
    if camera_id is not None:
        cameras = cameras.filter(pk=camera_id)
    names = {str(pk): name for pk, name in cameras.values_list("pk", "name")}
    if not names:
        return []
    events = access_events(camera_ids=list(names)).select_related("actor")
    shows_names: dict[int | None, bool] = {}
    entries = []
    for event in events:
        if event.agency_id not in shows_names:
            shows_names[event.agency_id] = bool(
                event.agency_id
                and RegistryPolicy.objects.filter(
                    agency_id=event.agency_id, show_officer_names_to_owners=True
                ).exists()
            )
        details = event.details or {}
        entries.append(
            AccessEntry(
                at=event.at,
                kind="search" if event.action == SEARCH_ACTION else "request",
                agency=event.actor_agency,
                role=str(_ROLE_LABELS.get(event.actor_role, event.actor_role)),
                officer=(event.actor.full_name if event.actor else "")
                if shows_names[event.agency_id]
                else "",
                reason=details.get("reason") or event.reason,
                cameras=[names[c] for c in details.get("camera_ids", []) if c in names],
            )
        )
    return entries


def camera_search_get_for_footage_viewer(*, actor: User, id: UUID | str) -> CameraSearch:
    """A search of the actor's agency (the one footage requests start from), for someone who may
    view footage requests (can_view_footage_requests); 404 otherwise. The search pages use
    registry.selectors.camera_search_get_for_searcher."""
    if not can_view_footage_requests(actor):
        raise Http404("No such search.")
    try:
        return CameraSearch.objects.get(pk=id, agency=actor.agency_id)
    except (CameraSearch.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such search.") from exc


def search_cameras(*, search: CameraSearch) -> list[Camera]:
    """The cameras a search returned, in its order, deleted ones left out."""
    found = {
        c.pk: c for c in Camera.objects.filter(pk__in=search.camera_ids, deleted_at__isnull=True)
    }
    return [found[pk] for pk in search.camera_ids if pk in found]
