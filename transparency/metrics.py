"""The named queries behind every public figure: one function per metric, over recorded facts.

A metric takes an agency and a half-open time range [start, end) and returns
{dimension: (value, basis)}; the dimension "" is the metric's total. `basis` is how many
recorded facts the value stands on (the small-count rule reads it). The page shows each
metric's description and the source of its query, so anyone can see what is counted.
Nothing is typed in: a figure exists only as the output of one of these functions.
"""

import datetime as dt
import functools
import inspect
import statistics
import textwrap
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Sum, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from devices.models import Alert, CadIncident, DeviceAssignment, Recording, Trigger, TriggerKind
from livefeeds.models import ViewSession
from portal.models import Agency, AuditEvent
from portal.roles import Role
from registry.models import FootageRequest, FootageRequestCamera, SearchReasonCategory
from review.kinds import KINDS as REVIEW_KINDS
from review.models import Finding, Outcome, SampledItem
from submissions.models import Tip, TipStatus

Figures = dict[str, tuple[float, int]]
Compute = Callable[[Agency, dt.datetime, dt.datetime], Figures]


class Unit:
    COUNT = "count"
    HOURS = "hours"
    MINUTES = "minutes"
    DAYS = "days"
    PERCENT = "percent"


@dataclass(frozen=True)
class Metric:
    name: str
    title: str | Promise
    description: str | Promise
    unit: str
    compute: Compute
    # Labels of known dimension values; others are shown as stored.
    labels: dict[str, str | Promise] = field(default_factory=dict)
    # What the dimensions are ("unit": a CAD call sign, compared across units on the goals
    # page); empty when the metric has none, or none a goal can compare by.
    breakdown: str = ""
    # Shown among the public page's monthly figures (goal-only metrics appear in public only
    # through a goal the agency chose to publish).
    page: bool = True
    # A goal may be set on it (a value that can be better or worse, not a tally of kinds).
    goal: bool = False
    # Earlier months can still change as later facts arrive (an answer, a category): the beat
    # job recomputes the months shown, not only the last two.
    restated: bool = False

    @property
    def source(self) -> str:
        """The query itself, as it runs: shown on the page beside the figures."""
        return _source_of(self.compute)


@dataclass(frozen=True)
class NotYet:
    """A figure the issue asks for that no recorded fact supports yet, and why."""

    name: str
    title: str | Promise
    why: str | Promise


METRICS: dict[str, Metric] = {}


def page_metrics() -> list[Metric]:
    """The metrics among the public page's monthly figures, in the page's order."""
    return [m for m in METRICS.values() if m.page]


def goal_metrics() -> list[Metric]:
    """The metrics a goal may be set on."""
    return [m for m in METRICS.values() if m.goal]


@functools.cache
def _source_of(compute: Compute) -> str:
    # Read once per process: inspect tokenises the whole module to find a function's end.
    return textwrap.dedent(inspect.getsource(compute))


def metric(
    name: str,
    *,
    title: str | Promise,
    description: str | Promise,
    unit: str = Unit.COUNT,
    labels: dict[str, str | Promise] | None = None,
    breakdown: str = "",
    page: bool = True,
    goal: bool = False,
    restated: bool = False,
) -> Callable[[Compute], Compute]:
    """Register `compute` as the named metric (the order of registration is the page's)."""

    def register(compute: Compute) -> Compute:
        if name in METRICS:
            raise ValueError(f"Metric {name!r} is already registered.")
        METRICS[name] = Metric(
            name,
            title,
            description,
            unit,
            compute,
            labels or {},
            breakdown=breakdown,
            page=page,
            goal=goal,
            restated=restated,
        )
        return compute

    return register


NOT_YET = [
    NotYet(
        "footage_offence_category",
        _("Footage requests by offence category"),
        _("Not yet: a footage request records a free-text reason, not an offence category."),
    ),
]

# Goals the issue names that no recorded fact supports yet: offered on the goals page as
# "not yet", never as a choice.
GOALS_NOT_YET = [
    NotYet(
        "complaints_with_footage_percent",
        _("Footage available for complaints"),
        _(
            "Not yet: Canvass records no complaints (no complaint, its incident or its "
            "outcome), so there is nothing to match footage against."
        ),
    ),
]


# --- helpers ---------------------------------------------------------------------------------


