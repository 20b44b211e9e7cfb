"""What the public transparency page shows, read from materialised figures and recorded facts.

Every output (the page, CSV, JSON) goes through `published_value`, so the small-count rule is
applied once, the same way everywhere.
"""

import datetime as dt
import math
import statistics
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from devices.policies import OPERATE
from evidence.models import Case, RetentionCategory
from evidence.policies import VIEW_EVIDENCE
from portal.audit import registered_actions
from portal.models import Agency, User
from portal.roles import ROLE_AGENCY_KINDS, AgencyKind, Cap, Role, capabilities_of
from registry.footage.policies import APPROVE_FOOTAGE_REQUESTS, REQUEST_FOOTAGE
from registry.models import FootageRequest, FootageRequestCamera, RegistryPolicy
from registry.policies import SEARCH_CAMERAS
from review.policies import REVIEW_ITEMS
from transparency.metrics import METRICS, NOT_YET, OUTCOMES, Metric, NotYet, Unit, page_metrics
from transparency.models import Goal, MonthlyFigure
from transparency.services import current_month, month_add

# Counts from 1 to SMALL_COUNT_BELOW - 1 are published as "fewer than 5".
SMALL_COUNT_BELOW = 5
SUPPRESSED = "<5"
# A count that is not small but is hidden too, because with the total it would give away the
# one small count beside it (total minus the others).
WITHHELD = "withheld"
MONTHS_SHOWN = 12


def published_value(*, value: float, basis: int, unit: str) -> float | int | str:
    """The figure as published: a count of 1-4 is SUPPRESSED; a median or a share standing on
    1-4 facts is WITHHELD (its value is not small, so "<5" would misread); 0 stays 0."""
    if 0 < basis < SMALL_COUNT_BELOW:
        return SUPPRESSED if unit == Unit.COUNT else WITHHELD
    if unit == Unit.COUNT:
        return int(value)
    return value


def published_count(n: int) -> int | str:
    """A count of facts about people (cameras asked, owners' answers), under the same rule."""
    return SUPPRESSED if 0 < n < SMALL_COUNT_BELOW else n


def protect_breakdown(cells: dict[str, Any], total: Any) -> dict[str, Any]:
    """Secondary suppression. Beside a published total, a part shown as "fewer than 5" can be
    worked out: the total minus the parts shown exactly, and even from ranges (a total of 6
    with one part under 5 and one withheld, so at least 5, is 1 + 5). So when any part of a
    published total is small, every non-zero part is withheld alike: the reader learns the
    total and which parts are zero, nothing that pins a part down. (One non-zero part alone
    equals the total, so it is never small beside a published one.)"""
    if not isinstance(total, int) or SUPPRESSED not in cells.values():
        return cells
    return {
        k: WITHHELD if v == SUPPRESSED or (isinstance(v, int | float) and v > 0) else v
        for k, v in cells.items()
    }


# --- the monthly figures -----------------------------------------------------------------------


