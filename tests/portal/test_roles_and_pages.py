import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from portal import audit_actions as actions
from portal.audit import audit_record
from portal.models import AuditEvent
from portal.roles import Cap, Role, capabilities_of, grant, has_capability
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("portal:dashboard")
AUDIT = reverse("portal:audit_log")
EXPORT = reverse("portal:audit_export")


def test_resident_cannot_open_staff_pages(resident, signed_in):
    client = signed_in(resident)
    for path in (DASHBOARD, AUDIT, EXPORT):
        assert client.get(path).status_code == 403
    assert client.get("/admin/").status_code == 302  # the admin sends everyone else to sign in
    denied = AuditEvent.objects.filter(action="access.denied", actor=resident)
    assert denied.count() == 3 and {e.outcome for e in denied} == {"denied"}


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(AUDIT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_auditor_reads_but_cannot_change_anything(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    colleague = make_staff()
    client = signed_in(auditor)
    assert client.get(AUDIT).status_code == 200
    assert client.get("/admin/").status_code == 302
    response = client.post(
        reverse("admin:portal_user_change", args=[colleague.pk]),
        {"email": colleague.email, "full_name": "Changed", "role": Role.AGENCY_ADMIN},
    )
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert colleague.role == Role.INVESTIGATOR and colleague.full_name != "Changed"


def test_prosecutor_sees_no_police_agency_pages(make_staff, prosecution, police, signed_in):
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    audit_record(action=actions.LOGOUT.name, actor_label="police thing", agency=police)
    client = signed_in(prosecutor)
    assert client.get(DASHBOARD).status_code == 200
    assert client.get(AUDIT).status_code == 403
    assert client.get("/admin/").status_code == 302
    assert not has_capability(prosecutor, Cap.POLICE_AREA)
    assert b"police thing" not in client.get(DASHBOARD).content


def test_police_roles_cannot_sit_in_a_prosecuting_office(prosecution):
    from django.core.exceptions import ValidationError

    from portal.services import check_role_fits_agency

    with pytest.raises(ValidationError):
        check_role_fits_agency(Role.INVESTIGATOR, prosecution)
    with pytest.raises(ValidationError):
        check_role_fits_agency(Role.RESIDENT, prosecution)
    check_role_fits_agency(Role.PROSECUTOR, prosecution)


def test_database_refuses_staff_without_agency():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        UserFactory(role=Role.INVESTIGATOR, agency=None)


def test_apps_extend_the_capability_map():
    assert "test.watch_feed" not in capabilities_of(Role.DISPATCHER)
    grant(Role.DISPATCHER, "test.watch_feed")
    assert "test.watch_feed" in capabilities_of(Role.DISPATCHER)


def test_disabled_user_loses_every_capability(make_staff):
    user = make_staff(role=Role.AUDITOR)
    assert has_capability(user, Cap.VIEW_AUDIT_LOG)
    user.is_active = False
    assert not has_capability(user, Cap.VIEW_AUDIT_LOG)


# --- the audit log page -------------------------------------------------------------------


def test_auditor_filters_by_actor_action_target_and_dates(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    target = make_staff(full_name="Target Person")
    audit_record(action=actions.ACCOUNT_DISABLED.name, actor=auditor, target=target)
    audit_record(action=actions.LOGOUT.name, actor=target, target=target)
    client = signed_in(auditor)

    page = client.get(AUDIT, {"action": "account.disabled"})
    assert page.status_code == 200
    rows = page.context["page"].object_list
    assert [e.action for e in rows] == ["account.disabled"]

    rows = client.get(AUDIT, {"actor": "Target Person"}).context["page"].object_list
    assert {e.action for e in rows} >= {"auth.logout"}
    assert all("Target Person" in e.actor_label for e in rows)

    rows = (
        client.get(AUDIT, {"target_type": "portal.user", "target_id": target.pk})
        .context["page"]
        .object_list
    )
    assert {e.target_id for e in rows} == {str(target.pk)}

    rows = (
        client.get(AUDIT, {"date_from": "2001-01-01", "date_to": "2001-01-02"})
        .context["page"]
        .object_list
    )
    assert list(rows) == []


def test_bad_filters_are_reported_not_crashed(make_staff, signed_in):
    client = signed_in(make_staff(role=Role.AUDITOR))
    response = client.get(
        AUDIT, {"date_from": "2026-02-30", "action": "no.such", "date_to": "x" * 500}
    )
    assert response.status_code == 200
    assert b"Enter a valid date" in response.content
    response = client.get(AUDIT, {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert b"start date is after the end date" in response.content


def test_auditor_sees_only_their_own_agency(make_staff, other_police, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    outsider = make_staff(agency=other_police, full_name="Outsider Officer")
    audit_record(action=actions.LOGOUT.name, actor=outsider, target=outsider)
    client = signed_in(auditor)
    rows = client.get(AUDIT, {"page": 1}).context["page"].object_list
    assert rows and all(e.agency_id == auditor.agency_id for e in rows)
    assert b"Outsider Officer" not in client.get(EXPORT).getvalue()


def test_reading_the_audit_log_is_itself_audited(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    client = signed_in(auditor)
    client.get(AUDIT, {"action": "auth.logout"})
    read = AuditEvent.objects.filter(action="audit.viewed", actor=auditor).latest("seq")
    assert read.details["filters"]["action"] == "auth.logout"


def test_csv_export_has_every_column_and_defuses_formulas(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    audit_record(
        action=actions.LOGOUT.name, actor_label='=HYPERLINK("http://x")', agency=auditor.agency
    )
    client = signed_in(auditor)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert {"seq", "at", "actor_label", "action", "hash", "prev_hash"} <= set(rows[0])
    forged = next(r for r in rows if "HYPERLINK" in r["actor_label"])
    assert forged["actor_label"].startswith("'=")
    assert AuditEvent.objects.filter(action="audit.exported", actor=auditor).exists()


def test_csv_export_cells_are_the_stored_values_chunk_after_chunk(make_staff, signed_in):
    """The export reads plain rows (times and details as PostgreSQL's text, a server-side
    cursor in chunks), and each cell is still what the stored row says: the time as
    datetime.isoformat writes it, the details as JSON with sorted keys."""
    import json

    from portal.selectors import AuditFilters, audit_events_for, audit_rows_for_export
    from tests.evidence.cases_helpers import verified

    auditor = verified(make_staff(role=Role.AUDITOR))
    for i in range(5):
        audit_record(
            action=actions.LOGOUT.name,
            actor_label=f"Zoë {i}",
            agency=auditor.agency,
            reason="-1 day" if i == 2 else "",
            details={"zeta": [1, {"b": 2, "a": "ü"}], "alpha": i, "when": "2026-12-04"},
        )
    stored = list(audit_events_for(actor=auditor, filters=AuditFilters()))
    chunks = list(audit_rows_for_export(actor=auditor, filters=AuditFilters(), chunk=2))
    assert len(chunks) >= 3 and all(len(c) == 2 for c in chunks[:-1])
    assert [r.seq for c in chunks for r in c] == [e.seq for e in stored]

    response = signed_in(auditor).get(EXPORT)
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    by_seq = {int(r["seq"]): r for r in rows}
    for event in stored:
        row = by_seq[event.seq]
        assert row["at"] == event.at.isoformat(timespec="microseconds")
        assert row["details"] == json.dumps(event.details, sort_keys=True, ensure_ascii=False)
        assert (row["actor_label"], row["hash"], row["prev_hash"]) == (
            event.actor_label,
            event.hash,
            event.prev_hash,
        )
        assert row["reason"] == ("'" + event.reason if event.reason[:1] == "-" else event.reason)
    assert any(r["reason"] == "'-1 day" for r in rows)


def test_agency_admin_reads_the_log_but_cannot_export(make_staff, signed_in):
    client = signed_in(make_staff(role=Role.AGENCY_ADMIN))
    assert client.get(AUDIT).status_code == 200
    assert client.get(EXPORT).status_code == 403


def test_investigator_cannot_read_the_audit_log(make_staff, signed_in):
    client = signed_in(make_staff())
    assert client.get(AUDIT).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_dashboard_shows_recent_events_to_auditors_only(make_staff, signed_in):
    auditor, investigator = make_staff(role=Role.AUDITOR), make_staff()
    auditor_page = signed_in(auditor).get(DASHBOARD)
    assert b"Recent audit events" in auditor_page.content
    assert b"auth.login_succeeded" in auditor_page.content
    investigator_page = signed_in(investigator).get(DASHBOARD)
    assert b"Recent audit events" not in investigator_page.content
    assert b"Your recent sign-in activity" in investigator_page.content


def test_pages_carry_a_request_id_that_the_audit_row_shares(make_staff):
    user = make_staff(role=Role.AUDITOR)
    client = Client()
    from tests.conftest import sign_in

    sign_in(client, user)
    response = client.get(AUDIT)
    read = AuditEvent.objects.filter(action="audit.viewed").latest("seq")
    assert response["X-Request-ID"] == read.request_id
