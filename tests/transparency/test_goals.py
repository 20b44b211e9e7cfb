"""The goals dashboard: setting, changing and retiring goals (validation, permission, audit),
what the staff pages show, and what the public page and open data publish."""

import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.transparency.facts import staff
from tests.transparency.goal_facts import goal_form, make_goal, month, tips
from transparency import services
from transparency.models import Goal

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(police):
    return staff(police, Role.SUPERVISOR)


@pytest.fixture
def history(police):
    """Tips three months ago (3 of 6 actioned), two months ago (6 of 8), last month (1 of 2)."""
    investigator = staff(police, Role.INVESTIGATOR)
    tips(police, investigator, back=3, received=6, actioned=3)
    tips(police, investigator, back=2, received=8, actioned=6)
    tips(police, investigator, back=1, received=2, actioned=1)
    services.figures_backfill(agency=police)
    return police


def test_a_supervisor_sets_a_goal_whose_baseline_is_computed_from_history(history, supervisor):
    response = client_for(supervisor).post(reverse("goals:new"), goal_form(history))
    goal = Goal.objects.get(agency=history)
    assert response.status_code == 302 and response["Location"] == reverse(
        "goals:detail", args=[goal.pk]
    )
    assert (goal.baseline_value, goal.baseline_basis) == (50.0, 6)
    assert goal.public and goal.created_by == supervisor
    row = AuditEvent.objects.get(action="goal.created", target_id=str(goal.pk))
    assert row.actor == supervisor and row.details["baseline_value"] == 50.0
    assert row.details["metric"] == "tips_actioned_percent"


def test_a_baseline_value_cannot_be_typed_in(history, supervisor):
    body = goal_form(history, baseline_value="99")
    client_for(supervisor).post(reverse("goals:new"), body)
    assert Goal.objects.get(agency=history).baseline_value == 50.0


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"metric": "made_up_metric"}, "Choose one of the metrics Canvass computes"),
        ({"metric": "complaints_with_footage_percent"}, "Canvass records no complaints"),
        ({"metric": "registry_searches"}, "Choose one of the metrics Canvass computes"),
        ({"target_value": "150"}, "A share is between 0 and 100 %."),
        ({"target_value": "-1"}, "A share is between 0 and 100 %."),
        ({"target_value": "nan"}, "Enter a number."),
        ({"target_value": ""}, "This field is required."),
        ({"direction": "sideways"}, "Select a valid choice."),
        ({"period_end": "2020-01"}, "The period ends before it starts."),
        ({"period_start": "2026-13"}, "Give a month as YYYY-MM"),
        ({"title": "x" * 121}, "at most 120 characters"),
        ({"title": "   "}, "This field is required."),
        ({"why": "y" * 1001}, "at most 1000 characters"),
        ({"baseline_end": None}, "This field is required."),
        ({"baseline_start": "2030-01", "baseline_end": "2030-02"}, "months that have ended"),
        ("baseline_in_period", "before the goal"),
        ("baseline_without_facts", "Nothing was recorded"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_saved(
    history, supervisor, changes, field_error
):
    if changes == "baseline_in_period":
        changes = {"baseline_start": f"{month(history, 2):%Y-%m}"}
        changes["baseline_end"] = changes["baseline_start"]
    elif changes == "baseline_without_facts":
        changes = {"baseline_start": f"{month(history, 9):%Y-%m}"}
        changes["baseline_end"] = f"{month(history, 8):%Y-%m}"
    before = AuditEvent.objects.filter(action__startswith="goal.").count()
    response = client_for(supervisor).post(reverse("goals:new"), goal_form(history, **changes))
    assert response.status_code == 400
    text = response.content.decode().replace("&#x27;", "'")
    # Said beside the form, where the person reads it (not only somewhere on the page).
    errors = " ".join(re.findall(r'class="error" role="alert">(?:<p>)?([^<]*)<', text))
    assert field_error in errors, errors
    assert not Goal.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="goal.").count() == before


def test_the_database_refuses_a_period_that_ends_before_it_starts(police, supervisor):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_goal(police, supervisor, period_start=month(police, 0), period_end=month(police, 2))