@dataclass
class MetricTable:
    metric: Metric
    months: list[dt.date]
    # Column keys, the total ("") first, then the dimensions in the order of their totals.
    dimensions: list[str]
    # cells[dimension][month index] -> published value, or None where nothing was recorded.
    cells: dict[str, list[float | int | str | None]] = field(default_factory=dict)

    def label(self, dimension: str) -> str | Promise:
        if dimension == "":
            return _("Total") if self.metric.unit == Unit.COUNT else self.metric.title
        return self.metric.labels.get(dimension, dimension.replace("_", " "))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One row a month, newest first: {"month", "cells": [(dimension, value), ...]}.

        Months with no materialised figure at all (before the agency's first fact) are left out
        of the table; the chart still spans the year.
        """
        return [
            {"month": month, "cells": [(d, self.cells[d][i]) for d in self.dimensions]}
            for i, month in reversed(list(enumerate(self.months)))
            if any(self.cells[d][i] is not None for d in self.dimensions)
        ]


def months_shown(*, agency: Agency, now: dt.datetime | None = None) -> list[dt.date]:
    this = current_month(agency=agency, now=now)
    return [month_add(this, -back) for back in range(MONTHS_SHOWN - 1, -1, -1)]


def metric_tables(*, agency: Agency, months: list[dt.date]) -> list[MetricTable]:
    """Every metric of the page over `months`, from the materialised table only."""
    stored: dict[str, dict[str, dict[dt.date, tuple[float, int]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    rows = MonthlyFigure.objects.filter(
        agency=agency, month__gte=months[0], month__lte=months[-1]
    ).values_list("metric", "dimension", "month", "value", "basis")
    for name, dimension, month, value, basis in rows:
        stored[name][dimension][month] = (value, basis)
    tables = []
    for metric in page_metrics():
        by_dimension = stored.get(metric.name, {})
        totals = {
            d: sum(basis for _v, basis in by_month.values()) for d, by_month in by_dimension.items()
        }
        dimensions = [""] + sorted((d for d in by_dimension if d), key=lambda d: (-totals[d], d))
        table = MetricTable(metric=metric, months=months, dimensions=dimensions)
        for d in dimensions:
            by_month = by_dimension.get(d, {})
            table.cells[d] = [
                published_value(value=by_month[m][0], basis=by_month[m][1], unit=metric.unit)
                if m in by_month
                else None
                for m in months
            ]
        if metric.unit == Unit.COUNT and len(dimensions) > 1:
            for i in range(len(months)):
                parts = {d: table.cells[d][i] for d in dimensions[1:]}
                for d, value in protect_breakdown(parts, table.cells[""][i]).items():
                    table.cells[d][i] = value
        tables.append(table)
    return tables


def figures_rows(*, agency: Agency, months: list[dt.date]) -> list[dict[str, Any]]:
    """The figures in long form for CSV and JSON: one row per metric, month and dimension."""
    rows = []
    for table in metric_tables(agency=agency, months=months):
        for i, month in enumerate(months):
            for d in table.dimensions:
                value = table.cells[d][i]
                if value is None:
                    continue
                rows.append(
                    {
                        "month": f"{month:%Y-%m}",
                        "metric": table.metric.name,
                        "dimension": d,
                        "unit": table.metric.unit,
                        "value": value,
                    }
                )
    return rows


def figures_computed_at(*, agency: Agency) -> dt.datetime | None:
    """When the agency's figures were last materialised (shown on the page)."""
    latest: dt.datetime | None = MonthlyFigure.objects.filter(agency=agency).aggregate(
        at=Max("computed_at")
    )["at"]
    return latest


def not_yet() -> list[NotYet]:
    return list(NOT_YET)


# --- the SVG chart -------------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 360, 150, 18, 20


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    short_month: str
    text_x: float
    text_y: float
    value_text: str
    suppressed: bool


def chart_bars(table: MetricTable, short_months: dict[dt.date, str]) -> list[Bar]:
    """Geometry of a bar chart of the table's totals, one bar a month; drawn by the template.

    A suppressed month gets no bar (its height would tell the count), only its label.
    """
    totals = table.cells[""]
    numbers = [v for v in totals if isinstance(v, int | float)]  # totals are never withheld
    top = max(numbers, default=0) or 1
    slot = CHART_WIDTH / len(totals)
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bars: list[Bar] = []
    for month, value in zip(table.months, totals, strict=True):
        i = len(bars)
        numeric = isinstance(value, int | float)
        height = plot * float(value) / top if numeric else 0.0  # type: ignore[arg-type]
        bars.append(
            Bar(
                x=round(i * slot + slot * 0.15, 1),
                y=round(CHART_TOP + plot - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                short_month=short_months[month],
                text_x=round(i * slot + slot / 2, 1),
                text_y=round(CHART_TOP + plot - height - 4, 1),
                value_text="" if value is None else "–" if value == WITHHELD else str(value),
                suppressed=value in (SUPPRESSED, WITHHELD),
            )
        )
    return bars


# --- the published policy ---------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    what: str | Promise
    roles: list[str]


def retention_policy(*, agency: Agency) -> list[dict[str, Any]]:
    """Retention per evidence category, as the agency configured it."""
    return [
        {"category": c.name, "days": c.days}
        for c in RetentionCategory.objects.filter(agency=agency).order_by("name")
    ]


def permissions() -> list[Permission]:
    """Which roles of a police agency may search, ask, watch or read the log: the capability
    map every page and service checks, so it cannot drift from what the software does."""
    police_roles = [r for r in Role if AgencyKind.POLICE in ROLE_AGENCY_KINDS.get(r, set())]
    asked = [
        (SEARCH_CAMERAS, _("Search the camera registry (with a case number and a reason)")),
        (REQUEST_FOOTAGE, _("Ask camera owners for footage")),
        (APPROVE_FOOTAGE_REQUESTS, _("Approve footage requests over the window cap")),
        (VIEW_EVIDENCE, _("View and play evidence, including body-camera recordings")),
        (OPERATE, _("Watch the operations page (alerts and where recording officers are)")),
        (Cap.VIEW_AUDIT_LOG, _("Read the audit log")),
        (
            REVIEW_ITEMS,
            _("Review the monthly random sample (its details only, for a limited time)"),
        ),
    ]
    return [
        Permission(what, [r.value for r in police_roles if capability in capabilities_of(r)])
        for capability, what in asked
    ]


def commitments(*, agency: Agency) -> list[str | Promise]:
    """What Canvass does not do, and the limits it enforces, from its settings and code."""
    found: list[str | Promise] = [
        _("Canvass has no face recognition and does not identify people in footage."),
    ]
    if apps.is_installed("livefeeds"):
        found.append(_("No live view without recording: every live view is recorded and audited."))
    else:
        found.append(_("Canvass has no live view: no camera is watched live through it."))
    needs = {a.name: a for a in registered_actions()}
    search = needs.get("registry.camera_search")
    if search is not None and search.needs_reason and search.needs_case:
        found.append(
            _("A registry search is refused without a case number and a reason; both are logged.")
        )
    cap = (
        RegistryPolicy.objects.filter(agency=agency)
        .values_list("max_window_minutes", flat=True)
        .first()
    )
    found.append(
        _(
            "A footage request for more than %(minutes)s minutes of video needs a supervisor's "
            "approval."
        )
        % {"minutes": cap if cap is not None else RegistryPolicy().max_window_minutes}
    )
    found.append(_("Camera owners decide whether to answer; an owner's answer is never required."))
    return found


# --- the public footage-request log ---------------------------------------------------------------


def grid_metres() -> int:
    """The log's area cells: TRANSPARENCY_GRID_METRES, never under 500 m."""
    return max(500, int(settings.TRANSPARENCY_GRID_METRES))


def grid_cell(*, lat: float, lon: float, metres: int) -> dict[str, Any]:
    """The cell of a square grid (side `metres`) holding the point; only its centre is shown.

    Rows are `metres` of latitude (111,320 m a degree); a row's columns are `metres` wide at
    the row's middle latitude. The point itself never leaves this function.
    """
    dlat = metres / 111_320
    row = math.floor(lat / dlat)
    centre_lat = (row + 0.5) * dlat
    dlon = metres / (111_320 * math.cos(math.radians(centre_lat)))
    col = math.floor(lon / dlon)
    return {
        "cell": f"{metres}m:{row}:{col}",
        "lat": round(centre_lat, 4),
        "lon": round((col + 0.5) * dlon, 4),
    }


def case_hash(*, agency: Agency, number: str) -> str:
    """A keyed hash of an open case's number: stable (rows of one case match), not reversible
    without the server's secret, different for the same number in two agencies."""
    digest = salted_hmac(
        "canvass.transparency.case", f"{agency.pk}:{number}", algorithm="sha256"
    ).hexdigest()
    return f"h:{digest[:16]}"


_FINAL = (*FootageRequestCamera.ANSWERED, FootageRequestCamera.Status.EXPIRED)


def _sent_requests(agency: Agency) -> QuerySet[FootageRequest]:
    """The agency's requests that reached owners, each with its cameras' answers counted."""
    return FootageRequest.objects.filter(agency=agency, status=FootageRequest.Status.SENT).annotate(
        asked=Count("cameras"),
        open_cameras=Count("cameras", filter=~Q(cameras__status__in=_FINAL)),
        last_answer=Max("cameras__answered_at"),
        expired=Count("cameras", filter=Q(cameras__status=FootageRequestCamera.Status.EXPIRED)),
    )


def footage_log(*, agency: Agency, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per footage request that reached owners, newest first (the newest `limit`
    only, when given): generated, never edited, nothing about owners (no names, no camera
    places, no answers that single one out)."""
    zone = zoneinfo.ZoneInfo(agency.time_zone)
    outcome_counts = {
        outcome: Count("cameras", filter=Q(cameras__status__in=statuses))
        for outcome, statuses in _statuses_by_outcome().items()
    }
    requests = (
        _sent_requests(agency)
        .select_related("search")
        .annotate(**outcome_counts)
        .order_by("-sent_at", "-id")
    )
    if limit is not None:
        # The newest `limit` first (an index), then their cameras counted: counting every
        # request's cameras to keep five took 294 ms at 50,000 requests.
        newest = FootageRequest.objects.filter(agency=agency, status=FootageRequest.Status.SENT)
        requests = requests.filter(pk__in=newest.order_by("-sent_at", "-id").values("pk")[:limit])
    shown = list(requests)
    closed_cases = set(
        Case.objects.filter(
            agency=agency,
            status=Case.Status.CLOSED,
            number__in={r.case_number for r in shown},
        ).values_list("number", flat=True)
    )
    metres = grid_metres()
    rows = []
    for r in shown:
        assert r.sent_at is not None  # noqa: S101 - sent requests have a sent time
        incident = r.search.incident if r.search is not None else None
        area = grid_cell(lat=incident.y, lon=incident.x, metres=metres) if incident else None
        rows.append(
            {
                "date": r.sent_at.astimezone(zone).date().isoformat(),
                "area_cell": area["cell"] if area else "",
                "area_lat": area["lat"] if area else None,
                "area_lon": area["lon"] if area else None,
                "window_minutes": round((r.window_end - r.window_start).total_seconds() / 60),
                "cameras_asked": published_count(r.asked),  # type: ignore[attr-defined]
                **protect_breakdown(
                    {o: published_count(getattr(r, o)) for o in outcome_counts},
                    published_count(r.asked),  # type: ignore[attr-defined]
                ),
                "days_to_close": _days_to_close(r),
                "case": r.case_number
                if r.case_number in closed_cases
                else case_hash(agency=agency, number=r.case_number),
            }
        )
    return rows


def _statuses_by_outcome() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for status, outcome in OUTCOMES.items():
        grouped[outcome].append(status)
    return dict(grouped)


def _days_to_close(r: Any) -> int | None:
    """Days from sending to the last camera's answer (an unanswered camera closes at the
    deadline); None while any camera is still waiting."""
    if r.open_cameras or not r.asked:
        return None
    closed = max(t for t in (r.last_answer, r.deadline if r.expired else None) if t is not None)
    return max(0, int((closed - r.sent_at).days))


def footage_log_summary_for(*, agency: Agency) -> dict[str, Any]:
    """footage_log_summary of the agency's whole log, computed by the database: the page shows
    the summary and the newest rows only, and a log of years is too long to build for that."""
    sql, params = (
        _sent_requests(agency)
        .order_by()
        .values(  # type: ignore[misc]  # the stubs do not see _sent_requests' annotations
            "window_start",
            "window_end",
            "sent_at",
            "deadline",
            "asked",
            "open_cameras",
            "last_answer",
            "expired",
        )
        .query.sql_with_params()
    )
    # Days to close as _days_to_close reckons them (whole days, floored, none while a camera
    # waits); medians as statistics.median takes them (the mean of the two middle values).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*),
                percentile_cont(0.5) WITHIN GROUP (
                    ORDER BY round(extract(epoch FROM r.window_end - r.window_start) / 60)),
                percentile_cont(0.5) WITHIN GROUP (
                    ORDER BY CASE WHEN r.open_cameras = 0 AND r.asked > 0 THEN greatest(0, floor(
                        extract(epoch FROM greatest(r.last_answer,
                            CASE WHEN r.expired > 0 THEN r.deadline END) - r.sent_at) / 86400))
                    END)
            FROM ({sql}) r
            """,  # noqa: S608 - the inner query is Django's, with its parameters passed apart
            params,
        )
        requests, window, close = cursor.fetchone()
    return {
        "requests": requests,
        "median_window": _whole(window),
        "median_days_to_close": _whole(close),
    }


def _whole(value: float | None) -> float | int | None:
    """A median as statistics.median gives it over whole numbers (60, not 60.0; 60.5 stays)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def footage_log_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the log, for the line above it."""
    windows = [r["window_minutes"] for r in rows]
    closes = [r["days_to_close"] for r in rows if r["days_to_close"] is not None]
    return {
        "requests": len(rows),
        "median_window": statistics.median(windows) if windows else None,
        "median_days_to_close": statistics.median(closes) if closes else None,
    }


# --- goals -----------------------------------------------------------------------------------

ON_TRACK, OFF_TRACK, NO_DATA = "on_track", "off_track", "no_data"
STATUS_LABELS: dict[str, str | Promise] = {
    ON_TRACK: _("On track"),
    OFF_TRACK: _("Off track"),
    NO_DATA: _("No data yet"),
}


def goal_get_for(*, actor: User, id: int) -> Goal:
    """A goal of the actor's agency; any other agency's (or none) is a 404."""
    goal = (
        Goal.objects.filter(pk=id, agency_id=actor.agency_id).first()
        if actor.agency_id is not None
        else None
    )
    if goal is None:
        raise Http404
    return goal


def goals_for(*, actor: User) -> list[Goal]:
    """The actor's agency's goals: active ones first, then retired."""
    if actor.agency_id is None:
        return []
    return list(Goal.objects.filter(agency_id=actor.agency_id))


@dataclass
class GoalView:
    """A goal with its monthly values, its status and the latest month's comparison."""

    goal: Goal
    metric: Metric | None
    months: list[dt.date]
    # values[i]: (value, basis) of months[i], None where nothing was recorded.
    values: list[tuple[float, int] | None]
    status: str
    latest: dt.date | None
    latest_value: tuple[float, int] | None
    expected: float | None
    # (unit, value, basis) for the latest month, best first; empty without a breakdown.
    comparison: list[tuple[str, float, int]]

    @property
    def status_label(self) -> str | Promise:
        return STATUS_LABELS[self.status]


def goal_months(*, goal: Goal, now: dt.datetime | None = None) -> list[dt.date]:
    """The goal's months up to this one (a future period has none yet)."""
    last = min(goal.period_end, current_month(agency=goal.agency, now=now))
    months, month = [], goal.period_start
    while month <= last:
        months.append(month)
        month = month_add(month, 1)
    return months


def goal_expected(goal: Goal, month: dt.date) -> float | None:
    """Where the goal should be by `month`: on the straight line from the baseline (at the
    period's start) to the target (at its last month)."""
    if goal.baseline_value is None:
        return None
    span = (goal.period_end.year - goal.period_start.year) * 12 + (
        goal.period_end.month - goal.period_start.month
    )
    done = (month.year - goal.period_start.year) * 12 + month.month - goal.period_start.month
    share = 1.0 if span <= 0 else min(1.0, max(0.0, done / span))
    return goal.baseline_value + (goal.target_value - goal.baseline_value) * share


def _meets(goal: Goal, value: float, expected: float) -> bool:
    if goal.direction == Goal.Direction.HIGHER:
        return value >= expected
    return value <= expected


def goal_view(*, goal: Goal, now: dt.datetime | None = None) -> GoalView:
    """The goal read from the materialised monthly figures (the metric's own rows)."""
    metric = METRICS.get(goal.metric)
    months = goal_months(goal=goal, now=now)
    stored: dict[tuple[dt.date, str], tuple[float, int]] = {}
    if months:
        for month, dimension, value, basis in MonthlyFigure.objects.filter(
            agency_id=goal.agency_id,
            metric=goal.metric,
            month__gte=months[0],
            month__lte=months[-1],
        ).values_list("month", "dimension", "value", "basis"):
            if basis:
                stored[(month, dimension)] = (value, basis)
    values = [stored.get((m, "")) for m in months]
    # The newest month that has ended, as the Met compared boroughs month by month; the
    # current month only while it is the only one with a value.
    this = current_month(agency=goal.agency, now=now)
    filled = [m for m, v in zip(months, values, strict=True) if v]
    ended = [m for m in filled if m < this]
    latest: dt.date | None = (ended or filled)[-1] if filled else None
    latest_value = stored.get((latest, "")) if latest else None
    expected = goal_expected(goal, latest) if latest else None
    if latest_value is None or expected is None:
        status = NO_DATA
    else:
        status = ON_TRACK if _meets(goal, latest_value[0], expected) else OFF_TRACK
    comparison: list[tuple[str, float, int]] = []
    if latest and metric is not None and metric.breakdown:
        comparison = sorted(
            ((d, v, b) for (m, d), (v, b) in stored.items() if m == latest and d),
            key=lambda row: (
                -row[1] if goal.direction == Goal.Direction.HIGHER else row[1],
                row[0],
            ),
        )
    return GoalView(
        goal=goal,
        metric=metric,
        months=months,
        values=values,
        status=status,
        latest=latest,
        latest_value=latest_value,
        expected=expected,
        comparison=comparison,
    )


@dataclass(frozen=True)
class TrendChart:
    """Geometry of a goal's line chart: the monthly values, the baseline and the target."""

    points: str
    dots: list[tuple[float, float]]
    baseline_y: float | None
    target_y: float
    labels: list[tuple[float, str]]
    top_text: str


def goal_chart(
    view: GoalView, values: list[float | None], short_months: dict[dt.date, str]
) -> TrendChart:
    """The line chart's geometry, drawn by the template as SVG (numbers only: no user text).

    `values` are the values to draw (the public page passes those it may publish, None for
    the rest), one per month of the whole period so the x axis is the period."""
    goal = view.goal
    period = goal_months(goal=goal, now=_far_future())
    drawn = [v for v in values if v is not None]
    candidates = [*drawn, goal.target_value]
    if goal.baseline_value is not None:
        candidates.append(goal.baseline_value)
    top = max(candidates, default=1.0) * 1.1 or 1.0
    if view.metric is not None and view.metric.unit == Unit.PERCENT:
        top = min(100.0, top) if max(candidates) <= 100 else top
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = CHART_WIDTH / max(1, len(period))

    def y(v: float) -> float:
        return round(CHART_TOP + plot - plot * min(v, top) / top, 1)

    dots = [
        (round(i * slot + slot / 2, 1), y(v))
        for i, v in enumerate(values)
        if i < len(period) and v is not None
    ]
    step = -(-len(period) // 12)  # at most 12 labels: they fit a phone's width
    return TrendChart(
        points=" ".join(f"{x},{yy}" for x, yy in dots),
        dots=dots,
        baseline_y=y(goal.baseline_value) if goal.baseline_value is not None else None,
        target_y=y(goal.target_value),
        labels=[
            (round(i * slot + slot / 2, 1), short_months[m])
            for i, m in enumerate(period)
            if i % step == 0
        ],
        top_text=f"{top:.0f}",
    )


def _far_future() -> dt.datetime:
    return dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def public_goals(*, agency: Agency, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The agency's public, active goals as the page and the open data publish them: every
    value under the small-count rule (a share or median on 1-4 facts is withheld), and a
    status only where the latest value is itself published."""
    shown = []
    for goal in Goal.objects.filter(agency=agency, public=True, retired_at__isnull=True):
        view = goal_view(goal=goal, now=now)
        if view.metric is None:
            continue
        unit = view.metric.unit
        months = [
            {
                "month": m,
                "value": published_value(value=v[0], basis=v[1], unit=unit) if v else None,
            }
            for m, v in zip(view.months, view.values, strict=True)
        ]
        # The status stands on the month the staff page judges by; withheld there, none.
        latest = next((row for row in months if row["month"] == view.latest), None)
        status = view.status
        if latest is None or not isinstance(latest["value"], int | float):
            status = NO_DATA
        baseline = (
            published_value(value=goal.baseline_value, basis=goal.baseline_basis, unit=unit)
            if goal.baseline_value is not None
            else None
        )
        shown.append(
            {
                "goal": goal,
                "view": view,
                "metric": view.metric,
                "months": months,
                "baseline": baseline,
                "status": status,
                "status_label": STATUS_LABELS[status],
            }
        )
    return shown


def goals_rows(*, agency: Agency) -> list[dict[str, Any]]:
    """The public goals in long form for CSV and JSON: one row per goal and month."""
    rows = []
    for entry in public_goals(agency=agency):
        goal = entry["goal"]
        for month in entry["months"]:
            rows.append(
                {
                    "goal": goal.pk,
                    "title": goal.title,
                    "metric": goal.metric,
                    "unit": entry["metric"].unit,
                    "direction": goal.direction,
                    "baseline_period": f"{goal.baseline_start:%Y-%m}/{goal.baseline_end:%Y-%m}",
                    "baseline_value": entry["baseline"],
                    "target_value": goal.target_value,
                    "period": f"{goal.period_start:%Y-%m}/{goal.period_end:%Y-%m}",
                    "month": f"{month['month']:%Y-%m}",
                    "value": month["value"],
                    "status": entry["status"],
                }
            )
    return rows
