"""Materialising the monthly figures: every metric recomputed from recorded facts, idempotently.

A month's rows for an agency are replaced whole in one transaction, so running it again (the
beat job runs the current and the previous month every hour) gives the same rows, and a
reader never sees a half-written month.
"""

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from devices.models import CadIncident, Recording, Trigger
from portal.audit import audit_record
from portal.models import Agency, AuditEvent, User
from portal.roles import AgencyKind
from registry.models import FootageRequest
from submissions.models import Tip
from transparency import audit_actions
from transparency.metrics import GOALS_NOT_YET, METRICS, Metric, Unit, goal_metrics
from transparency.models import Goal, MonthlyFigure


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(*, agency: Agency, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as a half-open range of instants, in the agency's own time zone."""
    zone = zoneinfo.ZoneInfo(agency.time_zone)
    start = dt.datetime.combine(month_start(month), dt.time(), tzinfo=zone)
    end = dt.datetime.combine(month_add(month_start(month), 1), dt.time(), tzinfo=zone)
    return start, end


def current_month(*, agency: Agency, now: dt.datetime | None = None) -> dt.date:
    now = now or timezone.now()
    return month_start(now.astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date())


def published_agencies() -> list[Agency]:
    """The agencies with a transparency page: police agencies (a prosecuting office asks
    nothing of the community and wears no cameras)."""
    return list(Agency.objects.filter(kind=AgencyKind.POLICE).order_by("name"))


# How many months back the beat job recomputes the metrics whose earlier months can change.
RESTATED_MONTHS = 12


@transaction.atomic
def figures_materialise(
    *, agency: Agency, month: dt.date, metrics: list[Metric] | None = None
) -> int:
    """Recompute every metric (or those given) of one agency and month and replace the
    stored rows."""
    month = month_start(month)
    start, end = month_range(agency=agency, month=month)
    now = timezone.now()
    chosen = list(METRICS.values()) if metrics is None else metrics
    rows = [
        MonthlyFigure(
            agency=agency,
            month=month,
            metric=m.name,
            dimension=dimension,
            value=value,
            basis=basis,
            computed_at=now,
        )
        for m in chosen
        for dimension, (value, basis) in m.compute(agency, start, end).items()
    ]
    MonthlyFigure.objects.filter(
        agency=agency, month=month, metric__in=[m.name for m in chosen]
    ).delete()
    MonthlyFigure.objects.bulk_create(rows)
    return len(rows)


def figures_materialise_recent(*, now: dt.datetime | None = None) -> int:
    """The beat job: the current and the previous month of every published agency, and the
    earlier months of the year for the metrics whose past can still change."""
    written = 0
    restated = [m for m in METRICS.values() if m.restated]
    for agency in published_agencies():
        this = current_month(agency=agency, now=now)
        for back in range(RESTATED_MONTHS - 1, 1, -1):
            written += figures_materialise(
                agency=agency, month=month_add(this, -back), metrics=restated
            )
        for month in (month_add(this, -1), this):
            written += figures_materialise(agency=agency, month=month)
        goal_baselines_refresh(agency=agency)
    return written


def first_fact_month(*, agency: Agency) -> dt.date:
    """The month of the agency's earliest recorded fact any metric reads (or its creation)."""
    candidates = [
        agency.created_at,
        AuditEvent.objects.filter(agency=agency).aggregate(m=Min("at"))["m"],
        FootageRequest.objects.filter(agency=agency).aggregate(m=Min("sent_at"))["m"],
        Recording.objects.filter(agency=agency).aggregate(m=Min("started_at"))["m"],
        Trigger.objects.filter(agency=agency).aggregate(m=Min("received_at"))["m"],
        CadIncident.objects.filter(agency=agency).aggregate(m=Min("dispatched_at"))["m"],
        Tip.objects.filter(agency=agency).aggregate(m=Min("received_at"))["m"],
    ]
    earliest = min(c for c in candidates if c is not None)
    return month_start(earliest.astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date())


def figures_backfill(*, agency: Agency, now: dt.datetime | None = None) -> int:
    """Every month from the agency's first recorded fact to now (the management command)."""
    month, last = first_fact_month(agency=agency), current_month(agency=agency, now=now)
    written = 0
    while month <= last:
        written += figures_materialise(agency=agency, month=month)
        month = month_add(month, 1)
    return written


# --- goals --------------------------------------------------------------------------------------

TITLE_MAX, WHY_MAX = 120, 1000
# A target beyond these is a typing slip, not a goal: a share is 0-100 %, a time or a count
# is never negative.
TARGET_MAX = 1_000_000.0
PERIOD_MAX_MONTHS = 60


@dataclass(frozen=True)
class GoalInput:
    """What a supervisor sets; the baseline's value is never among it (it is computed)."""

    title: str
    why: str
    metric: str
    direction: str
    target_value: float
    period_start: dt.date
    period_end: dt.date
    baseline_start: dt.date
    baseline_end: dt.date
    public: bool


def _months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def goal_baseline_compute(
    *, agency: Agency, metric: Metric, start: dt.date, end: dt.date
) -> tuple[float | None, int]:
    """The metric over the whole baseline period at once (a share or a median of all its facts,
    not an average of monthly values): (value, basis), or (None, 0) without facts."""
    since, _ = month_range(agency=agency, month=start)
    _, until = month_range(agency=agency, month=end)
    value, basis = metric.compute(agency, since, until).get("", (0.0, 0))
    return (value, basis) if basis else (None, 0)


def goal_validate(*, agency: Agency, data: GoalInput, now: dt.datetime | None = None) -> Metric:
    """The goal's metric when every field is acceptable; else ValidationError naming each
    field that is not, in words a supervisor can act on."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    title = data.title.strip()
    if not title:
        add("title", "Give the goal a title.")
    elif len(title) > TITLE_MAX:
        add("title", f"Keep the title to {TITLE_MAX} characters (it has {len(title)}).")
    if any(ord(c) < 32 for c in title):
        add("title", "The title cannot hold line breaks or control characters.")
    if len(data.why) > WHY_MAX:
        add("why", f"Keep the explanation to {WHY_MAX} characters (it has {len(data.why)}).")
    chosen = next((m for m in goal_metrics() if m.name == data.metric), None)
    if chosen is None:
        not_yet = next((n for n in GOALS_NOT_YET if n.name == data.metric), None)
        add(
            "metric",
            str(not_yet.why)
            if not_yet
            else "Choose one of the metrics Canvass computes (the list on this page).",
        )
    if data.direction not in Goal.Direction.values:
        add("direction", "Say whether higher or lower is better.")
    target = data.target_value
    if not math.isfinite(target):
        add("target_value", "The target must be a number.")
    elif chosen is not None and chosen.unit == Unit.PERCENT and not 0 <= target <= 100:
        add("target_value", "A share is between 0 and 100 %.")
    elif not 0 <= target <= TARGET_MAX:
        add("target_value", f"The target must be between 0 and {TARGET_MAX:,.0f}.")
    if data.period_end < data.period_start:
        add("period_end", "The period ends before it starts.")
    elif _months_between(data.period_start, data.period_end) > PERIOD_MAX_MONTHS:
        add("period_end", f"A goal's period is at most {PERIOD_MAX_MONTHS} months.")
    this = current_month(agency=agency, now=now)
    if data.baseline_end < data.baseline_start:
        add("baseline_end", "The baseline period ends before it starts.")
    elif data.baseline_end >= this:
        add("baseline_end", "Measure the baseline over months that have ended.")
    elif data.baseline_end >= data.period_start:
        add("baseline_end", "The baseline is measured before the goal's period starts.")
    elif _months_between(data.baseline_start, data.baseline_end) > PERIOD_MAX_MONTHS:
        add("baseline_start", f"A baseline period is at most {PERIOD_MAX_MONTHS} months.")
    if errors:
        raise ValidationError(errors)
    assert chosen is not None  # noqa: S101 - an unknown metric raised above
    return chosen


def _baseline_set(goal: Goal, metric: Metric, *, now: dt.datetime) -> None:
    value, basis = goal_baseline_compute(
        agency=goal.agency, metric=metric, start=goal.baseline_start, end=goal.baseline_end
    )
    if value is None:
        raise ValidationError(
            {
                "baseline_start": (
                    f"Nothing was recorded for “{metric.title}” in the baseline period, so "
                    "there is no baseline: choose months with recorded facts."
                )
            }
        )
    goal.baseline_value, goal.baseline_basis, goal.baseline_computed_at = value, basis, now


def _goal_fields(goal: Goal) -> dict[str, Any]:
    """What the audit row keeps of a goal (the why is plain text the agency wrote)."""
    return {
        "title": goal.title,
        "why": goal.why,
        "metric": goal.metric,
        "direction": goal.direction,
        "target_value": goal.target_value,
        "period": [f"{goal.period_start:%Y-%m}", f"{goal.period_end:%Y-%m}"],
        "baseline_period": [f"{goal.baseline_start:%Y-%m}", f"{goal.baseline_end:%Y-%m}"],
        "baseline_value": goal.baseline_value,
        "public": goal.public,
    }


def _require_manager(actor: User) -> Agency:
    from transparency.policies import can_manage_goals

    if not can_manage_goals(actor) or actor.agency is None:
        raise PermissionDenied
    return actor.agency


def _apply(goal: Goal, data: GoalInput) -> None:
    goal.title = data.title.strip()
    goal.why = data.why.strip()
    goal.metric = data.metric
    goal.direction = data.direction
    goal.target_value = data.target_value
    goal.period_start = month_start(data.period_start)
    goal.period_end = month_start(data.period_end)
    goal.baseline_start = month_start(data.baseline_start)
    goal.baseline_end = month_start(data.baseline_end)
    goal.public = data.public


@transaction.atomic
def goal_create(*, actor: User, data: GoalInput) -> Goal:
    """Set a goal for the actor's agency; its baseline is computed from the recorded history."""
    agency = _require_manager(actor)
    metric = goal_validate(agency=agency, data=data)
    goal = Goal(agency=agency, created_by=actor)
    _apply(goal, data)
    _baseline_set(goal, metric, now=timezone.now())
    goal.save()
    audit_record(
        action=audit_actions.GOAL_CREATED.name,
        actor=actor,
        target=goal,
        details=_goal_fields(goal),
    )
    return goal


@transaction.atomic
def goal_update(*, actor: User, goal: Goal, data: GoalInput) -> Goal:
    """Change a goal (not a retired one); the audit row keeps what it was and what it is."""
    agency = _require_manager(actor)
    locked = Goal.objects.select_for_update().get(pk=goal.pk, agency=agency)
    if locked.retired_at is not None:
        raise ValidationError("A retired goal is kept as it was; set a new one instead.")
    metric = goal_validate(agency=agency, data=data)
    before = _goal_fields(locked)
    _apply(locked, data)
    _baseline_set(locked, metric, now=timezone.now())
    after = _goal_fields(locked)
    changed = {k: {"old": before[k], "new": v} for k, v in after.items() if before[k] != v}
    if changed:
        locked.save()
        audit_record(
            action=audit_actions.GOAL_UPDATED.name,
            actor=actor,
            target=locked,
            details={"changed": changed},
        )
    return locked


@transaction.atomic
def goal_retire(*, actor: User, goal: Goal) -> Goal:
    """Retire a goal: kept and shown as retired, no longer public; not undone."""
    agency = _require_manager(actor)
    locked = Goal.objects.select_for_update().get(pk=goal.pk, agency=agency)
    if locked.retired_at is not None:
        return locked
    locked.retired_at = timezone.now()
    locked.public = False
    locked.save(update_fields=["retired_at", "public", "updated_at"])
    audit_record(action=audit_actions.GOAL_RETIRED.name, actor=actor, target=locked)
    return locked


def goal_baselines_refresh(*, agency: Agency) -> int:
    """Recompute the baselines of the agency's active goals (their facts can still change, as
    the monthly figures' can); a metric no longer registered leaves its goal as it was."""
    refreshed = 0
    now = timezone.now()
    for goal in Goal.objects.filter(agency=agency, retired_at__isnull=True):
        metric = METRICS.get(goal.metric)
        if metric is None:
            continue
        value, basis = goal_baseline_compute(
            agency=agency, metric=metric, start=goal.baseline_start, end=goal.baseline_end
        )
        Goal.objects.filter(pk=goal.pk).update(
            baseline_value=value, baseline_basis=basis, baseline_computed_at=now
        )
        refreshed += 1
    return refreshed