def test_a_change_is_audited_with_what_it_was_and_what_it_is(history, supervisor):
    client = client_for(supervisor)
    client.post(reverse("goals:new"), goal_form(history))
    goal = Goal.objects.get()
    response = client.post(
        reverse("goals:edit", args=[goal.pk]), goal_form(history, target_value="90", public=None)
    )
    assert response.status_code == 302
    goal.refresh_from_db()
    assert goal.target_value == 90 and not goal.public
    row = AuditEvent.objects.get(action="goal.updated", target_id=str(goal.pk))
    assert row.details["changed"] == {
        "target_value": {"old": 80.0, "new": 90.0},
        "public": {"old": True, "new": False},
    }
    # Saving it unchanged writes no row.
    client.post(
        reverse("goals:edit", args=[goal.pk]), goal_form(history, target_value="90", public=None)
    )
    assert AuditEvent.objects.filter(action="goal.updated").count() == 1


def test_retiring_is_audited_unpublishes_and_freezes_the_goal(history, supervisor):
    goal = make_goal(history, supervisor, public=True)
    client = client_for(supervisor)
    assert client.post(reverse("goals:retire", args=[goal.pk])).status_code == 302
    goal.refresh_from_db()
    assert goal.retired_at is not None and not goal.public
    assert AuditEvent.objects.filter(action="goal.retired", target_id=str(goal.pk)).count() == 1
    edit = client.get(reverse("goals:edit", args=[goal.pk]))
    assert edit.status_code == 302
    page = Client().get(reverse("transparency:agency", args=[history.slug])).content.decode()
    assert goal.title not in page


