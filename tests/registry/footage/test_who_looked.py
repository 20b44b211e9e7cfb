"""Owners see who looked at their cameras (from the audit log); reminders go out once, not at night."""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from portal.models import AuditEvent
from registry.footage import selectors as sel
from registry.footage import services as rs
from registry.models import FootageRequest, FootageRequestCamera, RegistryPolicy
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import ask, camera_facing_incident, links_in_outbox, search

pytestmark = pytest.mark.django_db(transaction=True)
EVIL = "<img src=x onerror=alert(1)>"


def test_every_search_leaves_an_audit_row_that_the_owner_sees_and_another_owner_does_not(
    police, signed_in
):
    mine, theirs = owner(), owner()
    cam = camera_facing_incident(mine, name="Porch")
    officer = investigator(police)
    found = search(officer, reason=f"Robbery {EVIL}")
    row = AuditEvent.objects.get(action="registry.camera_search", target_id=str(found.pk))
    assert str(cam.pk) in row.details["camera_ids"]

    page = signed_in(mine).get("/cameras/mine/history/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Search near an incident" in body and "Riverton PD · Investigator" in body
    assert "Robbery &lt;img" in body and EVIL not in body
    assert officer.full_name not in body  # no names unless the agency allows it
    assert "Porch" in body

    other = signed_in(theirs).get("/cameras/mine/history/").content.decode()
    assert "Robbery" not in other and "Nobody has searched" in other
    assert signed_in(theirs).get(f"/cameras/mine/history/{cam.pk}/").status_code == 404


def test_requests_appear_too_with_the_officer_name_when_the_policy_says_so(police):
    mine = owner()
    cam = camera_facing_incident(mine, name="Gate")
    officer = investigator(police)
    ask(officer, search(officer), [cam], reason="Hit and run")
    entries = sel.camera_access_history_for(owner=mine)
    assert [(e.kind, e.reason, e.officer) for e in entries] == [
        ("request", "Hit and run", ""),
        ("search", "Burglary at 100 Main Street", ""),
    ]
    RegistryPolicy.objects.create(agency=police, show_officer_names_to_owners=True)
    entries = sel.camera_access_history_for(owner=mine, camera_id=cam.pk)
    assert {e.officer for e in entries} == {officer.full_name}
    assert entries[0].cameras == ["Gate"]


def test_a_deleted_camera_keeps_its_history(police):
    mine = owner()
    cam = camera_facing_incident(mine)
    search(investigator(police))
    cam.deleted_at = timezone.now()
    cam.save(update_fields=["deleted_at"])
    assert len(sel.camera_access_history_for(owner=mine)) == 1


def test_staff_cannot_open_the_owner_history(signed_in, make_staff):
    assert signed_in(make_staff()).get("/cameras/mine/history/").status_code == 403


# --- reminders -------------------------------------------------------------------------------


def _request_due_soon(police, person, **camera):
    officer = investigator(police)
    cam = camera_facing_incident(person, **camera)
    request = ask(officer, search(officer), [cam])
    mail.outbox.clear()
    return request


def test_the_deadline_reminder_goes_once(police):
    person = owner()
    request = _request_due_soon(police, person)
    later = request.deadline - dt.timedelta(hours=3)
    assert rs.footage_requests_sweep(now=request.deadline - dt.timedelta(days=2))["reminded"] == 0
    assert rs.footage_requests_sweep(now=later)["reminded"] == 1
    assert rs.footage_requests_sweep(now=later + dt.timedelta(minutes=15))["reminded"] == 0
    assert [m.to for m in mail.outbox] == [[person.email]]
    assert "The request closes at" in mail.outbox[0].body
    # The reminder's own link works, and so does the first one.
    fresh = links_in_outbox(person.email)[0]
    assert "/footage/" in fresh
    assert request.recipients.get().links.count() == 2


def test_the_overwrite_reminder_goes_before_the_footage_is_recorded_over(police):
    person = owner()
    request = _request_due_soon(police, person, retention_days=1)
    # Retention 1 day: footage from the window's start is gone a day later.
    overwrite = sel.overwrite_at(request, request.cameras.get().camera)
    result = rs.footage_requests_sweep(now=overwrite - dt.timedelta(hours=2))
    assert result["reminded"] == 1
    assert "may soon record over" in mail.outbox[0].body
    assert rs.footage_requests_sweep(now=overwrite - dt.timedelta(hours=1))["reminded"] == 0


def test_reminders_wait_for_the_end_of_quiet_hours(police):
    person = owner()
    request = _request_due_soon(police, person)
    camera = request.cameras.get().camera
    quiet = request.deadline - dt.timedelta(hours=3)
    local = quiet.astimezone(zoneinfo.ZoneInfo(camera.time_zone))
    # Quiet from an hour before to an hour after `quiet`, in the camera's own time zone.
    camera.quiet_from = (local - dt.timedelta(hours=1)).time()
    camera.quiet_until = (local + dt.timedelta(hours=1)).time()
    camera.save(update_fields=["quiet_from", "quiet_until"])
    assert rs.footage_requests_sweep(now=quiet)["reminded"] == 0
    assert mail.outbox == []
    assert rs.footage_requests_sweep(now=quiet + dt.timedelta(hours=2))["reminded"] == 1
    assert len(mail.outbox) == 1


def test_no_reminder_for_an_answered_request_and_unanswered_cameras_expire(police):
    person = owner()
    request = _request_due_soon(police, person)
    recipient = request.recipients.get()
    rc = recipient.cameras.get()
    rs.footage_answer(recipient=recipient, request_camera_id=rc.pk, answer="declined")
    assert rs.footage_requests_sweep(now=request.deadline - dt.timedelta(hours=1))["reminded"] == 0

    other = _request_due_soon(police, owner())
    result = rs.footage_requests_sweep(now=other.deadline + dt.timedelta(minutes=1))
    assert result["expired"] == 1
    assert other.cameras.get().status == FootageRequestCamera.Status.EXPIRED
    assert request.cameras.get().status == FootageRequestCamera.Status.DECLINED
    assert rs.footage_requests_sweep(now=other.deadline + dt.timedelta(hours=1))["expired"] == 0
    assert FootageRequest.objects.count() == 2


def test_who_looked_reads_the_audit_log_through_the_gin_index(police):
    cams = [camera_facing_incident(owner(), name=f"Cam {i}") for i in range(3)]
    search(investigator(police))
    events = sel.access_events(camera_ids=[str(c.pk) for c in cams])
    assert events.count() == 1
    sql, params = events.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A log with many searches of other cameras (rolled back below: the rows bypass the
        # hash chain), so the planner weighs the indexes as it would in production.
        cursor.execute(
            """
            INSERT INTO portal_auditevent (seq, at, actor_label, actor_role, actor_agency,
                action, target_type, target_id, reason, case_ref, request_id, outcome,
                details, prev_hash, hash)
            SELECT 1000000 + n, now(), 'x', '', '', 'registry.camera_search', '', '', '', '',
                   '', 'success', jsonb_build_object('camera_ids',
                   jsonb_build_array(gen_random_uuid()::text, gen_random_uuid()::text)),
                   '', md5(n::text) || md5(n::text || 'x')
            FROM generate_series(1, 20000) n
            """
        )
        # What autovacuum does to the fast-update pending list between bursts of searches.
        cursor.execute("SELECT gin_clean_pending_list('registry_audit_details_path_gin')")
        cursor.execute("ANALYZE portal_auditevent")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert "registry_audit_details_path_gin" in plan, plan
    assert "Seq Scan" not in plan, plan
