"""Footage request pages and API over HTTP: the owner's link, the dashboard, access, bad input."""

import base64
import datetime as dt
import hashlib
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone

from evidence.models import EvidenceItem
from evidence.processing import pipeline
from portal.models import AuditEvent
from portal.roles import Role
from registry.footage import services as rs
from registry.models import FootageRequest, FootageRequestCamera, FootageRequestRecipient
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    path_of,
    search,
    token_of,
)

pytestmark = pytest.mark.django_db(transaction=True)
Status = FootageRequestCamera.Status
EVIL = '<script>alert("x")</script>'


@pytest.fixture
def shop():
    return owner(role="business")


@pytest.fixture
def sent(police, shop):
    officer = investigator(police)
    cam = camera_facing_incident(shop, name=f"Front {EVIL}")
    request = ask(officer, search(officer), [cam], message=f"Hi {EVIL}")
    link = links_in_outbox(shop.email)[0]
    return request, officer, link


def test_the_owner_link_shows_who_asks_and_the_window_and_escapes_their_words(client, sent):
    request, _, link = sent
    page = client.get(path_of(link))
    assert page.status_code == 200
    body = page.content.decode()
    assert EVIL not in body and "&lt;script&gt;" in body
    assert "Riverton PD (Investigator)" in body
    assert "(America/New_York)" in body and "UTC" in body
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    # Opening is the one thing the agency learns while the request is open.
    assert set(request.cameras.values_list("status", flat=True)) == {Status.OPENED}


def test_wrong_tokens_and_a_token_for_another_request_are_404(client, sent, police, shop):
    request, officer, link = sent
    token = token_of(link)
    other = ask(officer, search(officer), [request.cameras.get().camera])
    assert client.get(f"/footage/{other.pk}/?t={token}").status_code == 404
    for wrong in ("", "nope", token[:-2], "A" * 300):
        assert client.get(f"/footage/{request.pk}/?t={wrong}").status_code == 404
    api = client.get(f"/api/registry/footage/{other.pk}/", HTTP_CANVASS_FOOTAGE_TOKEN=token)
    assert api.status_code == 404


def test_an_expired_link_says_so_plainly(client, sent):
    request, _, link = sent
    FootageRequest.objects.filter(pk=request.pk).update(deadline=timezone.now())
    page = client.get(path_of(link))
    assert page.status_code == 410
    assert "This link expired on" in page.content.decode()
    assert "Upload footage" not in page.content.decode()
    rc = request.cameras.get()
    grant = client.post(f"/footage/{request.pk}/upload/{rc.pk}/grant/?t={token_of(link)}")
    assert grant.status_code == 410 and "expired" in grant.json()["detail"]


def test_answering_no_footage_then_the_link_is_used(client, sent):
    request, _, link = sent
    rc = request.cameras.get()
    answered = client.post(
        f"/footage/{request.pk}/answer/?t={token_of(link)}",
        {"camera": rc.pk, "answer": "no_footage"},
        follow=True,
    )
    assert "your answer for" in answered.content.decode()
    rc.refresh_from_db()
    assert rc.status == Status.NO_FOOTAGE
    again = client.get(path_of(link))
    assert "This link was already used" in again.content.decode()
    refused = client.post(
        f"/footage/{request.pk}/answer/?t={token_of(link)}",
        {"camera": rc.pk, "answer": "declined"},
        follow=True,
    )
    assert "already used" in refused.content.decode()
    rc.refresh_from_db()
    assert rc.status == Status.NO_FOOTAGE


def _tus_create(client, grant: dict, length: int, filetype="video/mp4"):
    meta = f"filename {base64.b64encode(b'clip.mp4').decode()},filetype {base64.b64encode(filetype.encode()).decode()}"
    return client.generic(
        "POST",
        "/api/uploads/",
        b"",
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=meta,
        HTTP_CANVASS_UPLOAD_GRANT=grant["value"],
    )


def test_an_owner_cannot_send_more_or_larger_files_than_granted(client, police, shop, settings):
    officer = investigator(police)
    cam = camera_facing_incident(shop)
    request = ask(officer, search(officer), [cam], max_files=1)
    token = token_of(links_in_outbox(shop.email)[0])
    rc = request.cameras.get()
    grant = client.post(f"/footage/{request.pk}/upload/{rc.pk}/grant/?t={token}").json()
    assert grant["max_files"] == 1 and grant["media_types"] == ["video/", "image/"]

    too_big = _tus_create(client, grant, grant["max_file_bytes"] + 1)
    assert too_big.status_code == 413
    wrong_type = _tus_create(client, grant, 10, filetype="text/html")
    assert wrong_type.status_code == 415
    assert _tus_create(client, grant, 10).status_code == 201
    second = _tus_create(client, grant, 10)
    assert second.status_code == 403 and "allows 1 file" in second.content.decode()


