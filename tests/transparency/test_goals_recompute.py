"""Every goal's monthly values, its baseline and its unit comparison, recomputed here in plain
Python from the raw facts (incidents, shifts, recordings, tips and their audit rows, owners'
answers) and compared with what the dashboard shows; on the demo's year of history."""

import datetime as dt
import io
import statistics
import zoneinfo
from collections import defaultdict

import pytest
from django.core.management import call_command

from devices.models import CadIncident, DeviceAssignment, Recording
from portal.management.commands.seed_demo import demo_agencies, demo_staff_user
from portal.models import AuditEvent
from portal.roles import Role
from registry.models import FootageRequest, FootageRequestCamera
from submissions.models import Tip
from transparency import demo, selectors, services
from transparency.models import Goal, MonthlyFigure

pytestmark = pytest.mark.django_db


def month_of(agency, at: dt.datetime) -> dt.date:
    return at.astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date().replace(day=1)


def unit_of(recording) -> str | None:
    """The latest shift of the recording's camera that covers its start (plain Python)."""
    covering = [
        a
        for a in DeviceAssignment.objects.filter(device_id=recording.device_id)
        if a.unit
        and a.checked_out_at <= recording.started_at
        and (a.checked_in_at is None or recording.started_at <= a.checked_in_at)
    ]
    return max(covering, key=lambda a: a.checked_out_at).unit if covering else None


def share(hits: int, of: int) -> tuple[float, int]:
    return (round(100 * hits / of, 1), of)


def expected(agency) -> dict[str, dict[tuple[dt.date, str], tuple[float, int]]]:
    """metric -> {(month, dimension): (value, basis)}, from the rows themselves."""
    out: dict[str, dict] = defaultdict(dict)
    recordings = list(Recording.objects.filter(agency=agency))
    units = {r.pk: unit_of(r) for r in recordings}

    tally: dict = defaultdict(lambda: [0, 0])
    for incident in CadIncident.objects.filter(agency=agency):
        month = month_of(agency, incident.dispatched_at)
        until = incident.cleared_at or dt.datetime.max.replace(tzinfo=dt.UTC)
        recorded = set()
        for r in recordings:
            if r.cad_event_id == incident.incident_id:
                recorded.add(units[r.pk] or "")
            if (
                units[r.pk] in incident.units
                and r.started_at <= until
                and r.stopped_at >= incident.dispatched_at
            ):
                recorded.add(units[r.pk])
        tally[(month, "")][0] += bool(recorded)
        tally[(month, "")][1] += 1
        for unit in set(incident.units):
            tally[(month, unit)][0] += unit in recorded
            tally[(month, unit)][1] += 1
    out["cad_incidents_recorded_percent"] = {k: share(*v) for k, v in tally.items()}

    tally = defaultdict(lambda: [0, 0])
    for r in recordings:
        if r.item_id is None:
            continue
        for d in ("", units[r.pk]):
            if d is not None:
                tally[(month_of(agency, r.started_at), d)][0] += (
                    r.item.retention_category_id is None
                )
                tally[(month_of(agency, r.started_at), d)][1] += 1
    out["recordings_uncategorised_percent"] = {k: share(*v) for k, v in tally.items()}

    actioned = {
        e.target_id
        for e in AuditEvent.objects.filter(agency=agency, action="tip.transitioned")
        if e.outcome == "success" and e.details.get("new") == "actionable"
    }
    tally = defaultdict(lambda: [0, 0])
    for tip in Tip.objects.filter(agency=agency):
        tally[(month_of(agency, tip.received_at), "")][0] += tip.reference in actioned
        tally[(month_of(agency, tip.received_at), "")][1] += 1
    out["tips_actioned_percent"] = {k: share(*v) for k, v in tally.items()}

    hours = defaultdict(list)
    for request in FootageRequest.objects.filter(agency=agency, status="sent"):
        answers = [
            c.answered_at
            for c in FootageRequestCamera.objects.filter(request=request)
            if c.status in ("uploaded", "no_footage", "declined") and c.answered_at
        ]
        if answers:
            hours[(month_of(agency, request.sent_at), "")].append(
                (min(answers) - request.sent_at).total_seconds() / 3600
            )
    out["footage_median_hours_to_first_answer"] = {
        k: (round(statistics.median(v), 1), len(v)) for k, v in hours.items()
    }
    return out


def pooled(metric_rows, goal) -> tuple[float, int]:
    """The baseline recomputed from the facts of its months, pooled (not a mean of months)."""
    months = {
        m for (m, d) in metric_rows if d == "" and goal.baseline_start <= m <= goal.baseline_end
    }
    rows = [metric_rows[(m, "")] for m in months]
    hits = sum(v * b / 100 for v, b in rows)
    basis = sum(b for _v, b in rows)
    return round(100 * hits / basis, 1), basis


