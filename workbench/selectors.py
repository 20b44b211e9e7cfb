"""What waits for each person: the dashboard's cards, the navigation's badges and a resident's
home, each read through the owning app's scoped selectors (another agency's rows never appear).

Every card costs two queries (a count and its first few rows), whatever the number of rows.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from evidence import policies as evidence_policies
from evidence import selectors as evidence_selectors
from evidence.models import DeletionRequest
from notifications.policies import can_use_notifications
from notifications.selectors import unread_count
from portal.models import User
from portal.pagination import bounded_count
from portal.roles import has_capability
from portal.templatetags.portal_time import local_and_utc
from registry import policies as registry_policies
from registry import selectors as registry_selectors
from registry.footage import policies as footage_policies
from registry.footage import selectors as footage_selectors
from registry.models import Camera, FootageRequest, FootageRequestCamera
from submissions.models import Tip, TipStatus
from submissions.policies import can_view_tips
from submissions.selectors import TipFilters, tips_for

TOP = 5
# A card's or a badge's count stops here ("999+"): counting a large force's every open case or
# new tip read them all on every page (119 ms for 75,000 open cases).
COUNT_CAP = 999
DUE_SOON = dt.timedelta(hours=48)
ACKNOWLEDGED_WITHIN = dt.timedelta(days=14)
CLOSED_TIP_STATES = (TipStatus.CLOSED, TipStatus.DUPLICATE, TipStatus.NOT_ACTIONABLE)
WAITING_CAMERA_STATES = (FootageRequestCamera.Status.SENT, FootageRequestCamera.Status.OPENED)


@dataclass(frozen=True)
class CardItem:
    label: str
    url: str
    note: str = ""
    urgent: bool = False


@dataclass
class Card:
    key: str
    title: str
    count: int
    more_url: str
    items: list[CardItem] = field(default_factory=list)
    empty: str = ""

    @property
    def count_text(self) -> str:
        return f"{COUNT_CAP}+" if self.count > COUNT_CAP else str(self.count)


def _count(rows: QuerySet[Any]) -> int:
    """The number of rows, or COUNT_CAP + 1 when there are more."""
    return bounded_count(rows, COUNT_CAP)


def _local_midnight(actor: User, now: dt.datetime) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(actor.agency.time_zone if actor.agency else "UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _stamp(when: dt.datetime | None) -> str:
    return local_and_utc(when) if when else ""


# --- the cards --------------------------------------------------------------------------------


def new_tips(actor: User) -> QuerySet[Tip]:
    return tips_for(actor=actor, filters=TipFilters(status=TipStatus.NEW))


def tips_waiting_for(actor: User) -> QuerySet[Tip]:
    return (
        tips_for(actor=actor, filters=TipFilters(assigned="me"))
        .exclude(status__in=CLOSED_TIP_STATES)
        .order_by("-priority", "-updated_at")
    )


def requests_awaiting_answers(actor: User, now: dt.datetime) -> QuerySet[FootageRequest]:
    """Sent requests still open, with at least one camera not yet answered, soonest due first."""
    return (
        footage_selectors.footage_requests_for(actor=actor)
        .filter(status=FootageRequest.Status.SENT, deadline__gt=now)
        .filter(answered_count__lt=F("camera_count"))  # type: ignore[misc]  # annotated
        .order_by("deadline")
    )


def approvals_waiting(
    actor: User,
) -> tuple[QuerySet[DeletionRequest] | None, QuerySet[FootageRequest] | None]:
    """Deletions asked by a colleague (two-person rule) and long footage windows to approve."""
    deletions = None
    if evidence_policies.can_request_deletion(actor):
        deletions = (
            evidence_selectors.deletion_requests_for(actor=actor)
            .filter(state=DeletionRequest.State.PENDING)
            .exclude(requested_by=actor)
            .order_by("requested_at")
        )
    footage = None
    if footage_policies.can_request_footage(actor) and has_capability(
        actor, footage_policies.APPROVE_FOOTAGE_REQUESTS
    ):
        footage = footage_selectors.awaiting_my_approval(actor=actor).order_by("created_at")
    return deletions, footage


def _tip_item(tip: Tip) -> CardItem:
    return CardItem(
        label=f"{tip.reference} · {tip.category.name}",
        url=reverse("submissions_staff:tip", args=[tip.reference]),
        note=f"{tip.get_status_display()} · {_stamp(tip.received_at)}",
        urgent=tip.priority >= 3,
    )


def dashboard_cards(*, actor: User, now: dt.datetime | None = None) -> list[Card]:
    """The work-queue cards the actor's role and permissions give them, in their agency."""
    now = now or timezone.now()
    cards: list[Card] = []
    inbox = reverse("submissions_staff:inbox")
    if can_view_tips(actor):
        tips = new_tips(actor)
        cards.append(
            Card(
                key="new_tips",
                title=_("New tips"),
                count=_count(tips),
                items=[_tip_item(t) for t in tips[:TOP]],
                more_url=f"{inbox}?{urlencode({'status': TipStatus.NEW})}",
                empty=_("No new tips."),
            )
        )
        mine = tips_waiting_for(actor)
        cards.append(
            Card(
                key="tips_for_me",
                title=_("Tips waiting for me"),
                count=_count(mine),
                items=[_tip_item(t) for t in mine[:TOP]],
                more_url=f"{inbox}?{urlencode({'assigned': 'me'})}",
                empty=_("No open tips are assigned to you."),
            )
        )
    if evidence_policies.can_view_evidence(actor):
        today = _local_midnight(actor, now)
        items = evidence_selectors.items_for(
            actor=actor, filters=evidence_selectors.ItemFilters()
        ).filter(received_at__gte=today)
        cards.append(
            Card(
                key="footage_today",
                title=_("Footage received today"),
                count=_count(items),
                items=[
                    CardItem(
                        label=i.original_filename or str(i.pk),
                        url=reverse("evidence:detail", args=[i.pk]),
                        note=f"{i.get_source_display()} · {_stamp(i.received_at)}",
                    )
                    for i in items[:TOP]
                ],
                more_url=f"{reverse('evidence:list')}?{urlencode({'date_from': today.date()})}",
                empty=_("Nothing has arrived today."),
            )
        )
    if footage_policies.can_view_footage_requests(actor):
        waiting = requests_awaiting_answers(actor, now)
        cards.append(
            Card(
                key="requests_due",
                title=_("Requests awaiting answers"),
                count=_count(waiting),
                items=[
                    CardItem(
                        label=_("Case %(number)s: %(answered)s of %(asked)s answered")
                        % {
                            "number": r.case_number,
                            "answered": r.answered_count,  # type: ignore[attr-defined]
                            "asked": r.camera_count,  # type: ignore[attr-defined]
                        },
                        url=reverse("registry_requests:detail", args=[r.pk]),
                        note=_("due %(when)s") % {"when": _stamp(r.deadline)},
                        urgent=r.deadline - now <= DUE_SOON,
                    )
                    for r in waiting[:TOP]
                ],
                more_url=reverse("registry_requests:list"),
                empty=_("No request is waiting for answers."),
            )
        )
    if evidence_policies.can_view_evidence(actor):
        cases = evidence_selectors.open_cases_of(actor=actor)
        cards.append(
            Card(
                key="my_cases",
                title=_("My open cases"),
                count=_count(cases),
                items=[
                    CardItem(
                        label=f"{c.number} · {c.title}",
                        url=reverse("evidence:case_detail", args=[c.pk]),
                        note=_("lead: %(lead)s") % {"lead": c.lead.full_name},
                    )
                    for c in cases[:TOP]
                ],
                more_url=reverse("evidence:case_list"),
                empty=_("You lead or work no open case."),
            )
        )
        shares = evidence_selectors.shares_acknowledged_for(
            actor=actor, since=now - ACKNOWLEDGED_WITHIN
        )
        cards.append(
            Card(
                key="shares_acknowledged",
                title=_("Shares acknowledged"),
                count=_count(shares),
                items=[
                    CardItem(
                        label=f"{s.case.number} · {s.recipient_agency.name}",
                        url=reverse("evidence:case_detail", args=[s.case_id]),
                        note=_("acknowledged %(when)s") % {"when": _stamp(s.acknowledged_at)},
                    )
                    for s in shares[:TOP]
                ],
                more_url=reverse("evidence:case_list"),
                empty=_("No share was acknowledged in the last 14 days."),
            )
        )
    deletions, footage = approvals_waiting(actor)
    if deletions is not None or footage is not None:
        approval_items: list[CardItem] = []
        count = 0
        if deletions is not None:
            count += _count(deletions)
            approval_items += [
                CardItem(
                    label=_("Delete %(item)s") % {"item": d.item.original_filename or d.item_id},
                    url=reverse("evidence:deletion_decide", args=[d.pk]),
                    note=_("asked by %(who)s, %(when)s")
                    % {"who": d.requested_by.full_name, "when": _stamp(d.requested_at)},
                    urgent=True,
                )
                for d in deletions[:TOP]
            ]
        if footage is not None:
            count += _count(footage)
            approval_items += [
                CardItem(
                    label=_("Footage request, case %(number)s") % {"number": r.case_number},
                    url=reverse("registry_requests:detail", args=[r.pk]),
                    note=_("asked by %(who)s, %(when)s")
                    % {"who": r.requested_by.full_name, "when": _stamp(r.created_at)},
                )
                for r in footage[:TOP]
            ]
        cards.append(
            Card(
                key="approvals",
                title=_("Approvals waiting"),
                count=count,
                items=approval_items[:TOP],
                more_url=reverse("evidence:retention"),
                empty=_("Nothing waits for your approval."),
            )
        )
    return cards


