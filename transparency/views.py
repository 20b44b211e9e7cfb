"""The public transparency pages: no sign-in, nothing typed in, every table downloadable.

The figures come from the materialised MonthlyFigure table only (a year of them is one
indexed query); the footage-request log is generated from the requests themselves.
"""

import csv
import io
import json
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_safe

from portal.models import Agency
from portal.roles import AgencyKind, Role
from transparency import selectors
from transparency.metrics import Metric, goal_metrics, page_metrics
from transparency.services import published_agencies
from transparency.templatetags.transparency import dimension_label, figure

LOG_PAGE_SIZE = 50
TABLES = ("figures", "goals", "retention", "permissions", "footage-requests")
GOAL_COLUMNS = [
    "goal",
    "title",
    "metric",
    "unit",
    "direction",
    "baseline_period",
    "baseline_value",
    "target_value",
    "period",
    "month",
    "value",
    "status",
]
LOG_COLUMNS = [
    "date",
    "area_cell",
    "area_lat",
    "area_lon",
    "window_minutes",
    "cameras_asked",
    "answered",
    "no_footage",
    "declined",
    "no_answer",
    "waiting",
    "days_to_close",
    "case",
]


def _agency(slug: str) -> Agency:
    return get_object_or_404(Agency, slug=slug, kind=AgencyKind.POLICE)


def _role_names(roles: list[str]) -> list[str]:
    return [str(Role(r).label) for r in roles]


@require_safe
def index(request):
    return render(request, "transparency/index.html", {"agencies": published_agencies()})


def _shown(table: selectors.MetricTable, month_labels: dict[Any, str]) -> dict[str, Any]:
    """The table as the template draws it, every text made once here (a year of figures
    is a few thousand cells; formatting them in the template cost most of the page's time)."""
    unit = table.metric.unit
    return {
        "name": table.metric.name,
        "title": str(table.metric.title),
        "description": str(table.metric.description),
        "source": table.metric.source,
        "headers": [dimension_label(table, d) for d in table.dimensions],
        "rows": [
            {
                "key": f"{row['month']:%Y-%m}",
                "label": month_labels[row["month"]],
                "cells": [(d, figure(value, unit)) for d, value in row["cells"]],
            }
            for row in table.rows
        ],
    }


def _public_goal(entry: dict[str, Any]) -> dict[str, Any]:
    """A public goal as the page draws it, under the small-count rule (selectors.public_goals)."""
    goal, metric = entry["goal"], entry["metric"]
    unit = metric.unit
    period = selectors.goal_months(goal=goal, now=selectors._far_future())
    numbers = [m["value"] if isinstance(m["value"], int | float) else None for m in entry["months"]]
    return {
        "goal": goal,
        "metric_title": str(metric.title),
        "metric_description": str(metric.description),
        "status": entry["status"],
        "status_label": str(entry["status_label"]),
        "baseline": figure(entry["baseline"], unit),
        "baseline_period": (
            f"{date_format(goal.baseline_start, 'M Y')} – {date_format(goal.baseline_end, 'M Y')}"
        ),
        "target": figure(goal.target_value, unit),
        "period": f"{date_format(goal.period_start, 'M Y')} – {date_format(goal.period_end, 'M Y')}",
        "higher": goal.direction == "higher",
        "chart": selectors.goal_chart(
            entry["view"], numbers, {m: date_format(m, "M") for m in period}
        ),
        "rows": [
            {
                "key": f"{m['month']:%Y-%m}",
                "label": date_format(m["month"], "M Y"),
                "value": figure(m["value"], unit),
            }
            for m in reversed(entry["months"])
        ],
    }


@require_safe
def agency_page(request, slug: str):
    agency = _agency(slug)
    months = selectors.months_shown(agency=agency)
    month_labels = {m: date_format(m, "M Y") for m in months}
    short_months = {m: date_format(m, "M") for m in months}
    tables = selectors.metric_tables(agency=agency, months=months)
    return render(
        request,
        "transparency/agency.html",
        {
            "agency": agency,
            "tables": [
                {"table": _shown(t, month_labels), "bars": selectors.chart_bars(t, short_months)}
                for t in tables
            ],
            "not_yet": selectors.not_yet(),
            "retention": selectors.retention_policy(agency=agency),
            "permissions": [
                {"what": p.what, "roles": _role_names(p.roles)} for p in selectors.permissions()
            ],
            "commitments": selectors.commitments(agency=agency),
            "log_summary": selectors.footage_log_summary_for(agency=agency),
            "log_recent": selectors.footage_log(agency=agency, limit=5),
            "suppressed": selectors.SUPPRESSED,
            "chart": {
                "width": selectors.CHART_WIDTH,
                "height": selectors.CHART_HEIGHT,
                "baseline": selectors.CHART_HEIGHT - selectors.CHART_BOTTOM,
            },
            "computed_at": selectors.figures_computed_at(agency=agency),
            "goals": [_public_goal(e) for e in selectors.public_goals(agency=agency)],
        },
    )


@require_safe
def footage_log_page(request, slug: str):
    agency = _agency(slug)
    log = selectors.footage_log(agency=agency)
    page = Paginator(log, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "transparency/footage_log.html",
        {
            "agency": agency,
            "page": page,
            "summary": selectors.footage_log_summary(log),
            "grid_metres": selectors.grid_metres(),
            "suppressed": selectors.SUPPRESSED,
        },
    )


def _table(agency: Agency, table: str) -> tuple[list[str], list[dict[str, Any]]]:
    if table == "figures":
        months = selectors.months_shown(agency=agency)
        return ["month", "metric", "dimension", "unit", "value"], selectors.figures_rows(
            agency=agency, months=months
        )
    if table == "goals":
        return GOAL_COLUMNS, selectors.goals_rows(agency=agency)
    if table == "retention":
        return ["category", "days"], selectors.retention_policy(agency=agency)
    if table == "permissions":
        return ["what", "roles"], [
            {"what": str(p.what), "roles": p.roles} for p in selectors.permissions()
        ]
    return LOG_COLUMNS, selectors.footage_log(agency=agency)


def _metric_notes(metrics: list[Metric]) -> dict[str, dict[str, str]]:
    """What each metric name in the table means, and the query that counts it."""
    return {
        m.name: {
            "title": str(m.title),
            "description": str(m.description),
            "unit": m.unit,
            "query": m.source,
        }
        for m in metrics
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)  # a number, negative longitudes included, is never a formula
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value)
    # Spreadsheets run cells that start with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_safe
def data(request, slug: str, table: str, fmt: str):
    """One table of the page as CSV or JSON, under the same small-count rule as the page."""
    if table not in TABLES or fmt not in ("csv", "json"):
        raise Http404
    agency = _agency(slug)
    columns, rows = _table(agency, table)
    filename = f"{agency.slug}-{table}.{fmt}"
    if fmt == "json":
        body = json.dumps(
            {
                "agency": agency.slug,
                "table": table,
                "generated_at": timezone.now().isoformat(timespec="seconds"),
                "small_counts": (
                    f"counts from 1 to 4 are published as {selectors.SUPPRESSED!r}; where any "
                    "part of a published total is, every non-zero part of it is "
                    f"{selectors.WITHHELD!r}, as is a median or share standing on 1 to 4 facts"
                ),
                "columns": columns,
                "rows": rows,
                **({"metrics": _metric_notes(page_metrics())} if table == "figures" else {}),
                **({"metrics": _metric_notes(goal_metrics())} if table == "goals" else {}),
            },
            ensure_ascii=False,
            indent=1,
        )
        response = HttpResponse(body, content_type="application/json")
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
