"""Tips, both sides: plain-word errors and the receipt for the tipster; the "work this tip"
panel, question templates, case suggestions and conversations that close, for staff."""

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from evidence.cases import services as case_services
from portal.models import AuditEvent
from portal.roles import Role
from submissions import services
from submissions.models import (
    MAX_TEMPLATE_BODY,
    QuestionTemplate,
    SubmissionSettings,
    Tip,
    TipCategory,
    TipMessage,
    TipStatus,
)
from tests.conftest import client_for
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = pytest.mark.django_db


def _verified(user):
    user.is_verified = lambda: True
    return user


def _tip(agency) -> Tip:
    return services.tip_create(
        agency=agency,
        category=TipCategory.objects.filter(agency=agency).first(),
        description="Someone is selling stolen bikes behind the station.",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    ).tip


@pytest.fixture
def investigator(make_staff, tips_agency):
    return _verified(make_staff(Role.INVESTIGATOR, agency=tips_agency))


@pytest.fixture
def supervisor(make_staff, tips_agency):
    return _verified(make_staff(Role.SUPERVISOR, agency=tips_agency))


def _steps_on_page(html: str) -> list[str]:
    return re.findall(r'name="to" value="(\w+)"', html)


# --- the tipster's side -----------------------------------------------------------------------