# --- the navigation's badges ----------------------------------------------------------------


def badge_counts(*, user: User, now: dt.datetime | None = None) -> dict[str, int]:
    """The few counts the header shows beside its links (computed once per request)."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    if can_view_tips(user):
        counts["tips"] = _count(new_tips(user))
    if footage_policies.can_view_footage_requests(user):
        counts["requests"] = _count(
            requests_awaiting_answers(user, now).filter(deadline__lte=now + DUE_SOON)
        )
    if can_use_notifications(user):
        counts["notifications"] = unread_count(user=user)
    return counts


# --- a resident's or business's home ----------------------------------------------------------


def cameras_home(*, actor: User) -> QuerySet[Camera]:
    return registry_selectors.cameras_of(actor=actor)


def open_requests_of_owner(
    *, owner: User, now: dt.datetime | None = None
) -> QuerySet[FootageRequestCamera]:
    """The footage requests still waiting for the owner's answer, soonest due first."""
    if not registry_policies.can_own_cameras(owner):
        return FootageRequestCamera.objects.none()
    now = now or timezone.now()
    return (
        FootageRequestCamera.objects.filter(
            recipient__owner=owner,
            camera__owner=owner,
            status__in=WAITING_CAMERA_STATES,
            request__status=FootageRequest.Status.SENT,
            request__deadline__gt=now,
        )
        .select_related("request__agency", "camera")
        .order_by("request__deadline")
    )


def requests_due_for_notice(*, now: dt.datetime, within: dt.timedelta) -> QuerySet[FootageRequest]:
    """Every agency's sent requests due within `within` with cameras still unanswered (for the
    beat job that tells each requester; unscoped, as a system job)."""
    return (
        FootageRequest.objects.filter(
            status=FootageRequest.Status.SENT, deadline__gt=now, deadline__lte=now + within
        )
        .annotate(waiting=Count("cameras", filter=Q(cameras__status__in=WAITING_CAMERA_STATES)))
        .filter(waiting__gt=0)
        .select_related("requested_by")
        .order_by("deadline")
    )
