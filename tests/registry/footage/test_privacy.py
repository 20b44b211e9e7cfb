"""The agency never learns who ignored its footage request.

An answer (files, "no footage", "I decline") is the owner's to give, so staff see answered
cameras with their answer. Whether an owner opened the link, was reminded, or let the deadline
pass is not: staff see only how many cameras have no answer, on every page, in the API, on the
case page and in the audit rows they can read.
"""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.cases import services as case_services
from portal.models import AuditEvent
from registry.footage import services as rs
from registry.models import FootageRequest
from tests.evidence.helpers import upload_bytes
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

ANSWERED = {
    "Alpha uploads": "Uploaded",
    "Bravo has none": "No footage",
    "Charlie says no": "Declined",
}
SILENT = ["Delta looked", "Echo silent"]  # Delta opens the link and stops; Echo never opens it
COUNTS = {"asked": 5, "uploaded": 1, "no_footage": 1, "declined": 1, "no_answer": 2}
# Actions whose rows list every camera asked (the agency chose them; owners see these rows).
ASKING_ACTIONS = {
    "registry.camera_search",
    "registry.footage_request",
    "registry.footage_request_sent",
}


@pytest.fixture
def asked(police, client):
    officer = investigator(police)
    cameras = {
        name: camera_facing_incident(owner(role="business"), name=name)
        for name in [*ANSWERED, *SILENT]
    }
    request = ask(
        officer,
        search(officer),
        list(cameras.values()),
        deadline=timezone.now() + dt.timedelta(hours=5),  # reminders are due
    )
    by_camera = {rc.camera.name: rc for rc in request.cameras.select_related("recipient")}

    def recipient(name):
        return by_camera[name].recipient

    grant = rs.footage_upload_grant(
        recipient=recipient("Alpha uploads"), request_camera_id=by_camera["Alpha uploads"].pk
    ).grant
    upload_bytes(grant, b"clip", filename="clip.mp4")
    for name, answer in (("Bravo has none", "no_footage"), ("Charlie says no", "declined")):
        rs.footage_answer(
            recipient=recipient(name), request_camera_id=by_camera[name].pk, answer=answer
        )
    [delta_link] = links_in_outbox(cameras["Delta looked"].owner.email)
    assert client.get(path_of(delta_link)).status_code == 200  # opened, then nothing
    case = case_services.case_create(actor=officer, number=request.case_number, title="B")
    return request, officer, cameras, case


def _silent_ids(cameras, request) -> list[str]:
    """Everything that would single out the silent owners: camera ids, recipient ids, owners."""
    found = []
    for name in SILENT:
        camera = cameras[name]
        rc = request.cameras.get(camera=camera)
        found += [str(camera.pk), f'"recipient": {rc.recipient_id}', camera.owner.email]
    return found


def _assert_staff_see_only_counts(staff, request, cameras, case):
    listing = staff.get(reverse("registry_requests:list")).content.decode()
    detail = staff.get(reverse("registry_requests:detail", args=[request.pk])).content.decode()
    case_page = staff.get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    api = staff.get(f"/api/registry/requests/{request.pk}/").json()
    api_list = staff.get("/api/registry/requests/").json()["results"]

    # The case page's own facts say when the case was "Opened": look at its linked-items card.
    linked = case_page[case_page.index("Linked tips and footage requests") :]
    linked = linked[: linked.index("<h2>")]
    for name in SILENT:
        assert name not in case_page  # neither in the list nor on the map
    for text in (listing, detail, linked, json.dumps(api), json.dumps(api_list)):
        for name in SILENT:
            assert name not in text
        assert "opened" not in text.lower()
        assert "expired" not in text.lower()
        assert "ignored" not in text.lower()
    for name, answer in ANSWERED.items():
        assert name in detail and name in case_page
        section = detail[detail.index(name) :]
        assert answer in section[: section.index("</section>")]

    assert api["counts"] == COUNTS and api_list[0]["counts"] == COUNTS
    assert sorted((c["camera_name"], c["status"]) for c in api["cameras"]) == [
        ("Alpha uploads", "uploaded"),
        ("Bravo has none", "no_footage"),
        ("Charlie says no", "declined"),
    ]
    assert "Asked: 5 · uploaded: 1 · no footage: 1 · declined: 1 · no answer: 2" in detail
    assert "<td>5</td>\n  <td>1</td>\n  <td>1</td>\n  <td>1</td>\n  <td>2</td>" in listing
    assert "5 asked, 1 uploaded, 1 no footage, 1 declined, 2 no answer" in case_page


def test_staff_see_answers_and_only_counts_of_the_rest_while_open_and_after_expiry(
    asked, signed_in
):
    request, officer, cameras, case = asked
    staff = signed_in(officer)
    _assert_staff_see_only_counts(staff, request, cameras, case)

    FootageRequest.objects.filter(pk=request.pk).update(deadline=timezone.now())
    assert rs.footage_requests_sweep()["expired"] == 2
    _assert_staff_see_only_counts(staff, request, cameras, case)