def test_the_upload_page_and_the_receipt_show_computing_then_the_hash(client, sent):
    request, _, link = sent
    token = token_of(link)
    rc = request.cameras.get()
    page = client.get(f"/footage/{request.pk}/upload/{rc.pk}/?t={token}")
    assert page.status_code == 200 and 'id="uploader"' in page.content.decode()
    grant = client.post(f"/footage/{request.pk}/upload/{rc.pk}/grant/?t={token}").json()
    created = _tus_create(client, grant, 3)
    client.generic(
        "PATCH",
        created["Location"],
        b"abc",
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_OFFSET="0",
        HTTP_CANVASS_UPLOAD_GRANT=grant["value"],
    )
    receipt = client.get(f"/footage/{request.pk}/receipt/?t={token}").content.decode()
    assert "computing…" in receipt and 'http-equiv="refresh"' in receipt
    # The hash comes from the real pipeline run (storing the original hashes it).
    item = EvidenceItem.objects.get()
    pipeline.process(item.pk)
    item.refresh_from_db()
    assert item.sha256 == hashlib.sha256(b"abc").hexdigest()
    receipt = client.get(f"/footage/{request.pk}/receipt/?t={token}").content.decode()
    assert item.sha256 in receipt and "computing…" not in receipt
    rc.refresh_from_db()
    assert rc.status == Status.UPLOADED


def test_the_dashboard_lists_statuses_and_agency_b_gets_404(
    sent, signed_in, make_staff, other_police
):
    request, _, _ = sent
    colleague = signed_in(make_staff())
    listing = colleague.get("/staff/registry/requests/")
    assert listing.status_code == 200 and "RPD-2026-0042" in listing.content.decode()
    detail = colleague.get(f"/staff/registry/requests/{request.pk}/")
    assert detail.status_code == 200 and "no answer: 1" in detail.content.decode()
    assert EVIL not in detail.content.decode()
    assert AuditEvent.objects.filter(action="registry.footage_request_viewed").exists()

    stranger = signed_in(make_staff(agency=other_police))
    assert stranger.get(f"/staff/registry/requests/{request.pk}/").status_code == 404
    assert "RPD-2026-0042" not in stranger.get("/staff/registry/requests/").content.decode()
    assert stranger.get(f"/api/registry/requests/{request.pk}/").status_code == 404
    assert stranger.get("/api/registry/requests/").json()["count"] == 0


def test_residents_and_dispatchers_cannot_see_requests(sent, signed_in, make_staff, shop):
    request, _, _ = sent
    for user in (shop, make_staff(role=Role.DISPATCHER)):
        client = signed_in(user)
        assert client.get("/staff/registry/requests/").status_code == 403
        assert client.get(f"/staff/registry/requests/{request.pk}/").status_code == 403
        assert client.get("/api/registry/requests/").status_code == 403


def test_an_unanswered_camera_past_the_deadline_is_only_counted(
    sent, signed_in, make_staff, client
):
    request, _, link = sent
    client.get(path_of(link))  # opened
    FootageRequest.objects.filter(pk=request.pk).update(deadline=timezone.now())
    detail = signed_in(make_staff()).get(f"/api/registry/requests/{request.pk}/").json()
    assert detail["cameras"] == []
    assert detail["counts"] == {
        "asked": 1,
        "uploaded": 0,
        "no_footage": 0,
        "declined": 0,
        "no_answer": 1,
    }