def test_the_api_names_each_missing_field_in_plain_words(tips_agency):
    response = send_tip(
        tipster_client(), tips_agency, category="", description="  ", occurred_at=""
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["category"] == ["Choose what it's about."]
    assert errors["description"] == ["Tell us what happened."]
    assert errors["occurred_at"] == ["Say when it happened."]
    assert not Tip.objects.exists()


def test_the_receipt_page_shows_the_reference_and_the_way_back(tips_agency):
    client = tipster_client()
    response = client.post(
        f"/tips/{tips_agency.slug}/",
        {"category": "drugs", "description": "Cars stop at number 12.",
         "occurred_at": "2025-03-01T19:45", "share_file_metadata": "no"},
    )  # fmt: skip

    html = response.content.decode()
    tip = Tip.objects.get()
    assert f'<strong data-role="reference">{tip.reference}</strong>' in html
    for control in ("copy-receipt", "save-receipt", "print-receipt", "receipt-kept"):
        assert f'data-role="{control}"' in html
    assert 'data-return-url="http://testserver/tips/return/"' in html
    assert "dist/tip-receipt.js" in html
    strings = json.loads(re.search(r'id="tip-strings"[^>]*>(.*?)</script>', html).group(1))
    assert "%(receipt)s" in strings["receiptFile"] and "%(url)s" in strings["receiptFile"]
    assert strings["addPhotos"] == "Add photos or videos"


# --- conversations that close ---------------------------------------------------------------


def _opened(client, receipt):
    assert client.post("/tips/return/", {"receipt": receipt}).status_code == 302


def test_a_reply_after_the_agencys_period_is_refused_and_the_tipster_is_told(
    tips_agency, investigator
):
    SubmissionSettings.objects.update_or_create(
        agency=tips_agency, defaults={"conversation_days": 30}
    )
    client = tipster_client()
    created = send_tip(client, tips_agency).json()
    tip = Tip.objects.get(reference=created["tip"])
    question = services.tip_question_send(actor=investigator, tip=tip, body="Which way?")
    _opened(client, created["receipt"])
    assert "You can write here until" in client.get("/tips/return/tip/").content.decode()

    # 31 days after the last message: closed, computed when read.
    asked_at = timezone.now() - dt.timedelta(days=31)
    TipMessage.objects.filter(pk=question.pk).update(created_at=asked_at)
    Tip.objects.filter(pk=tip.pk).update(received_at=asked_at - dt.timedelta(days=1))
    closed_on = (asked_at + dt.timedelta(days=30)).date().isoformat()

    page = client.get("/tips/return/tip/").content.decode()
    assert f"This conversation closed on {closed_on}." in page
    assert 'name="body"' not in page
    refused = client.post("/tips/return/tip/", {"body": "Late answer"})
    assert refused.status_code == 400
    assert f"This conversation closed on {closed_on}" in refused.content.decode()
    api = client.post(
        "/api/tips/mine/messages/", json.dumps({"body": "Late answer"}),
        content_type="application/json", HTTP_CANVASS_RECEIPT=created["receipt"],
    )  # fmt: skip
    assert api.status_code == 400 and "closed on" in api.json()["detail"]
    assert not TipMessage.objects.filter(direction="from_tipster").exists()

    # A new question opens it again.
    services.tip_question_send(actor=investigator, tip=tip, body="Still there?")
    services.tipster_message_add(tip=tip, body="Yes.")


def test_the_period_defaults_to_90_days_from_the_tip(tips_agency):
    tip = _tip(tips_agency)
    assert services.conversation_closes_at(tip) == tip.received_at + dt.timedelta(days=90)
    assert not services.conversation_closed(tip)


# --- the "work this tip" panel ----------------------------------------------------------------


def test_the_panel_offers_only_the_valid_next_steps_in_words(tips_agency, investigator):
    tip = _tip(tips_agency)
    client = client_for(investigator)

    html = client.get(f"/staff/tips/{tip.reference}/").content.decode()
    # New and unassigned: "assigned" is not offered (nobody is assigned), nor "closed".
    assert _steps_on_page(html) == ["triaged", "not_actionable", "duplicate"]
    assert ">Mark as triaged</button>" in html and "Work this tip" in html

    services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    services.tip_transition(actor=investigator, tip=tip, to=TipStatus.ACTIONABLE)
    html = client.get(f"/staff/tips/{tip.reference}/").content.decode()
    assert _steps_on_page(html) == ["assigned", "closed"]
    assert ">Close the tip</button>" in html and 'name="disposition" required' in html

    services.tip_transition(actor=investigator, tip=tip, to="closed", disposition="referred")
    tip.refresh_from_db()
    assert services.tip_next_steps(tip) == [("triaged", "Reopen the tip")]


def test_a_step_the_workflow_does_not_allow_is_refused_with_a_message(tips_agency, investigator):
    tip = _tip(tips_agency)
    client = client_for(investigator)

    page = client.post(
        f"/staff/tips/{tip.reference}/status/", {"to": "closed"}, follow=True
    ).content.decode()

    assert "A tip cannot go from New to Closed." in page
    assert Tip.objects.get(pk=tip.pk).status == TipStatus.NEW


def test_assign_to_me_assigns_the_signed_in_investigator(tips_agency, investigator, make_staff):
    tip = _tip(tips_agency)
    client = client_for(investigator)
    html = client.get(f"/staff/tips/{tip.reference}/").content.decode()
    assert f'name="assignee" value="{investigator.pk}"' in html and "Assign to me" in html

    client.post(f"/staff/tips/{tip.reference}/assign/", {"assignee": investigator.pk})

    tip.refresh_from_db()
    assert tip.assigned_to == investigator and tip.status == TipStatus.ASSIGNED
    assert AuditEvent.objects.filter(action="tip.assigned", target_id=tip.reference).exists()
    assert "Assign to me" not in client.get(f"/staff/tips/{tip.reference}/").content.decode()
    dispatcher = _verified(make_staff(Role.DISPATCHER, agency=tips_agency))
    refused = client_for(dispatcher).post(
        f"/staff/tips/{tip.reference}/assign/", {"assignee": dispatcher.pk}
    )
    assert refused.status_code == 403
    assert Tip.objects.get(pk=tip.pk).assigned_to == investigator


def test_case_suggestions_list_only_cases_the_user_may_see_and_are_audited(
    tips_agency, other_tips_agency, investigator, supervisor, make_staff
):
    mine = case_services.case_create(actor=supervisor, number="2026-0042", title="Bike thefts")
    case_services.case_member_add(actor=supervisor, case=mine, user=investigator)
    case_services.case_create(actor=supervisor, number="2026-0043", title="Not on it")
    other_supervisor = _verified(make_staff(Role.SUPERVISOR, agency=other_tips_agency))
    case_services.case_create(actor=other_supervisor, number="2026-0044", title="Foreign")

    client = client_for(investigator)
    found = client.get("/staff/evidence/cases/suggest/", {"q": "2026-00"}).json()["results"]
    assert found == [{"number": "2026-0042", "title": "Bike thefts"}]
    foreign = client.get("/staff/evidence/cases/suggest/", {"q": "2026-0044"}).json()
    assert foreign == {"results": []}
    assert client_for(supervisor).get("/staff/evidence/cases/suggest/", {"q": "2026"}).json()[
        "results"
    ] == [
        {"number": "2026-0042", "title": "Bike thefts"},
        {"number": "2026-0043", "title": "Not on it"},
    ]
    audited = AuditEvent.objects.filter(action="case.listed", actor=investigator)
    assert [e.details["q"] for e in audited.order_by("seq")] == ["2026-00", "2026-0044"]
    assert client_for(investigator).get("/staff/evidence/cases/suggest/", {"q": ""}).json() == {
        "results": []
    }


def test_case_suggestions_refuse_the_public_and_the_signed_out(resident, client):
    assert client.get("/staff/evidence/cases/suggest/?q=2026").status_code == 302
    assert client_for(resident).get("/staff/evidence/cases/suggest/?q=2026").status_code == 403


# --- question templates -----------------------------------------------------------------------


def test_templates_are_kept_by_supervisors_and_used_by_investigators(
    tips_agency, investigator, supervisor
):
    client = client_for(supervisor)
    added = client.post(
        "/staff/tips/templates/",
        {"title": "Plate", "body": "Did you see the number plate?"},
    )
    assert added.status_code == 302
    template = QuestionTemplate.objects.get()
    assert template.agency == tips_agency and template.created_by == supervisor
    client.post(
        f"/staff/tips/templates/{template.pk}/",
        {"title": "Plate", "body": "Did you see the vehicle's number plate?"},
    )
    assert QuestionTemplate.objects.get().body == "Did you see the vehicle's number plate?"

    tip = _tip(tips_agency)
    html = client_for(investigator).get(f"/staff/tips/{tip.reference}/").content.decode()
    data = json.loads(re.search(r'id="question-templates"[^>]*>(.*?)</script>', html).group(1))
    assert data == [
        {"id": template.pk, "title": "Plate", "body": "Did you see the vehicle's number plate?"}
    ]
    assert (
        client_for(investigator)
        .post("/staff/tips/templates/", {"title": "Mine", "body": "Mine?"})
        .status_code
        == 403
    )
    assert (
        client_for(investigator).post(f"/staff/tips/templates/{template.pk}/delete/").status_code
        == 403
    )

    assert client.post(f"/staff/tips/templates/{template.pk}/delete/").status_code == 302
    assert not QuestionTemplate.objects.exists()
    actions = AuditEvent.objects.filter(action__startswith="tip.template")
    assert sorted(actions.values_list("action", flat=True)) == [
        "tip.template_deleted", "tip.template_saved", "tip.template_saved",
    ]  # fmt: skip


def test_another_agencys_templates_are_invisible(
    tips_agency, other_tips_agency, supervisor, make_staff
):
    other = _verified(make_staff(Role.SUPERVISOR, agency=other_tips_agency))
    theirs = services.question_template_create(actor=other, title="Theirs", body="Secret?")

    client = client_for(supervisor)
    assert "Theirs" not in client.get("/staff/tips/templates/").content.decode()
    assert client.get(f"/staff/tips/templates/{theirs.pk}/").status_code == 404
    assert (
        client.post(
            f"/staff/tips/templates/{theirs.pk}/", {"title": "Mine", "body": "Mine"}
        ).status_code
        == 404
    )
    assert client.post(f"/staff/tips/templates/{theirs.pk}/delete/").status_code == 404
    assert QuestionTemplate.objects.get(pk=theirs.pk).title == "Theirs"
    with pytest.raises(PermissionDenied):
        services.question_template_update(actor=supervisor, template=theirs, title="x", body="y")


def test_an_oversized_template_is_refused_with_a_clear_error(tips_agency, supervisor):
    client = client_for(supervisor)
    response = client.post(
        "/staff/tips/templates/", {"title": "Long", "body": "x" * (MAX_TEMPLATE_BODY + 1)}
    )

    assert response.status_code == 400
    assert f"at most {MAX_TEMPLATE_BODY} characters" in response.content.decode()
    assert not QuestionTemplate.objects.exists()
    with pytest.raises(ValidationError):
        services.question_template_create(
            actor=supervisor, title="Long", body="x" * (MAX_TEMPLATE_BODY + 1)
        )


def test_supervisors_set_the_conversation_period(tips_agency, supervisor, investigator):
    client = client_for(supervisor)
    client.post("/staff/tips/templates/period/", {"conversation_days": 30})
    assert SubmissionSettings.objects.get(agency=tips_agency).conversation_days == 30
    bad = client.post("/staff/tips/templates/period/", {"conversation_days": 0}, follow=True)
    assert "greater than or equal to 1" in bad.content.decode()
    assert SubmissionSettings.objects.get(agency=tips_agency).conversation_days == 30
    assert (
        client_for(investigator)
        .post("/staff/tips/templates/period/", {"conversation_days": 5})
        .status_code
        == 403
    )
    assert AuditEvent.objects.filter(action="tip.settings_changed").count() == 1