def _counts(rows: Iterable[dict[str, Any]], key: str) -> Figures:
    """{dimension: (n, n)} from grouped rows with an `n`, plus the total under ""."""
    figures: Figures = {}
    total = 0
    for row in rows:
        n = int(row["n"])
        dimension = str(row[key] or "other")
        previous = figures.get(dimension, (0.0, 0))[1]
        figures[dimension] = (float(previous + n), previous + n)
        total += n
    figures[""] = (float(total), total)
    return figures


def _total(n: int) -> Figures:
    return {"": (float(n), n)}


def _median(values: list[float]) -> Figures:
    if not values:
        return {}
    return {"": (round(statistics.median(values), 1), len(values))}


def _events(
    agency: Agency, start: dt.datetime, end: dt.datetime, action: str
) -> QuerySet[AuditEvent]:
    """Successful audit events of `agency` with this action name, in [start, end)."""
    return AuditEvent.objects.filter(
        agency=agency,
        action=action,
        outcome=AuditEvent.Outcome.SUCCESS,
        at__gte=start,
        at__lt=end,
    )


def _footage_requests(
    agency: Agency, start: dt.datetime, end: dt.datetime
) -> QuerySet[FootageRequest]:
    """Requests that reached owners (sent), by the time they were sent."""
    return FootageRequest.objects.filter(
        agency=agency,
        status=FootageRequest.Status.SENT,
        sent_at__gte=start,
        sent_at__lt=end,
    )


# Owners' answers, as the public log and the figures name them.
OUTCOMES: dict[str, str] = {
    FootageRequestCamera.Status.UPLOADED: "answered",
    FootageRequestCamera.Status.NO_FOOTAGE: "no_footage",
    FootageRequestCamera.Status.DECLINED: "declined",
    FootageRequestCamera.Status.EXPIRED: "no_answer",
    FootageRequestCamera.Status.PENDING: "waiting",
    FootageRequestCamera.Status.SENT: "waiting",
    FootageRequestCamera.Status.OPENED: "waiting",
}
OUTCOME_LABELS: dict[str, str | Promise] = {
    "answered": _("Answered with footage"),
    "no_footage": _("No footage"),
    "declined": _("Declined"),
    "no_answer": _("No answer by the deadline"),
    "waiting": _("Still waiting"),
}
# Role and trigger names as the rest of Canvass labels them (the page translates them).
ROLE_LABELS: dict[str, str | Promise] = {r.value: r.label for r in Role}
TRIGGER_LABELS: dict[str, str | Promise] = {k.value: k.label for k in TriggerKind}
SEARCH_REASON_LABELS: dict[str, str | Promise] = {c.value: c.label for c in SearchReasonCategory}


# --- the metrics, in the order the page shows them ---------------------------------------------


@metric(
    "registry_searches",
    title=_("Registry searches"),
    description=_(
        "Searches for registered cameras near an incident (audit action "
        "registry.camera_search), by the searcher's role. Every search needs a case number "
        "and a reason."
    ),
    labels=ROLE_LABELS,
)
def registry_searches(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        _events(agency, start, end, "registry.camera_search")
        .values("actor_role")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "actor_role")


@metric(
    "registry_searches_by_reason",
    title=_("Registry searches by reason category"),
    description=_(
        "The same searches by the reason category the searcher chose from a fixed list "
        "(violent crime, property crime, missing person, traffic collision, other), read from "
        "the audit row's details. Searches made before categories existed are counted as not "
        "recorded."
    ),
    labels=SEARCH_REASON_LABELS,
)
def registry_searches_by_reason(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        _events(agency, start, end, "registry.camera_search")
        .annotate(
            category=Coalesce(
                KeyTextTransform("reason_category", "details"),
                Value(SearchReasonCategory.UNSPECIFIED.value),
                output_field=TextField(),
            )
        )
        .values("category")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "category")