def _wall(value: dt.datetime) -> str:
    # Staff type times on the agency's wall clock (portal.timefields).
    return value.astimezone(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def _new_form(found, cam, **overrides):
    now = timezone.now()
    data = {
        "cameras": [str(cam.pk)],
        "case_number": "RPD-2026-0042",
        "reason": "Burglary",
        "message": "",
        "window_start": _wall(now - dt.timedelta(hours=3)),
        "window_end": _wall(now - dt.timedelta(hours=2)),
        "deadline": _wall(now + dt.timedelta(days=2)),
    }
    return data | overrides


def test_the_new_request_page_refuses_a_long_window_then_a_supervisor_approves(
    police, shop, signed_in, make_staff
):
    cam = camera_facing_incident(shop)
    officer_user = make_staff()
    officer = signed_in(officer_user)
    officer.post(
        "/staff/registry/search/",
        {
            "case_number": "RPD-2026-0042", "reason": "Burglary",
            "reason_category": "property_crime", "latitude": 40.75,
            "longitude": -73.95, "radius_m": 300,
            "window_start": "2026-01-01T10:00", "window_end": "2026-01-01T11:00",
        },
    )  # fmt: skip
    from registry.models import CameraSearch

    found = CameraSearch.objects.get()
    url = f"/staff/registry/requests/new/?search={found.pk}&camera={cam.pk}"
    page = officer.get(url)
    assert page.status_code == 200 and "checked" in page.content.decode()
    now = timezone.now()
    long = {"window_start": _wall(now - dt.timedelta(hours=6))}
    refused = officer.post(url, _new_form(found, cam, **long))
    assert refused.status_code == 200
    assert "longer than Riverton PD&#x27;s limit of 2 h" in refused.content.decode()
    assert not FootageRequest.objects.exists()

    saved = officer.post(url, _new_form(found, cam, ask_approval="on", **long))
    request = FootageRequest.objects.get()
    assert saved.status_code == 302 and request.status == request.Status.AWAITING_APPROVAL
    assert mail.outbox == []
    assert officer.post(f"/staff/registry/requests/{request.pk}/approve/").status_code == 302
    request.refresh_from_db()
    assert request.status == request.Status.AWAITING_APPROVAL

    boss = make_staff(role=Role.SUPERVISOR)
    signed_in(boss).post(f"/staff/registry/requests/{request.pk}/approve/")
    request.refresh_from_db()
    assert request.status == request.Status.SENT and [m.to for m in mail.outbox] == [[shop.email]]


def test_another_agencys_search_id_is_404_on_the_new_page(
    police, other_police, shop, signed_in, make_staff
):
    camera_facing_incident(shop)
    found = search(investigator(police))
    stranger = signed_in(make_staff(agency=other_police))
    assert stranger.get(f"/staff/registry/requests/new/?search={found.pk}").status_code == 404
    assert stranger.get("/staff/registry/requests/new/?search=not-a-uuid").status_code == 404


def test_the_api_creates_and_refuses_bad_input_with_a_clear_message(
    police, shop, signed_in, make_staff
):
    cam = camera_facing_incident(shop)
    officer_user = make_staff()
    found = search(investigator(police))
    api = signed_in(officer_user)
    now = timezone.now()
    body = {
        "search": str(found.pk),
        "cameras": [str(cam.pk)],
        "case_number": "RPD-1",
        "reason": "Burglary",
        "window_start": (now - dt.timedelta(hours=5)).isoformat(),
        "window_end": (now - dt.timedelta(hours=1)).isoformat(),
        "deadline": (now + dt.timedelta(days=1)).isoformat(),
    }
    refused = api.post("/api/registry/requests/", body, content_type="application/json")
    assert refused.status_code == 400
    assert "longer than Riverton PD's limit of 2 h" in refused.json()["detail"]
    made = api.post(
        "/api/registry/requests/", body | {"ask_approval": True}, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["status"] == "awaiting_approval"
    assert made.json()["cameras"] == [] and made.json()["counts"]["asked"] == 1
    boss = make_staff(role=Role.SUPERVISOR)
    refused = signed_in(boss).post(
        f"/api/registry/requests/{made.json()['id']}/refuse", {"reason": "Too long"},
        content_type="application/json",
    )  # fmt: skip
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert mail.outbox == []


def test_the_owner_api_answers_by_token_header(client, sent):
    request, _, link = sent
    token = token_of(link)
    url = f"/api/registry/footage/{request.pk}/"
    assert client.get(url).status_code == 404
    view = client.get(url, HTTP_CANVASS_FOOTAGE_TOKEN=token).json()
    assert view["link"] == "open" and view["agency"] == "Riverton PD" and view["officer"] == ""
    rc_id = view["cameras"][0]["id"]
    grant = client.post(f"{url}cameras/{rc_id}/grant", HTTP_CANVASS_FOOTAGE_TOKEN=token)
    assert grant.status_code == 201 and grant.json()["header"] == "Canvass-Upload-Grant"
    bad = client.post(
        f"{url}answer", {"camera": rc_id, "answer": "maybe"}, content_type="application/json",
        HTTP_CANVASS_FOOTAGE_TOKEN=token,
    )  # fmt: skip
    assert bad.status_code == 400
    ok = client.post(
        f"{url}answer", {"camera": rc_id, "answer": "declined"}, content_type="application/json",
        HTTP_CANVASS_FOOTAGE_TOKEN=token,
    )  # fmt: skip
    assert ok.status_code == 200 and ok.json()["link"] == "answered"
    again = client.post(f"{url}cameras/{rc_id}/grant", HTTP_CANVASS_FOOTAGE_TOKEN=token)
    assert again.status_code == 410 and "already used" in again.json()["detail"]
    receipt = client.get(f"{url}receipt", HTTP_CANVASS_FOOTAGE_TOKEN=token).json()
    assert receipt[0]["answer"] == "declined" and receipt[0]["files"] == []


# --- emails that cannot be sent -------------------------------------------------------------

FAILING = "tests.registry.footage.failing_mail.FailingBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
EmailStatus = FootageRequestRecipient.EmailStatus


def test_a_sent_email_is_recorded_as_sent(sent):
    request, _, _ = sent
    assert [r.email_status for r in request.recipients.all()] == [EmailStatus.SENT]


def test_a_failed_email_is_recorded_shown_and_resent_with_a_fresh_link(
    police, shop, signed_in, make_staff, other_police, settings
):
    officer = investigator(police)
    cam = camera_facing_incident(shop, name=f"Gate {EVIL}")
    settings.EMAIL_BACKEND = FAILING
    request = ask(officer, search(officer), [cam])  # does not raise: the request is kept
    recipient = request.recipients.get()
    assert (recipient.email_status, recipient.email_error) == (
        EmailStatus.FAILED,
        "SMTPServerDisconnected",
    )
    failure = AuditEvent.objects.get(action="registry.footage_email_failed")
    assert failure.details == {
        "recipient": recipient.pk,
        "kind": "request",
        "error": "SMTPServerDisconnected",
    }
    assert shop.email not in str(failure.details) and mail.outbox == []

    me = signed_in(officer)
    listing = me.get("/staff/registry/requests/").content.decode()
    assert '<td class="error">1</td>' in listing
    assert me.get("/api/registry/requests/").json()["results"][0]["email_failed_count"] == 1
    page = me.get(f"/staff/registry/requests/{request.pk}/").content.decode()
    assert "Emails that could not be sent" in page and "Owner of Gate &lt;script&gt;" in page
    assert shop.email not in page  # the agency learns nothing about the owner
    resend = f"/staff/registry/requests/{request.pk}/recipients/{recipient.pk}/resend/"

    assert signed_in(make_staff(agency=other_police)).post(resend).status_code == 404
    assert signed_in(shop).post(resend).status_code == 403
    assert me.get(resend).status_code == 405
    wrong = f"/staff/registry/requests/{request.pk}/recipients/{recipient.pk + 999}/resend/"
    assert me.post(wrong).status_code == 404

    again = me.post(resend, follow=True).content.decode()
    assert "Sending failed again" in again
    assert AuditEvent.objects.filter(action="registry.footage_email_failed").count() == 2

    settings.EMAIL_BACKEND = LOCMEM
    done = me.post(resend, follow=True).content.decode()
    assert "Sent again with a fresh link." in done and "Emails that could not be sent" not in done
    recipient.refresh_from_db()
    assert recipient.email_status == EmailStatus.SENT and recipient.links.count() == 3
    [link] = links_in_outbox(shop.email)
    assert "Gate" in signed_in(shop).get(path_of(link)).content.decode()
    assert AuditEvent.objects.filter(action="registry.footage_request_resent").count() == 2
    refused = me.post(resend, follow=True).content.decode()
    assert "Only an email that failed can be sent again." in refused
    assert len(mail.outbox) == 1


def test_a_failed_reminder_does_not_stop_the_sweep_and_is_recorded(police, shop, settings):
    officer = investigator(police)
    cams = [camera_facing_incident(shop, name="A"), camera_facing_incident(owner(), name="B")]
    request = ask(officer, search(officer), cams, deadline=timezone.now() + dt.timedelta(hours=5))
    settings.EMAIL_BACKEND = FAILING
    assert rs.footage_requests_sweep()["reminded"] == 2
    # Recorded without naming the owner: only owners who have not answered are reminded, so a
    # per-owner failure (or a resend button) would tell the agency who ignored the request.
    statuses = sorted(r.email_status for r in request.recipients.all())
    assert statuses == [EmailStatus.SENT, EmailStatus.SENT]
    kinds = AuditEvent.objects.filter(action="registry.footage_email_failed")
    assert [e.details for e in kinds] == [
        {"kind": "reminder", "error": kinds[0].details["error"]}
    ] * 2