@pytest.fixture
def history():
    agencies = demo_agencies()
    users = {
        Role.SUPERVISOR: demo_staff_user(
            "supervisor@riverton.example", "Sam Supervisor", Role.SUPERVISOR, agencies["police"]
        ),
        Role.INVESTIGATOR: demo_staff_user(
            "investigator@riverton.example",
            "Ines Investigator",
            Role.INVESTIGATOR,
            agencies["police"],
        ),
    }
    # Owners' cameras, so the history has footage requests to answer.
    from tests.registry.cameras import owner
    from tests.registry.requests_helpers import camera_facing_incident

    for i in range(3):
        camera_facing_incident(owner(), name=f"History camera {i}", direction_deg=90)
    out = io.StringIO()
    demo.seed_history(agencies=agencies, users=users, stdout=out)
    return agencies["police"], users, out.getvalue()


def test_every_goal_value_baseline_and_unit_comparison_is_recomputed_from_the_raw_facts(history):
    police, _users, out = history
    assert "year of demo history" in out
    goals = list(Goal.objects.filter(agency=police))
    assert {g.metric for g in goals} == {
        "cad_incidents_recorded_percent",
        "recordings_uncategorised_percent",
        "tips_actioned_percent",
        "footage_median_hours_to_first_answer",
    }
    facts = expected(police)
    for goal in goals:
        rows = facts[goal.metric]
        view = selectors.goal_view(goal=goal)
        assert len(view.months) == 6  # five months back and this one
        shown = {m: v for m, v in zip(view.months, view.values, strict=True) if v}
        assert shown, goal.metric
        assert shown == {m: rows[(m, "")] for m in view.months if (m, "") in rows}, goal.metric
        if goal.metric != "footage_median_hours_to_first_answer":  # a median does not pool
            assert (round(goal.baseline_value, 1), goal.baseline_basis) == pooled(rows, goal)
        comparison = {d: (v, b) for d, v, b in view.comparison}
        want = {d: v for (m, d), v in rows.items() if m == view.latest and d}
        assert comparison == want, goal.metric
        if view.metric.breakdown:
            assert set(comparison) == set(demo.UNITS), goal.metric
            assert view.latest == services.month_add(services.current_month(agency=police), -1)
    # The demo's trends are real: recording got better over the year, by unit too.
    cad = facts["cad_incidents_recorded_percent"]
    this = services.current_month(agency=police)
    year_ago = services.month_add(this, -demo.MONTHS)
    last = services.month_add(this, -1)
    assert cad[(year_ago, "")][0] < cad[(last, "")][0]
    tips = facts["tips_actioned_percent"]
    assert 0 < tips[(year_ago, "")][0] < tips[(last, "")][0]
    uncategorised = facts["recordings_uncategorised_percent"]
    assert uncategorised[(year_ago, "")][0] > uncategorised[(last, "")][0] > 0


def test_the_history_is_made_once_and_materialised(history):
    police, users, _out = history
    counts = (CadIncident.objects.count(), Recording.objects.count(), Tip.objects.count())
    goals = Goal.objects.count()
    out = io.StringIO()
    demo.seed_history(agencies={"police": police}, users=users, stdout=out)
    assert (CadIncident.objects.count(), Recording.objects.count(), Tip.objects.count()) == counts
    assert Goal.objects.count() == goals == 4
    months = set(
        MonthlyFigure.objects.filter(
            agency=police, metric="cad_incidents_recorded_percent", dimension=""
        ).values_list("month", flat=True)
    )
    assert len(months) == demo.MONTHS + 1


@pytest.mark.django_db(transaction=True)
def test_seed_demo_makes_the_history_and_goals_once_and_the_pages_show_them(client):
    import time

    from django.urls import reverse

    started = time.monotonic()
    call_command("seed_demo", stdout=io.StringIO())
    first_run = time.monotonic() - started
    police = Goal.objects.values_list("agency", flat=True).first()
    goals = Goal.objects.filter(agency=police)
    # With the demo's cameras there are footage answers too: all four goals are set.
    assert goals.count() == 4 and goals.filter(public=True).count() == 2
    started = time.monotonic()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    again = time.monotonic() - started
    assert Goal.objects.count() == 4 and "year of demo history" not in out.getvalue()
    slug = goals.first().agency.slug
    page = client.get(reverse("transparency:agency", args=[slug])).content.decode()
    assert "Record every dispatched incident" in page and "Act on more tips" in page
    assert "Answer footage requests faster" not in page  # not public
    print(f"seed_demo: first run {first_run:.1f} s, again {again:.1f} s")