@metric(
    "footage_requests_sent",
    title=_("Footage requests sent to camera owners"),
    description=_("Footage requests that reached camera owners, counted in the month sent."),
)
def footage_requests_sent(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    return _total(_footage_requests(agency, start, end).count())


@metric(
    "footage_cameras",
    title=_("Cameras asked, by the owner's answer"),
    description=_(
        "Every camera named in a request sent that month (the total), and what its owner "
        "answered. Requests are counted in the month they were sent."
    ),
    labels=OUTCOME_LABELS,
)
def footage_cameras(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        FootageRequestCamera.objects.filter(request__in=_footage_requests(agency, start, end))
        .values("status")
        .annotate(n=Count("id"))
    )
    grouped: dict[str, int] = {}
    for row in rows:
        outcome = OUTCOMES[row["status"]]
        grouped[outcome] = grouped.get(outcome, 0) + row["n"]
    return _counts(({"outcome": k, "n": v} for k, v in grouped.items()), "outcome")


@metric(
    "footage_median_window_minutes",
    title=_("Median time window asked for"),
    description=_("The median length of the footage window of the requests sent that month."),
    unit=Unit.MINUTES,
)
def footage_median_window_minutes(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    windows = _footage_requests(agency, start, end).annotate(
        length=F("window_end") - F("window_start")
    )
    return _median([w.length.total_seconds() / 60 for w in windows])


@metric(
    "footage_median_days_to_answer",
    title=_("Median days for an owner to answer"),
    description=_(
        "From the request being sent to each owner's answer (footage, no footage or declined), "
        "for the requests sent that month."
    ),
    unit=Unit.DAYS,
    goal=True,
    restated=True,
)
def footage_median_days_to_answer(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    answered = FootageRequestCamera.objects.filter(
        request__in=_footage_requests(agency, start, end),
        status__in=FootageRequestCamera.ANSWERED,
        answered_at__isnull=False,
    ).values_list("answered_at", "request__sent_at")
    return _median([(at - sent).total_seconds() / 86400 for at, sent in answered if at and sent])


@metric(
    "bwc_recordings",
    title=_("Body-camera recordings, by what started them"),
    description=_(
        "Recordings body cameras announced, counted in the month they started, by the "
        "trigger the camera named (button, CAD, a sensor, ...)."
    ),
)
def bwc_recordings(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        Recording.objects.filter(agency=agency, started_at__gte=start, started_at__lt=end)
        .values("trigger_on_source")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "trigger_on_source")


@metric(
    "bwc_hours_recorded",
    title=_("Body-camera hours recorded"),
    description=_("The total length of the recordings that started that month."),
    unit=Unit.HOURS,
)
def bwc_hours_recorded(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    recordings = Recording.objects.filter(
        agency=agency, started_at__gte=start, started_at__lt=end
    ).aggregate(n=Count("id"), length=Sum(F("stopped_at") - F("started_at")))
    if not recordings["n"]:
        return _total(0)
    hours = recordings["length"].total_seconds() / 3600
    return {"": (round(hours, 1), recordings["n"])}


@metric(
    "bwc_activations",
    title=_("Activation triggers received, by type"),
    description=_(
        "Triggers from sensors and systems (a TASER armed, a holster drawn, Watch Me, ...) that "
        "told cameras to record or raised an alert, counted in the month received."
    ),
    labels=TRIGGER_LABELS,
)
def bwc_activations(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        Trigger.objects.filter(agency=agency, received_at__gte=start, received_at__lt=end)
        .values("kind")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "kind")


@metric(
    "alerts",
    title=_("Alerts, by type"),
    description=_("Alerts raised on the operations page, counted in the month raised."),
    labels=TRIGGER_LABELS,
)
def alerts(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        Alert.objects.filter(agency=agency, raised_at__gte=start, raised_at__lt=end)
        .values("kind")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "kind")


@metric(
    "alerts_false_percent",
    title=_("Share of alerts marked false"),
    description=_("Of the alerts raised that month, the share someone marked a false alarm."),
    unit=Unit.PERCENT,
    goal=True,
)
def alerts_false_percent(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    raised = Alert.objects.filter(agency=agency, raised_at__gte=start, raised_at__lt=end)
    total = raised.count()
    if not total:
        return {}
    false = raised.filter(state=Alert.State.FALSE).count()
    return {"": (round(100 * false / total, 1), total)}


@metric(
    "tips_received",
    title=_("Tips received"),
    description=_("Anonymous tips received, counted in the month received."),
)
def tips_received(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    return _total(
        Tip.objects.filter(agency=agency, received_at__gte=start, received_at__lt=end).count()
    )


@metric(
    "tips_actioned",
    title=_("Tips actioned"),
    description=_(
        "Tips investigators marked actionable (audit action tip.transitioned to "
        "“actionable”), each tip once, in the month it was marked."
    ),
)
def tips_actioned(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    n = (
        _events(agency, start, end, "tip.transitioned")
        .filter(details__new=TipStatus.ACTIONABLE)
        .values("target_id")
        .distinct()
        .count()
    )
    return _total(n)


@metric(
    "prosecutor_shares",
    title=_("Cases shared with prosecutors"),
    description=_("Shares of a case with a prosecuting office (audit action share.created)."),
)
def prosecutor_shares(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    return _total(_events(agency, start, end, "share.created").count())


@metric(
    "deletions",
    title=_("Evidence deleted, by how"),
    description=_(
        "Evidence items whose files were deleted (audit action evidence.deleted): by the "
        "retention schedule, or by hand with a second person's approval."
    ),
    labels={"retention": _("By the retention schedule"), "two_person": _("By two-person approval")},
)
def deletions(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    deleted = _events(agency, start, end, "evidence.deleted")
    by_retention = deleted.filter(actor__isnull=True, details__has_key="category").count()
    by_approval = deleted.filter(details__has_key="approved_by").count()
    total = deleted.count()
    return {
        "retention": (float(by_retention), by_retention),
        "two_person": (float(by_approval), by_approval),
        "": (float(total), total),
    }


@metric(
    "legal_holds",
    title=_("Legal holds placed and lifted"),
    description=_(
        "Legal holds placed on or lifted from evidence (audit action evidence.legal_hold_set)."
    ),
    labels={"placed": _("Placed"), "lifted": _("Lifted")},
)
def legal_holds(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    holds = _events(agency, start, end, "evidence.legal_hold_set")
    placed = holds.filter(details__legal_hold=True).count()
    lifted = holds.filter(details__legal_hold=False).count()
    return {
        "placed": (float(placed), placed),
        "lifted": (float(lifted), lifted),
        "": (float(placed + lifted), placed + lifted),
    }


LIVE_VIEW_ASKED_BY: dict[str, str | Promise] = {
    "officer_requested": _("Requested by the officer (Watch me)"),
    "staff_initiated": _("Started by staff"),
}


def _live_views(agency: Agency, start: dt.datetime, end: dt.datetime) -> QuerySet[ViewSession]:
    """Live views of the agency's feeds, by the time they started."""
    return ViewSession.objects.filter(agency=agency, started_at__gte=start, started_at__lt=end)


@metric(
    "live_view_sessions",
    title=_("Live-view sessions, by who asked for them"),
    description=_(
        "Live views opened (each needs a reason and a case or incident number), counted in the "
        "month they started: requested by the officer wearing the camera (Watch me) or started "
        "by a supervisor or dispatcher. Refused attempts are not counted."
    ),
    labels=LIVE_VIEW_ASKED_BY,
)
def live_view_sessions(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    n = _live_views(agency, start, end).aggregate(
        officer=Count("id", filter=Q(alert__isnull=False)),
        staff=Count("id", filter=Q(alert__isnull=True)),
    )
    return _counts(
        [
            {"asked_by": "officer_requested", "n": n["officer"]},
            {"asked_by": "staff_initiated", "n": n["staff"]},
        ],
        "asked_by",
    )


LIVE_VIEW_REASONS: dict[str, str | Promise] = {
    "officer_safety": _("Officer safety"),
    "incident": _("Incident in progress"),
    "investigation": _("Investigation of a case"),
    "missing_person": _("Missing or vulnerable person"),
    "officer_requested": _("Officer asked to be watched (Watch me)"),
    "other": _("Other"),
    "unspecified": _("Not recorded (before categories)"),
}


@metric(
    "live_view_reasons",
    title=_("Live-view sessions by reason category"),
    description=_(
        "Live views opened, counted in the month they started, by the category the viewer "
        "chose from a fixed list when starting (the free-text reason is never published). "
        "Views opened before categories existed are counted as not recorded."
    ),
    labels=LIVE_VIEW_REASONS,
)
def live_view_reasons(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = _live_views(agency, start, end).values("reason_category").annotate(n=Count("id"))
    return _counts(rows, "reason_category")


@metric(
    "live_view_minutes",
    title=_("Minutes of live view watched"),
    description=_(
        "The total length of the live views that started that month and have ended, from "
        "opening to being stopped, revoked or expiring."
    ),
    unit=Unit.MINUTES,
)
def live_view_minutes(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    ended = _live_views(agency, start, end).filter(ended_at__isnull=False)
    views = ended.aggregate(n=Count("id"), length=Sum(F("ended_at") - F("started_at")))
    if not views["n"]:
        return _total(0)
    return {"": (round(views["length"].total_seconds() / 60, 1), views["n"])}


@metric(
    "live_view_officer_requested_percent",
    title=_("Share of live views requested by the officer"),
    description=_(
        "Of the live views started that month, the share the officer wearing the camera asked "
        "for with Watch me."
    ),
    unit=Unit.PERCENT,
)
def live_view_officer_requested_percent(
    agency: Agency, start: dt.datetime, end: dt.datetime
) -> Figures:
    views = _live_views(agency, start, end)
    total = views.count()
    if not total:
        return {}
    requested = views.filter(alert__isnull=False).count()
    return {"": (round(100 * requested / total, 1), total)}


@metric(
    "live_clips_saved",
    title=_("Live clips saved into evidence"),
    description=_(
        "Clips cut from a live feed's recent minutes and filed into a case (audit action "
        "livefeeds.clip_saved), counted in the month saved. Each is a secondary copy: the "
        "camera's own recording remains the evidence."
    ),
)
def live_clips_saved(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    return _total(_events(agency, start, end, "livefeeds.clip_saved").count())


@metric(
    "review_items_drawn",
    title=_("Items drawn for community review"),
    description=_(
        "Registry searches, body-camera recordings and live-view sessions drawn at random into "
        "the monthly sample "
        "the community review panel examines (from a published seed), by kind; counted in the "
        "month the sample was drawn."
    ),
    labels={name: kind.label for name, kind in REVIEW_KINDS.items()},
)
def review_items_drawn(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        SampledItem.objects.filter(
            sample__agency=agency, sample__drawn_at__gte=start, sample__drawn_at__lt=end
        )
        .values("kind")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "kind")


@metric(
    "review_findings",
    title=_("Community review findings"),
    description=_(
        "Findings the community review panel recorded on the items drawn for it, by kind of "
        "item and outcome (within policy, concern, serious concern); counted in the month the "
        "finding was recorded. Each reviewer records one finding per item."
    ),
    labels={
        f"{name}.{outcome}": format_lazy("{}: {}", kind.label, label)
        for name, kind in REVIEW_KINDS.items()
        for outcome, label in Outcome.choices
    },
)
def review_findings(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    rows = (
        Finding.objects.filter(
            item__sample__agency=agency, recorded_at__gte=start, recorded_at__lt=end
        )
        .annotate(dimension=Concat("item__kind", Value("."), "outcome"))
        .values("dimension")
        .annotate(n=Count("id"))
    )
    return _counts(rows, "dimension")


# --- goal metrics: shown in public only through a goal the agency publishes -------------------


def _shift_units(rows: list[tuple[Any, Any, dt.datetime]]) -> dict[Any, str]:
    """{recording id: the CAD unit its camera was checked out as when it started}, for rows of
    (recording id, device id, started_at); the rule devices.services.cad files recordings by
    (the latest check-out at or before the start, not checked in before it)."""
    if not rows:
        return {}
    first = min(r[2] for r in rows)
    last = max(r[2] for r in rows)
    shifts: dict[Any, list[tuple[str, dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for device_id, unit, out, back in (
        DeviceAssignment.objects.filter(
            device_id__in={r[1] for r in rows}, checked_out_at__lte=last
        )
        .filter(Q(checked_in_at__isnull=True) | Q(checked_in_at__gte=first))
        .exclude(unit="")
        .order_by("-checked_out_at")
        .values_list("device_id", "unit", "checked_out_at", "checked_in_at")
    ):
        shifts[device_id].append((unit, out, back))
    units: dict[Any, str] = {}
    for pk, device_id, started in rows:
        for unit, out, back in shifts.get(device_id, ()):
            if out <= started and (back is None or started <= back):
                units[pk] = unit
                break
    return units


def _shares(counts: dict[str, list[int]]) -> Figures:
    """{dimension: (percent, basis)} from {dimension: [hits, of]}, skipping empty ones."""
    return {d: (round(100 * hit / of, 1), of) for d, (hit, of) in counts.items() if of}


@metric(
    "cad_incidents_recorded_percent",
    title=_("Share of dispatched incidents with a body-camera recording"),
    description=_(
        "Of the CAD incidents dispatched that month, the share with at least one body-camera "
        "recording: one tagged with the incident's number (by the camera, or by CAD "
        "auto-tagging), or one made by a camera checked out to a dispatched unit that overlaps "
        "the dispatched-to-cleared window (to now while the incident is open), the rule "
        "auto-tagging files recordings by. By unit: of the incidents a unit was dispatched to, "
        "the share its own cameras recorded."
    ),
    unit=Unit.PERCENT,
    breakdown="unit",
    page=False,
    goal=True,
    restated=True,
)
def cad_incidents_recorded_percent(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    now = timezone.now()
    incidents = [
        (str(number), [str(u)[:80] for u in units or [] if str(u)], sent, cleared or now)
        for number, units, sent, cleared in CadIncident.objects.filter(
            agency=agency, dispatched_at__gte=start, dispatched_at__lt=end
        ).values_list("incident_id", "units", "dispatched_at", "cleared_at")
    ]
    if not incidents:
        return {}
    latest = max(i[3] for i in incidents)
    recordings = list(
        Recording.objects.filter(
            Q(started_at__lte=latest, stopped_at__gte=start)
            | Q(cad_event_id__in=[i[0] for i in incidents]),
            agency=agency,
        ).values_list("id", "device_id", "started_at", "stopped_at", "cad_event_id")
    )
    units = _shift_units([(r[0], r[1], r[2]) for r in recordings])
    by_unit: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    tagged: dict[str, set[str]] = defaultdict(set)  # incident number -> units that recorded
    for pk, _device, started, stopped, number in recordings:
        if pk in units:
            by_unit[units[pk]].append((started, stopped))
        if number:
            tagged[number].add(units.get(pk, ""))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for number, dispatched, sent, until in incidents:
        recorded = {
            u for u in dispatched if any(s <= until and e >= sent for s, e in by_unit.get(u, ()))
        } | tagged.get(number, set())
        counts[""][0] += bool(recorded)
        counts[""][1] += 1
        for u in set(dispatched):
            counts[u][0] += u in recorded
            counts[u][1] += 1
    return _shares(counts)


@metric(
    "footage_median_hours_to_first_answer",
    title=_("Median time to the first footage answer"),
    description=_(
        "For the footage requests sent that month, the hours from sending to the first answer "
        "from any owner asked (footage, no footage or declined). A request nobody has answered "
        "is not in the median; the table of cameras asked counts those."
    ),
    unit=Unit.HOURS,
    page=False,
    goal=True,
    restated=True,
)
def footage_median_hours_to_first_answer(
    agency: Agency, start: dt.datetime, end: dt.datetime
) -> Figures:
    firsts = (
        FootageRequestCamera.objects.filter(
            request__in=_footage_requests(agency, start, end),
            status__in=FootageRequestCamera.ANSWERED,
            answered_at__isnull=False,
        )
        .values("request_id", "request__sent_at")
        .annotate(first=Min("answered_at"))
    )
    return _median(
        [(row["first"] - row["request__sent_at"]).total_seconds() / 3600 for row in firsts]
    )


@metric(
    "tips_actioned_percent",
    title=_("Share of tips actioned"),
    description=_(
        "Of the tips received that month, the share investigators have marked actionable so "
        "far (audit action tip.transitioned to “actionable”, at any time after)."
    ),
    unit=Unit.PERCENT,
    page=False,
    goal=True,
    restated=True,
)
def tips_actioned_percent(agency: Agency, start: dt.datetime, end: dt.datetime) -> Figures:
    # Tip audit rows name the tip by its public reference.
    tips = list(
        Tip.objects.filter(agency=agency, received_at__gte=start, received_at__lt=end).values_list(
            "reference", flat=True
        )
    )
    if not tips:
        return {}
    actioned = (
        AuditEvent.objects.filter(
            agency=agency,
            action="tip.transitioned",
            outcome=AuditEvent.Outcome.SUCCESS,
            target_type=Tip._meta.label_lower,
            target_id__in=tips,
            details__new=TipStatus.ACTIONABLE,
        )
        .values("target_id")
        .distinct()
        .count()
    )
    return {"": (round(100 * actioned / len(tips), 1), len(tips))}


@metric(
    "recordings_uncategorised_percent",
    title=_("Share of recordings left without a category"),
    description=_(
        "Of the body-camera recordings that started that month and whose video has arrived, "
        "the share whose evidence item has no retention category now. Recordings still on the "
        "camera are not counted. By unit: the unit the camera was checked out as when the "
        "recording started."
    ),
    unit=Unit.PERCENT,
    breakdown="unit",
    page=False,
    goal=True,
    restated=True,
)
def recordings_uncategorised_percent(
    agency: Agency, start: dt.datetime, end: dt.datetime
) -> Figures:
    rows = list(
        Recording.objects.filter(
            agency=agency, started_at__gte=start, started_at__lt=end, item__isnull=False
        ).values_list("id", "device_id", "started_at", "item__retention_category_id")
    )
    units = _shift_units([(r[0], r[1], r[2]) for r in rows])
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pk, _device, _started, category in rows:
        for d in ("", units.get(pk)):
            if d is not None:
                counts[d][0] += category is None
                counts[d][1] += 1
    return _shares(counts)
