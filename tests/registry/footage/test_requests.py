"""Footage requests through the services: the cap and approval, who is emailed, answers, reminders."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from evidence.intake.uploads import upload_append, upload_create
from evidence.models import Upload, UploadGrant
from portal.models import AuditEvent
from portal.roles import Role
from registry.footage import selectors as sel
from registry.footage import services as rs
from registry.models import FootageRequest, FootageRequestCamera, RegistryPolicy
from tests.factories import UserFactory, add_totp_device
from tests.registry.cameras import investigator, owner, verified
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    search,
    token_of,
)

# Transactional: emails go out on commit, as they do in production.
pytestmark = pytest.mark.django_db(transaction=True)
Status = FootageRequestCamera.Status


def supervisor(agency):
    user = UserFactory(agency=agency, role=Role.SUPERVISOR)
    add_totp_device(user)
    return verified(user)


@pytest.fixture
def shop():
    return owner(role="business")


@pytest.fixture
def asked(police, shop):
    """An investigator's request to the shop, for two of its cameras and a resident's one."""
    officer = investigator(police)
    resident = owner()
    cams = [
        camera_facing_incident(shop, name="Shop front"),
        camera_facing_incident(shop, name="Shop door", direction_deg=80),
        camera_facing_incident(resident, name="Porch"),
    ]
    found = search(officer)
    request = ask(officer, found, cams)
    return request, officer, cams, resident


def test_a_request_within_the_cap_emails_each_owner_once_listing_their_cameras(asked, shop):
    request, _, _, resident = asked
    assert request.status == FootageRequest.Status.SENT
    assert sorted(m.to[0] for m in mail.outbox) == sorted([shop.email, resident.email])
    shop_mail = next(m for m in mail.outbox if m.to == [shop.email])
    assert "Shop front" in shop_mail.body and "Shop door" in shop_mail.body
    assert "Porch" not in shop_mail.body
    # Agency and role, no officer name by default; the window in local time and UTC.
    assert "Riverton PD (Investigator)" in shop_mail.body
    assert "(America/New_York)" in shop_mail.body and " UTC" in shop_mail.body
    # The window in the camera's wall clock and in UTC: two different times.
    zone = zoneinfo.ZoneInfo("America/New_York")
    local = request.window_start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    utc = request.window_start.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    assert local != utc
    assert f"Shop front: {local} to " in shop_mail.body
    assert f"which is {utc} to " in shop_mail.body
    assert set(request.cameras.values_list("status", flat=True)) == {Status.SENT}


def test_the_officer_name_reaches_owners_only_when_the_agency_says_so(police, shop):
    RegistryPolicy.objects.create(agency=police, show_officer_names_to_owners=True)
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    ask(officer, search(officer), [cam])
    assert f"Riverton PD (Investigator: {officer.full_name})" in mail.outbox[0].body


def test_the_link_token_is_stored_only_as_a_hash(asked, shop):
    request, *_ = asked
    token = token_of(links_in_outbox(shop.email)[0])
    recipient = request.recipients.get(owner=shop)
    assert token not in str(list(recipient.links.values()))
    assert rs.recipient_for_link(request_id=request.pk, token=token) == recipient


def test_a_window_over_the_cap_without_approval_is_refused_with_a_clear_message(police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    found = search(officer)
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        ask(officer, found, [cam], window_start=now - dt.timedelta(hours=5), window_end=now)
    assert refused.value.message_dict["window_end"] == [
        "The time window is 5 h, longer than Riverton PD's limit of 2 h. Shorten it, or ask "
        "for a supervisor's approval: the request is sent only once a supervisor approves it."
    ]
    assert not FootageRequest.objects.exists()
    assert mail.outbox == []


def test_a_long_window_waits_for_a_supervisor_and_only_then_emails(police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    now = timezone.now()
    request = ask(
        officer, search(officer), [cam],
        window_start=now - dt.timedelta(hours=5), window_end=now - dt.timedelta(minutes=1),
        ask_approval=True,
    )  # fmt: skip
    assert request.status == FootageRequest.Status.AWAITING_APPROVAL
    assert mail.outbox == []
    assert request.cameras.get().status == Status.PENDING

    with pytest.raises(PermissionDenied):
        rs.footage_request_approve(actor=officer, request=request)
    # A supervisor cannot approve their own request, nor one of another agency.
    boss = supervisor(police)
    rs.footage_request_approve(actor=boss, request=request)
    request.refresh_from_db()
    assert request.status == FootageRequest.Status.SENT and request.decided_by == boss
    assert [m.to for m in mail.outbox] == [[shop.email]]
    with pytest.raises(ValidationError, match="already sent"):
        rs.footage_request_approve(actor=boss, request=request)


def test_a_supervisor_cannot_approve_their_own_long_request(police, shop):
    boss = supervisor(police)
    cam = camera_facing_incident(shop)
    now = timezone.now()
    request = ask(
        boss, search(boss), [cam],
        window_start=now - dt.timedelta(hours=4), window_end=now - dt.timedelta(hours=1),
        ask_approval=True,
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        rs.footage_request_approve(actor=boss, request=request)


def test_a_refused_request_never_reaches_the_owner(police, other_police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    now = timezone.now()
    request = ask(
        officer, search(officer), [cam],
        window_start=now - dt.timedelta(hours=4), window_end=now - dt.timedelta(hours=1),
        ask_approval=True,
    )  # fmt: skip
    with pytest.raises(Http404):
        rs.footage_request_refuse(actor=supervisor(other_police), request=request, reason="no")
    with pytest.raises(ValidationError):
        rs.footage_request_refuse(actor=supervisor(police), request=request, reason=" ")
    rs.footage_request_refuse(actor=supervisor(police), request=request, reason="Too broad")
    request.refresh_from_db()
    assert request.status == FootageRequest.Status.REFUSED
    assert request.refusal_reason == "Too broad"
    assert mail.outbox == [] and not request.recipients.filter(links__isnull=False).exists()


def test_only_cameras_from_the_search_that_allow_contact_can_be_asked(police, shop):
    officer = investigator(police)
    quiet = camera_facing_incident(shop, name="Map only", participation="location_only")
    paused = camera_facing_incident(shop, name="Paused one")
    found = search(officer)
    paused.paused_at = timezone.now()
    paused.save(update_fields=["paused_at"])
    with pytest.raises(ValidationError) as refused:
        ask(officer, found, [quiet, paused])
    assert refused.value.message_dict["cameras"] == [
        "These cameras cannot be asked for footage: Map only (its owner does not want to be "
        "contacted); Paused one (its owner paused participation)."
    ]
    elsewhere = camera_facing_incident(shop, name="Later")
    with pytest.raises(ValidationError, match="Only cameras this search returned"):
        ask(officer, found, [elsewhere])
    with pytest.raises(ValidationError, match="at least one camera"):
        ask(officer, found, [])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("case_number", "  ", "A case number is required."),
        ("reason", "", "State the legal basis or reason for the request."),
        ("reason", "x" * 2001, "The reason has at most 2000 characters."),
    ],
)
def test_case_number_and_reason_are_required(police, shop, field, value, message):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    with pytest.raises(ValidationError) as refused:
        ask(officer, search(officer), [cam], **{field: value})
    assert refused.value.message_dict[field] == [message]


def test_deadline_and_window_must_make_sense(police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    found = search(officer)
    now = timezone.now()
    with pytest.raises(ValidationError, match="1 hour to 30 days"):
        ask(officer, found, [cam], deadline=now + dt.timedelta(days=31))
    with pytest.raises(ValidationError, match="end after it starts"):
        ask(
            officer,
            found,
            [cam],
            window_start=now - dt.timedelta(hours=1),
            window_end=now - dt.timedelta(hours=2),
        )
    with pytest.raises(ValidationError, match="start in the past"):
        ask(
            officer,
            found,
            [cam],
            window_start=now + dt.timedelta(hours=1),
            window_end=now + dt.timedelta(hours=2),
        )


def test_another_agencys_search_cannot_be_used(police, other_police, shop):
    cam = camera_facing_incident(shop)
    found = search(investigator(police))
    with pytest.raises(PermissionDenied):
        ask(investigator(other_police), found, [cam])


def test_a_token_for_another_request_or_a_wrong_token_is_404(asked, police, shop):
    request, officer, cams, _ = asked
    second = ask(officer, search(officer), [cams[0]])
    first_token = token_of(links_in_outbox(shop.email)[0])
    with pytest.raises(Http404):
        rs.recipient_for_link(request_id=second.pk, token=first_token)
    # One character off (never the character it already ends with: that would be the token).
    off_by_one = first_token[:-1] + ("B" if first_token[-1] != "B" else "C")
    for wrong in ("", "x", off_by_one, "a" * 500):
        with pytest.raises(Http404):
            rs.recipient_for_link(request_id=request.pk, token=wrong)


def test_answers_per_camera_then_the_link_is_used(asked, shop):
    request, *_ = asked
    recipient = request.recipients.get(owner=shop)
    front, door = recipient.cameras.order_by("id")
    rs.recipient_open(recipient=recipient)
    assert set(recipient.cameras.values_list("status", flat=True)) == {Status.OPENED}
    rs.footage_answer(recipient=recipient, request_camera_id=front.pk, answer="no_footage")
    with pytest.raises(ValidationError, match="already answered"):
        rs.footage_answer(recipient=recipient, request_camera_id=front.pk, answer="declined")
    assert rs.link_state(recipient) == "open"
    rs.footage_answer(recipient=recipient, request_camera_id=door.pk, answer="declined")
    assert rs.link_state(recipient) == "answered"
    with pytest.raises(rs.LinkClosed, match="already used"):
        rs.footage_upload_grant(recipient=recipient, request_camera_id=door.pk)
    with pytest.raises(ValidationError):
        rs.footage_answer(recipient=recipient, request_camera_id=door.pk, answer="maybe")


def test_an_owner_cannot_answer_for_a_camera_of_someone_else(asked, shop):
    request, _, _, resident = asked
    recipient = request.recipients.get(owner=shop)
    porch = request.cameras.get(recipient__owner=resident)
    with pytest.raises(Http404):
        rs.footage_answer(recipient=recipient, request_camera_id=porch.pk, answer="declined")


def test_an_expired_link_says_so_and_accepts_nothing(asked, shop):
    request, *_ = asked
    FootageRequest.objects.filter(pk=request.pk).update(deadline=timezone.now())
    recipient = request.recipients.get(owner=shop)
    recipient.request.refresh_from_db()
    assert rs.link_state(recipient) == "expired"
    rc = recipient.cameras.first()
    with pytest.raises(rs.LinkClosed, match="This link expired on"):
        rs.footage_answer(recipient=recipient, request_camera_id=rc.pk, answer="declined")
    with pytest.raises(rs.LinkClosed, match="expired"):
        rs.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk)


def test_the_upload_grant_is_bound_to_the_request_and_a_reload_never_adds_files(police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    request = ask(officer, search(officer), [cam], max_files=2)
    recipient = request.recipients.get()
    rc = recipient.cameras.get()
    grant = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk).grant
    assert grant.flow == UploadGrant.Flow.FOOTAGE_REQUEST
    assert grant.source_ref == str(rc.pk)
    assert grant.max_files == 2 and grant.media_types == ["video/", "image/"]
    assert grant.expires_at == request.deadline
    upload = upload_create(grant=grant, length=3, metadata={"filename": "a.mp4"})
    upload_append(
        grant=grant, upload_id=upload.id, offset=0, body=io.BytesIO(b"abc"), body_length=3
    )
    # A second page load revokes the first grant; the new one allows what is left.
    again = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk).grant
    grant.refresh_from_db()
    assert grant.revoked_at is not None and again.max_files == 1
    upload = upload_create(grant=again, length=1, metadata={})
    upload_append(grant=again, upload_id=upload.id, offset=0, body=io.BytesIO(b"z"), body_length=1)
    assert Upload.objects.filter(state=Upload.State.COMPLETE).count() == 2
    with pytest.raises(rs.LinkClosed, match="allows 2 file"):
        rs.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk)


def test_arrived_files_make_the_camera_uploaded_and_show_on_the_receipt(police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    request = ask(officer, search(officer), [cam])
    recipient = request.recipients.get()
    rc = recipient.cameras.get()
    grant = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk).grant
    upload = upload_create(grant=grant, length=3, metadata={"filename": "clip.mp4"})
    upload_append(
        grant=grant, upload_id=upload.id, offset=0, body=io.BytesIO(b"abc"), body_length=3
    )

    receipt = rs.footage_receipt_record(recipient=recipient)
    assert [i.original_filename for i in receipt[0]["items"]] == ["clip.mp4"]
    assert receipt[0]["items"][0].source == "footage_request"
    rc.refresh_from_db()
    assert rc.status == Status.UPLOADED and rc.answered_at is not None
    assert rs.link_state(recipient) == "answered"
    rows = sel.answered_camera_rows(actor=officer, request=request)
    assert [i.pk for i in rows[0].items] == [receipt[0]["items"][0].pk]
    assert sel.time_to_first_answer(request) is not None


def test_requests_are_found_by_case_number_in_the_agency_only(asked, other_police):
    request, officer, *_ = asked
    assert list(
        sel.footage_requests_for_case_number(actor=officer, case_number=" rpd-2026-0042 ")
    ) == [request]
    stranger = investigator(other_police)
    assert not sel.footage_requests_for_case_number(
        actor=stranger, case_number="RPD-2026-0042"
    ).exists()
    with pytest.raises(Http404):
        sel.footage_request_get_for(actor=stranger, id=request.pk)


def test_every_request_is_an_audit_row_naming_its_cameras(asked):
    request, officer, cams, _ = asked
    row = AuditEvent.objects.get(action="registry.footage_request")
    assert row.actor == officer and row.case_ref == "RPD-2026-0042"
    assert row.details["camera_ids"] == [str(c.pk) for c in cams]
    assert row.target_id == str(request.pk)