def test_another_agencys_goal_is_404(police, other_police):
    theirs = make_goal(other_police, staff(other_police, Role.SUPERVISOR))
    ours = client_for(staff(police, Role.SUPERVISOR))
    for name in ("goals:detail", "goals:edit"):
        assert ours.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("goals:edit", "goals:retire"):
        assert ours.post(reverse(name, args=[theirs.pk]), goal_form(police)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.retired_at is None and theirs.title == "A goal"
    assert ours.get(reverse("goals:list")).content.decode().count('class="card goal') == 0


@pytest.mark.parametrize("role", [Role.OFFICER, Role.INVESTIGATOR, Role.DISPATCHER, Role.AUDITOR])
def test_officers_investigators_and_others_can_neither_see_nor_change_goals(
    history, supervisor, role
):
    goal = make_goal(history, supervisor)
    client = client_for(staff(history, role))
    for url in (
        reverse("goals:list"),
        reverse("goals:new"),
        reverse("goals:detail", args=[goal.pk]),
        reverse("goals:edit", args=[goal.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("goals:new"), goal_form(history)).status_code == 403
    assert client.post(reverse("goals:retire", args=[goal.pk])).status_code == 403
    assert Goal.objects.count() == 1 and Goal.objects.get().retired_at is None


def test_anonymous_is_sent_to_sign_in(history, supervisor):
    goal = make_goal(history, supervisor)
    response = Client().get(reverse("goals:detail", args=[goal.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_agency_admin_manages_goals_too(history):
    admin = staff(history, Role.AGENCY_ADMIN)
    response = client_for(admin).post(reverse("goals:new"), goal_form(history))
    assert response.status_code == 302
    page = client_for(admin).get(reverse("goals:list")).content.decode()
    assert "Act on more tips" in page and 'href="/staff/goals/"' in page


def test_the_staff_page_shows_values_status_chart_and_no_comparison_for_tips(history, supervisor):
    client_for(supervisor).post(reverse("goals:new"), goal_form(history))
    goal = Goal.objects.get()
    text = client_for(supervisor).get(reverse("goals:detail", args=[goal.pk])).content.decode()
    # Two months ago 6 of 8 (75 %), last month 1 of 2 (50 %): staff see exact values.
    assert f'data-month="{month(history, 2):%Y-%m}">75.0 %<' in text
    assert f'data-month="{month(history, 1):%Y-%m}">50.0 %<' in text
    # The line from 50 % to 80 % over the period is above 50 % last month: off track.
    assert 'id="goal-status">Off track<' in text
    assert "<polyline" in text and 'class="target-line"' in text and 'class="baseline-line"' in text
    assert "not recorded per unit" in text


def test_goal_text_is_escaped_everywhere(history, supervisor):
    goal = make_goal(
        history, supervisor, title="<script>alert(1)</script>", why="<img src=x>", public=True
    )
    for client, url in (
        (client_for(supervisor), reverse("goals:detail", args=[goal.pk])),
        (client_for(supervisor), reverse("goals:list")),
        (Client(), reverse("transparency:agency", args=[history.slug])),
    ):
        text = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in text and "<img src=x>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_the_public_sees_only_public_goals_under_the_small_count_rule(history, supervisor):
    shown = make_goal(history, supervisor, title="Published goal", public=True)
    make_goal(history, supervisor, title="Internal goal", public=False)
    page = Client().get(reverse("transparency:agency", args=[history.slug])).content.decode()
    assert "Published goal" in page and "Internal goal" not in page
    # 6 of 8 tips two months ago is published; 1 of 2 last month stands on fewer than 5.
    cell = f'data-goal="{shown.pk}" data-month="{month(history, 2):%Y-%m}">'
    assert page.split(cell, 1)[1].split("<", 1)[0] == "75.0 %"
    cell = f'data-goal="{shown.pk}" data-month="{month(history, 1):%Y-%m}">'
    assert page.split(cell, 1)[1].split("<", 1)[0] == "withheld"
    # The latest month is withheld, so no status is published from it.
    assert f'id="public-goal-{shown.pk}" data-status="no_data"' in page

    body = Client().get(reverse("transparency:data", args=[history.slug, "goals", "json"])).json()
    assert {r["title"] for r in body["rows"]} == {"Published goal"}
    assert "tip.transitioned" in body["metrics"]["tips_actioned_percent"]["query"]
    by_month = {r["month"]: r["value"] for r in body["rows"]}
    assert by_month[f"{month(history, 2):%Y-%m}"] == 75.0
    assert by_month[f"{month(history, 1):%Y-%m}"] == "withheld"
    assert all(r["baseline_value"] == 50.0 and r["target_value"] == 80.0 for r in body["rows"])
    csv_text = (
        Client()
        .get(reverse("transparency:data", args=[history.slug, "goals", "csv"]))
        .content.decode()
    )
    assert "Published goal" in csv_text and "Internal goal" not in csv_text


def test_the_public_goal_reads_in_spanish(history, supervisor):
    make_goal(history, supervisor, title="Published goal", public=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9")
    text = client.get(reverse("transparency:agency", args=[history.slug])).content.decode()
    for spanish in (
        "Los objetivos de la agencia",
        "Proporción de denuncias con acción",
        "no se muestra",
        "Línea de base",
        "Aún sin datos",
    ):
        assert spanish in text, spanish
    assert "The agency's goals" not in text


def test_the_beat_job_restates_earlier_months_and_refreshes_baselines(history, supervisor):
    from submissions import services as tip_services
    from submissions.models import Tip
    from tests.evidence.cases_helpers import verified
    from transparency.models import MonthlyFigure

    client_for(supervisor).post(reverse("goals:new"), goal_form(history))
    goal = Goal.objects.get()
    assert goal.baseline_value == 50.0
    # A tip of three months ago is actioned today: that month's share changes.
    investigator = verified(staff(history, Role.INVESTIGATOR))
    start, end = services.month_range(agency=history, month=month(history, 3))
    waiting = Tip.objects.filter(
        agency=history, received_at__gte=start, received_at__lt=end, status="new"
    ).first()
    tip = tip_services.tip_assign(actor=investigator, tip=waiting, assignee=investigator)
    tip_services.tip_transition(actor=investigator, tip=tip, to="actionable")
    services.figures_materialise_recent()
    figure = MonthlyFigure.objects.get(
        agency=history, metric="tips_actioned_percent", month=month(history, 3), dimension=""
    )
    assert (figure.value, figure.basis) == (66.7, 6)
    goal.refresh_from_db()
    assert (goal.baseline_value, goal.baseline_basis) == (66.7, 6)
    # The page-only figures of that month were left as they were (only the last two months
    # of every metric are recomputed).
    assert not MonthlyFigure.objects.filter(
        agency=history,
        metric="tips_received",
        month=month(history, 3),
        computed_at__gt=figure.computed_at,
    ).exists()
