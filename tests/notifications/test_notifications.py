"""Notifications fired by the real actions, in-app and by email, as each person allows."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from evidence.intake.uploads import upload_append, upload_create
from notifications import services
from notifications.kinds import Kind
from notifications.models import Notification, NotificationPreferences
from portal.models import AuditEvent
from portal.roles import Role
from registry.footage import services as footage_services
from submissions import services as tip_services
from tests.conftest import client_for
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.factories import stored_item
from tests.registry.cameras import owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search
from tests.workbench.conftest import make_tip
from workbench.tasks import notify_requests_due

pytestmark = pytest.mark.django_db(transaction=True)


def turn_off(user, *, email=(), in_app=(), language=""):
    services.preferences_update(user=user, email_off=email, in_app_off=in_app, language=language)


def notes_of(user):
    return list(Notification.objects.filter(user=user))


def emails_to(user):
    """The notification emails `user` got (not, say, the new-tip email every reviewer gets)."""
    settings_page = reverse("notifications:settings")
    return [m for m in mail.outbox if user.email in m.to and settings_page in m.body]


@pytest.fixture
def investigator(make_staff):
    return verified(make_staff(Role.INVESTIGATOR))


def _upload_footage(request):
    recipient = request.recipients.get()
    rc = recipient.cameras.get()
    grant = footage_services.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk)
    upload = upload_create(grant=grant.grant, length=3, metadata={"filename": "clip.mp4"})
    upload_append(
        grant=grant.grant, upload_id=upload.id, offset=0, body=io.BytesIO(b"abc"), body_length=3
    )


def test_the_requester_hears_when_footage_arrives(investigator, run_queued_emails):
    cam = camera_facing_incident(owner(role="business"))
    request = ask(investigator, search(investigator), [cam])
    mail.outbox.clear()
    with run_queued_emails():
        _upload_footage(request)
    [note] = notes_of(investigator)
    assert note.kind == Kind.FOOTAGE_ARRIVED and note.in_app and note.read_at is None
    assert note.url == reverse("registry_requests:detail", args=[request.pk])
    assert "RPD-2026-0042" in note.title
    [email] = emails_to(investigator)
    assert "Footage arrived" in email.subject and note.url in email.body
    assert Notification.objects.get().email == Notification.Email.SENT


def test_the_assignee_hears_when_the_tipster_replies(investigator, tips_agency, run_queued_emails):
    tip = make_tip(tips_agency)
    tip = tip_services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    with run_queued_emails():
        tip_services.tipster_message_add(tip=tip, body="It was a red van.")
    [note] = notes_of(investigator)
    assert note.kind == Kind.TIPSTER_REPLIED and tip.reference in note.title
    assert note.url == reverse("submissions_staff:tip", args=[tip.reference])
    [email] = emails_to(investigator)
    assert "red van" not in email.body  # a link, never what the tipster wrote


def test_an_unassigned_tips_reply_tells_nobody(tips_agency, run_queued_emails):
    tip = make_tip(tips_agency)
    with run_queued_emails():
        tip_services.tipster_message_add(tip=tip, body="More detail")
    assert Notification.objects.count() == 0 and mail.outbox == []


def test_the_prosecutor_hears_when_a_case_is_shared(
    investigator, police, prosecution, make_staff, run_queued_emails
):
    named = verified(make_staff(Role.PROSECUTOR, agency=prosecution))
    other = verified(make_staff(Role.PROSECUTOR, agency=prosecution))
    case = make_case(lead=investigator, items=[stored_item(agency=police)])
    with run_queued_emails():
        share = make_share(case=case, by=investigator, office=prosecution, recipients=[named])
    [note] = notes_of(named)
    assert note.kind == Kind.CASE_SHARED and case.number in note.title
    assert note.url == reverse("evidence:shared_case", args=[share.pk])
    assert notes_of(other) == []  # the share named one prosecutor
    assert len(emails_to(named)) == 1 and emails_to(other) == []


def test_the_requester_hears_once_when_a_request_is_nearly_due(investigator, run_queued_emails):
    cams = [camera_facing_incident(owner(), name=f"Porch {i}") for i in range(2)]
    now = timezone.now()
    soon = ask(investigator, search(investigator), cams, deadline=now + dt.timedelta(hours=10))
    ask(investigator, search(investigator), cams, deadline=now + dt.timedelta(days=3))
    mail.outbox.clear()
    with run_queued_emails():
        assert notify_requests_due.apply().get() == 1
        assert notify_requests_due.apply().get() == 0  # the beat runs again: still once
    [note] = notes_of(investigator)
    assert note.kind == Kind.REQUEST_DUE and note.dedupe_key == f"request_due:{soon.pk}"
    assert "2 camera(s) have not answered" in note.title
    assert len(emails_to(investigator)) == 1


def test_email_off_keeps_it_in_app_only(investigator, police, prosecution, make_staff):
    prosecutor = verified(make_staff(Role.PROSECUTOR, agency=prosecution))
    turn_off(prosecutor, email=[Kind.CASE_SHARED])
    case = make_case(lead=investigator, items=[stored_item(agency=police)])
    make_share(case=case, by=investigator, office=prosecution)
    [note] = notes_of(prosecutor)
    assert note.in_app and note.email == Notification.Email.NONE
    assert emails_to(prosecutor) == []


def test_both_off_sends_nothing_at_all(investigator, tips_agency, run_queued_emails):
    turn_off(investigator, email=[Kind.TIPSTER_REPLIED], in_app=[Kind.TIPSTER_REPLIED])
    tip = make_tip(tips_agency)
    tip = tip_services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    with run_queued_emails():
        tip_services.tipster_message_add(tip=tip, body="Another detail")
    assert notes_of(investigator) == [] and emails_to(investigator) == []


def test_in_app_off_emails_without_listing_it(investigator, tips_agency, run_queued_emails):
    turn_off(investigator, in_app=[Kind.TIPSTER_REPLIED])
    tip = make_tip(tips_agency)
    tip = tip_services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    with run_queued_emails():
        tip_services.tipster_message_add(tip=tip, body="Another detail")
    assert len(emails_to(investigator)) == 1
    page = client_for(investigator).get(reverse("notifications:list"))
    assert tip.reference not in page.content.decode()


def test_emails_are_written_in_the_recipients_language(
    investigator, tips_agency, run_queued_emails
):
    turn_off(investigator, language="es")
    tip = make_tip(tips_agency)
    tip = tip_services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    with run_queued_emails():
        tip_services.tipster_message_add(tip=tip, body="Otra cosa")
    [email] = emails_to(investigator)
    assert f"El denunciante respondió en la denuncia {tip.reference}" in email.subject
    assert "Ábralo en Canvass" in email.body


def test_the_list_counts_unread_and_marks_read(investigator, tips_agency):
    tip = make_tip(tips_agency)
    tip = tip_services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
    for body in ("one", "two"):
        tip_services.tipster_message_add(tip=tip, body=body)
    client = client_for(investigator)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert 'title="unread">2</span>' in page
    first = Notification.objects.filter(user=investigator).first()
    opened = client.post(reverse("notifications:read", args=[first.pk]))
    assert opened.status_code == 302 and opened["Location"] == first.url
    first.refresh_from_db()
    assert first.read_at is not None
    assert 'title="unread">1</span>' in client.get(reverse("notifications:list")).content.decode()
    client.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(user=investigator, read_at__isnull=True).exists()
    assert 'title="unread"' not in client.get(reverse("notifications:list")).content.decode()


def test_the_settings_page_saves_choices_and_audits_them(investigator):
    client = client_for(investigator)
    assert client.get(reverse("notifications:settings")).status_code == 200
    everything_but_tips = [k for k in Kind.values if k != Kind.TIPSTER_REPLIED]
    response = client.post(
        reverse("notifications:settings"),
        {"email_on": everything_but_tips, "in_app_on": Kind.values, "language": "es"},
    )
    assert response.status_code == 302
    prefs = NotificationPreferences.objects.get(user=investigator)
    assert prefs.email_off == [Kind.TIPSTER_REPLIED] and prefs.in_app_off == []
    assert prefs.language == "es"
    assert AuditEvent.objects.filter(
        action="notifications.preferences_changed", actor=investigator
    ).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"email_on": ["not_a_kind"], "in_app_on": Kind.values, "language": ""},
        {"email_on": Kind.values, "in_app_on": Kind.values, "language": "xx"},
        {"email_on": Kind.values, "in_app_on": ["<script>"], "language": "en"},
    ],
)
def test_bad_settings_input_is_refused_and_nothing_changes(investigator, body):
    response = client_for(investigator).post(reverse("notifications:settings"), body)
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert not NotificationPreferences.objects.filter(user=investigator).exists()


def test_residents_have_notifications_and_anonymous_visitors_sign_in(client):
    resident = owner()
    assert client_for(resident).get(reverse("notifications:list")).status_code == 200
    response = client.get(reverse("notifications:settings"))
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]
