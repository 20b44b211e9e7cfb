"""The investigators' tip inbox: scope, workflow, assignment, notes, questions, notifications."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from portal.models import AuditEvent
from portal.roles import Role
from submissions import selectors, services
from submissions.models import Disposition, TipCategory, TipStatus
from submissions.tasks import email_tipster_question, notify_new_tip
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = pytest.mark.django_db


def _tip(agency, **fields):
    category = TipCategory.objects.filter(agency=agency).first()
    defaults = {
        "description": "Someone is selling stolen bikes behind the station.",
        "occurred_at": __import__("django.utils.timezone").utils.timezone.now(),
    }
    return services.tip_create(agency=agency, category=category, **(defaults | fields)).tip


def _past_second_factor(user):
    # What django-otp's middleware marks on a request's user after the TOTP step.
    user.is_verified = lambda: True
    return user


@pytest.fixture
def investigator(make_staff, tips_agency):
    return _past_second_factor(make_staff(Role.INVESTIGATOR, agency=tips_agency))


def test_the_inbox_lists_new_tips_first_with_category_age_and_files(
    tips_agency, investigator, signed_in
):
    older = _tip(tips_agency, description="older tip")
    newer = _tip(tips_agency, description="newer tip")
    client = signed_in(investigator)

    page = client.get("/staff/tips/")

    assert page.status_code == 200
    text = page.content.decode()
    assert text.index(newer.reference) < text.index(older.reference)
    assert "Theft or burglary" in text
    assert AuditEvent.objects.filter(action="tip.listed", actor=investigator).exists()
    rows = list(selectors.tips_for(actor=_past_second_factor(investigator)))
    assert [t.attachments for t in rows] == [0, 0]


def test_script_tags_in_a_tip_are_escaped_in_the_inbox(tips_agency, investigator, signed_in):
    tip = _tip(tips_agency, description='<script>alert("x")</script> at the corner')
    client = signed_in(investigator)

    listing = client.get("/staff/tips/").content.decode()
    detail = client.get(f"/staff/tips/{tip.reference}/").content.decode()

    for html in (listing, detail):
        assert '<script>alert("x")</script>' not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_another_agencys_staff_get_404(tips_agency, other_tips_agency, make_staff, signed_in):
    tip = _tip(tips_agency)
    stranger = make_staff(Role.INVESTIGATOR, agency=other_tips_agency)
    client = signed_in(stranger)

    assert client.get(f"/staff/tips/{tip.reference}/").status_code == 404
    assert client.post(f"/staff/tips/{tip.reference}/notes/", {"body": "x"}).status_code == 404
    assert tip.reference not in client.get("/staff/tips/").content.decode()
    assert not selectors.tips_for_case_number(actor=stranger, case_number="").exists()


def test_a_resident_cannot_reach_the_inbox(tips_agency, resident, signed_in):
    tip = _tip(tips_agency)
    client = signed_in(resident)

    assert client.get("/staff/tips/").status_code == 403
    assert client.get(f"/staff/tips/{tip.reference}/").status_code == 403
    assert client.get("/staff/tips/", follow=False).status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=resident).count() >= 2


def test_a_dispatcher_reads_but_does_not_work_tips(tips_agency, make_staff, signed_in):
    tip = _tip(tips_agency)
    dispatcher = make_staff(Role.DISPATCHER, agency=tips_agency)
    client = signed_in(dispatcher)

    assert client.get(f"/staff/tips/{tip.reference}/").status_code == 200
    response = client.post(f"/staff/tips/{tip.reference}/status/", {"to": "triaged"})
    assert response.status_code == 403
    tip.refresh_from_db()
    assert tip.status == TipStatus.NEW


def test_the_workflow_allows_only_its_steps(tips_agency, investigator):
    tip = _tip(tips_agency)
    with pytest.raises(ValidationError, match="cannot go from New to Closed"):
        services.tip_transition(actor=investigator, tip=tip, to="closed", disposition="unfounded")
    with pytest.raises(ValidationError, match="Assign the tip to someone first"):
        tip = services.tip_transition(actor=investigator, tip=tip, to="triaged")
        services.tip_transition(actor=investigator, tip=tip, to="assigned")
    tip = services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    assert tip.status == TipStatus.ASSIGNED
    tip = services.tip_transition(actor=investigator, tip=tip, to="actionable")
    with pytest.raises(ValidationError, match="Choose a disposition"):
        services.tip_transition(actor=investigator, tip=tip, to="closed")
    tip = services.tip_transition(
        actor=investigator, tip=tip, to="closed", disposition=Disposition.ACTION_TAKEN
    )

    assert (tip.status, tip.disposition) == ("closed", "action_taken") and tip.closed_at
    steps = AuditEvent.objects.filter(action="tip.transitioned", target_id=tip.reference)
    assert [e.details["new"] for e in steps.order_by("seq")] == ["triaged", "actionable", "closed"]


def test_the_inbox_page_moves_assigns_and_saves(tips_agency, investigator, make_staff, signed_in):
    tip = _tip(tips_agency)
    colleague = make_staff(Role.INVESTIGATOR, agency=tips_agency)
    client = signed_in(investigator)
    base = f"/staff/tips/{tip.reference}"

    client.post(f"{base}/assign/", {"assignee": colleague.pk})
    client.post(
        f"{base}/details/",
        {"priority": 4, "case_number": "RPD-2025-0042", "public_message": "Thank you."},
    )
    refused = client.post(f"{base}/status/", {"to": "closed"}, follow=True)
    client.post(f"{base}/notes/", {"body": "Check the CCTV at the station."})

    tip.refresh_from_db()
    assert (tip.assigned_to, tip.status, tip.priority) == (colleague, "assigned", 4)
    assert tip.case_number == "RPD-2025-0042" and tip.public_message == "Thank you."
    assert "A tip cannot go from Assigned to Closed." in refused.content.decode()
    assert tip.notes.get().body == "Check the CCTV at the station."
    assert list(
        selectors.tips_for_case_number(actor=investigator, case_number="rpd-2025-0042")
    ) == [tip]
    assert AuditEvent.objects.filter(action="tip.changed", target_id=tip.reference).exists()


def test_only_investigators_and_supervisors_of_the_agency_can_be_assigned(
    tips_agency, other_tips_agency, investigator, make_staff
):
    tip = _tip(tips_agency)
    for other in (
        make_staff(Role.INVESTIGATOR, agency=other_tips_agency),
        make_staff(Role.DISPATCHER, agency=tips_agency),
    ):
        with pytest.raises(ValidationError):
            services.tip_assign(actor=investigator, tip=tip, assignee=other)
    with pytest.raises(PermissionDenied):
        services.tip_assign(
            actor=_past_second_factor(make_staff(Role.INVESTIGATOR, agency=other_tips_agency)),
            tip=tip,
            assignee=investigator,
        )  # fmt: skip


def test_a_question_is_shown_on_return_and_emailed_only_to_a_left_address(
    tips_agency, investigator
):
    client = tipster_client()
    with_email = send_tip(client, tips_agency, contact="Call me or write: sam@example.org").json()
    without = send_tip(client, tips_agency).json()
    for created in (with_email, without):
        tip = services.Tip.objects.get(reference=created["tip"])
        message = services.tip_question_send(
            actor=investigator, tip=tip, body="Which way did they go?"
        )
        email_tipster_question(message.pk)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sam@example.org"]
    assert "Which way" not in mail.outbox[0].body and "/tips/return/" in mail.outbox[0].body
    mine = client.get("/api/tips/mine/", HTTP_CANVASS_RECEIPT=without["receipt"]).json()
    assert mine["messages"][0]["body"] == "Which way did they go?"


def test_reviewers_are_emailed_a_link_never_the_content_once(tips_agency, make_staff):
    reviewers = [
        make_staff(Role.INVESTIGATOR, agency=tips_agency),
        make_staff(Role.SUPERVISOR, agency=tips_agency),
    ]
    make_staff(Role.DISPATCHER, agency=tips_agency)
    tip = _tip(tips_agency, description="The secret detail is the blue door")

    assert notify_new_tip(str(tip.pk)) == 2
    assert notify_new_tip(str(tip.pk)) == 0

    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in reviewers)
    for message in mail.outbox:
        assert f"/staff/tips/{tip.reference}/" in message.body
        assert "blue door" not in message.body and "Theft" not in message.body + message.subject


def test_sees_identifying_metadata_follows_the_tipsters_choice(
    tips_agency, investigator, make_staff
):
    from submissions.policies import sees_identifying_metadata

    colleague = _past_second_factor(make_staff(Role.INVESTIGATOR, agency=tips_agency))
    private = services.tip_assign(actor=investigator, tip=_tip(tips_agency), assignee=investigator)
    shared = _tip(tips_agency, share_file_metadata=True)

    assert sees_identifying_metadata(investigator, private)
    assert not sees_identifying_metadata(colleague, private)
    assert sees_identifying_metadata(colleague, shared)


def test_the_question_email_goes_once_even_when_the_task_runs_again(
    tips_agency, investigator, settings
):
    client = tipster_client()
    created = send_tip(client, tips_agency, contact="sam@example.org").json()
    tip = services.Tip.objects.get(reference=created["tip"])
    message = services.tip_question_send(actor=investigator, tip=tip, body="Which car?")

    # The mail server is down: the task fails and the question stays unsent, for a retry.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(OSError):
        email_tipster_question(message.pk)
    message.refresh_from_db()
    assert message.emailed_at is None and not mail.outbox

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_tipster_question(message.pk) is True
    # A retry or a redelivered task after the send: nothing more goes out.
    assert email_tipster_question(message.pk) is False
    assert email_tipster_question(message.pk) is False
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.emailed_at is not None
    # An answer from the tipster is never emailed back to them.
    answer = services.tipster_message_add(tip=tip, body="A red one.")
    assert email_tipster_question(answer.pk) is False
    assert len(mail.outbox) == 1


def test_the_evidence_store_asks_the_tip_about_its_items_metadata(
    tips_agency, other_tips_agency, investigator, make_staff, prosecution
):
    from evidence.models import EvidenceItem
    from evidence.policies import can_see_identifying_metadata

    colleague = _past_second_factor(make_staff(Role.INVESTIGATOR, agency=tips_agency))
    outsider = _past_second_factor(make_staff(Role.INVESTIGATOR, agency=other_tips_agency))
    private = services.tip_assign(actor=investigator, tip=_tip(tips_agency), assignee=investigator)
    shared = _tip(tips_agency, share_file_metadata=True)
    elsewhere = _tip(other_tips_agency, share_file_metadata=True)

    def item(tip, agency=tips_agency):
        return EvidenceItem(agency=agency, source="tip", source_ref=tip.reference)

    assert can_see_identifying_metadata(investigator, item(private))
    assert not can_see_identifying_metadata(colleague, item(private))
    assert can_see_identifying_metadata(colleague, item(shared))
    assert not can_see_identifying_metadata(outsider, item(shared))
    # A prosecutor (who reaches the item only through a share) sees what the tipster shared,
    # and not what they kept private.
    prosecutor = make_staff(Role.PROSECUTOR, agency=prosecution)
    assert can_see_identifying_metadata(prosecutor, item(shared))
    assert not can_see_identifying_metadata(prosecutor, item(private))
    # An item naming another agency's tip (or no tip at all) is treated as not shared.
    assert not can_see_identifying_metadata(colleague, item(elsewhere))
    assert not can_see_identifying_metadata(
        colleague, EvidenceItem(agency=tips_agency, source="tip", source_ref="T-NOSUCH00")
    )
    # Items from other sources are not the tip's to decide.
    staff_item = EvidenceItem(
        agency=tips_agency, source="staff_upload", source_ref=private.reference
    )
    assert can_see_identifying_metadata(colleague, staff_item)