def test_reminders_and_expiry_leave_no_audit_row_naming_a_silent_owner(asked, settings, signed_in):
    request, officer, cameras, _ = asked
    # The reminders fail too: a failed reminder must not single its owner out either.
    settings.EMAIL_BACKEND = "tests.registry.footage.failing_mail.FailingBackend"
    assert rs.footage_requests_sweep()["reminded"] == 2  # Delta and Echo
    FootageRequest.objects.filter(pk=request.pk).update(deadline=timezone.now())
    assert rs.footage_requests_sweep()["expired"] == 2

    rows = AuditEvent.objects.filter(agency=request.agency).exclude(action__in=ASKING_ACTIONS)
    reminders = rows.filter(action="registry.footage_reminder_sent")
    assert reminders.count() == 2
    assert all("recipient" not in row.details for row in reminders)
    assert rows.filter(action="registry.footage_email_failed").count() == 2
    assert rows.filter(action="registry.footage_requests_expired").get().details["cameras"] == 2
    silent = _silent_ids(cameras, request)
    for row in rows:
        text = json.dumps(row.details, sort_keys=True) + str(row.target_id or "") + row.reason
        for needle in silent:
            assert needle not in text, (row.action, needle)
    detail = signed_in(officer).get(reverse("registry_requests:detail", args=[request.pk]))
    assert "Emails that could not be sent" not in detail.content.decode()


def _staff_readable_rows(auditor) -> list[dict]:
    """Every audit row an auditor can read, through the API and the CSV export."""
    import csv
    import io
    import json

    rows, url = [], "/api/audit-events/?page_size=500"
    while url:
        page = auditor.get(url).json()
        rows += page["results"]
        url = page.get("next")
    export = auditor.get(reverse("portal:audit_export"))
    text = b"".join(export.streaming_content).decode()
    for line in csv.DictReader(io.StringIO(text)):
        # The CSV cell is the details dict as JSON (portal.views.audit_export, details_json).
        rows.append(line | {"details": json.loads(line["details"] or "{}")})
    return rows


def _naming(value, ids: set[str], key: str = "") -> bool:
    """Does this details value (walked recursively) hold one of the ids?"""
    if isinstance(value, dict):
        return any(_naming(v, ids, k) for k, v in value.items())
    if isinstance(value, list):
        return any(_naming(v, ids, key) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        # Counts are integers too: an integer names a row only under an id-like key.
        id_like = key.endswith("_id") or key in ("source_ref", "recipient", "camera", "owner")
        return id_like and str(value) in ids
    return str(value) in ids


def test_an_owner_who_starts_an_upload_and_stops_is_not_named_in_any_audit_row(
    asked, make_staff, signed_in, client
):
    from evidence.intake import uploads
    from portal.roles import Role

    request, _, cameras, _ = asked
    camera = cameras["Delta looked"]
    rc = request.cameras.select_related("recipient__owner").get(camera=camera)
    [link] = links_in_outbox(camera.owner.email)
    grant_url = reverse("registry_owner:grant", args=[request.pk, rc.pk])
    token = {"t": token_of(link)}
    # The owner opens the uploader twice (the second grant revokes the first), starts a file
    # and cancels it: engaged, but no answer.
    assert client.post(grant_url, token).status_code == 201
    made = client.post(grant_url, token).json()
    grant = uploads.UploadGrant.objects.get(pk=made["id"])
    started = uploads.upload_create(grant=grant, length=100, metadata={"filename": "a.mp4"})
    uploads.upload_terminate(grant=grant, upload_id=started.id)
    assert AuditEvent.objects.filter(action="upload.granted").count() == 3  # Alpha's and two
    assert AuditEvent.objects.filter(action="upload.grants_revoked").count() == 1

    ids = {str(rc.pk), str(rc.recipient_id), str(camera.pk), str(camera.owner_id)}
    ids.add(camera.owner.email)
    auditor = signed_in(make_staff(role=Role.AUDITOR))
    rows = _staff_readable_rows(auditor)
    grant_rows = [r for r in rows if r["action"].startswith("upload.")]
    assert len(grant_rows) == 2 * 5  # granted x3, revoked, terminated; API and CSV
    for row in rows:
        if row["action"] in ASKING_ACTIONS:
            continue
        assert not _naming(row["details"], ids), (row["action"], row["details"])
        assert str(row["target_id"]) not in ids, row["action"]
    # The rows still say which request the grants were for.
    delta_grant_rows = [r for r in grant_rows if r["target_id"] == str(grant.pk)]
    assert delta_grant_rows and all(
        r["details"]["request"] == str(request.pk) for r in delta_grant_rows
    )
    page = auditor.get(reverse("portal:audit_log")).content.decode()
    assert camera.owner.email not in page
    for row in page.split("<tr>")[1:]:
        if str(camera.pk) in row:  # only the rows of the agency's own asking
            assert any(action in row for action in ASKING_ACTIONS), row
    assert f'"source_ref": "{rc.pk}"' not in page and f"source_ref: {rc.pk}" not in page
