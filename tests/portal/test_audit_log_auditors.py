"""The audit log for auditors (issue 16, item 11): actions grouped in words, target kinds by
name, date presets on the agency's calendar, details as JSON on the page and in the CSV."""

import csv
import datetime as dt
import io
import json
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from portal import audit_actions as actions
from portal.audit import audit_record
from portal.audit_labels import action_choices, period_dates, target_type_choices
from portal.models import AuditEvent
from portal.roles import Role

pytestmark = pytest.mark.django_db
AUDIT = reverse("portal:audit_log")
EXPORT = reverse("portal:audit_export")
NY = zoneinfo.ZoneInfo("America/New_York")


def _rows(client, **params):
    page = client.get(AUDIT, params)
    assert page.status_code == 200, page.content.decode()[:500]
    return list(page.context["page"].object_list)


def _at(event, when: dt.datetime) -> AuditEvent:
    # The log refuses UPDATE; a test moves a row in time the way the chain test does.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute("UPDATE portal_auditevent SET at = %s WHERE id = %s", [when, event.pk])
        cursor.execute("ALTER TABLE portal_auditevent ENABLE TRIGGER audit_append_only")
    return AuditEvent.objects.get(pk=event.pk)


def test_actions_are_grouped_and_labelled_in_words():
    choices = action_choices()
    assert choices[0] == ("", "Any action")
    groups = {str(label): options for label, options in choices[1:]}
    assert {"Evidence", "Tips", "Sign-in", "Cases", "Body cameras"} <= set(groups)
    evidence = dict(groups["Evidence"])
    assert str(evidence["group:evidence"]) == "Any of: Evidence"
    assert all(name.startswith(("group:", "evidence.")) for name in evidence)
    assert dict(groups["Sign-in"])["auth.logout"] == actions.LOGOUT.description
    # live.* and livefeeds.* read as one group.
    assert any(n.startswith("livefeeds.") for n in dict(groups["Live feeds"]))
    assert any(n.startswith("live.") for n in dict(groups["Live feeds"]))


def test_target_types_are_models_by_name_and_an_old_typed_value_still_filters():
    choices = dict(target_type_choices())
    assert choices["portal.user"] == "User"
    assert choices["evidence.evidenceitem"] == "Evidence item"
    assert "auth.permission" not in choices and "sessions.session" not in choices
    assert dict(target_type_choices("legacy.thing"))["legacy.thing"] == "legacy.thing"


def test_periods_cover_whole_days_on_the_calendar():
    today = dt.date(2026, 3, 10)
    assert period_dates("today", today) == (today, today)
    assert period_dates("7d", today) == (dt.date(2026, 3, 4), today)
    assert period_dates("30d", today) == (dt.date(2026, 2, 9), today)
    assert period_dates("month", today) == (dt.date(2026, 3, 1), today)


def test_auditor_filters_by_group_action_target_kind_and_preset(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    target = make_staff(full_name="Target Person")
    audit_record(action=actions.ACCOUNT_DISABLED.name, actor=auditor, target=target)
    audit_record(action=actions.LOGOUT.name, actor=target, target=target)
    old = audit_record(action=actions.LOGOUT.name, actor=target, target=target)
    _at(old, timezone.now() - dt.timedelta(days=40))
    client = signed_in(auditor)

    sign_ins = _rows(client, action="group:auth")
    assert sign_ins and {e.action.split(".")[0] for e in sign_ins} == {"auth"}
    assert [e.action for e in _rows(client, action="account.disabled")] == ["account.disabled"]
    users = _rows(client, target_type="portal.user", target_id=str(target.pk))
    assert {e.target_id for e in users} == {str(target.pk)} and len(users) == 3

    recent = _rows(client, action="auth.logout", period="7d")
    assert old.pk not in {e.pk for e in recent} and recent
    assert old.pk in {e.pk for e in _rows(client, action="auth.logout")}
    assert old.pk not in {e.pk for e in _rows(client, action="auth.logout", period="today")}
    # The preset wins over typed dates, which are otherwise kept working.
    assert _rows(client, period="30d", date_from="2001-01-01", date_to="2001-01-02")
    assert _rows(client, date_from="2001-01-01", date_to="2001-01-02") == []
    page = client.get(AUDIT, {"period": "yesterday-ish"})
    assert b"Select a valid choice" in page.content


def test_dates_are_the_agency_days_not_utc_days(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)  # Riverton PD: America/New_York
    # 2026-12-05 03:00 UTC is 2026-12-04 22:00 in New York.
    late = _at(
        audit_record(action=actions.LOGOUT.name, actor=auditor),
        dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC),
    )
    client = signed_in(auditor)
    on_the_4th = _rows(client, action="auth.logout", date_from="2026-12-04", date_to="2026-12-04")
    assert [e.pk for e in on_the_4th] == [late.pk]
    assert _rows(client, action="auth.logout", date_from="2026-12-05", date_to="2026-12-05") == []


def test_the_page_shows_details_as_indented_json_in_an_expandable_row(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    audit_record(
        action=actions.LOGOUT.name,
        actor=auditor,
        details={"zeta": 1, "alpha": {"note": "<b>not html</b>"}},
    )
    page = signed_in(auditor).get(AUDIT, {"action": "auth.logout"}).content.decode()
    assert '<details class="audit-details"><summary>Show details</summary><pre>' in page
    pretty = json.dumps({"alpha": {"note": "<b>not html</b>"}, "zeta": 1}, indent=2)
    escaped = pretty.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert escaped in page and "<b>not html</b>" not in page
    assert actions.LOGOUT.description in page and '<code class="muted">auth.logout</code>' in page
    assert 'class="full-width"' in page


def test_the_csv_gives_details_as_json_and_keeps_its_filters(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    details = {"files": ["a.mp4", "b.mp4"], "count": 2, "note": "ñ =1"}
    audit_record(action=actions.LOGOUT.name, actor=auditor, details=details)
    audit_record(action=actions.ACCOUNT_DISABLED.name, actor=auditor, target=auditor)
    response = signed_in(auditor).get(EXPORT, {"action": "group:auth", "period": "today"})
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert rows and {r["action"].split(".")[0] for r in rows} == {"auth"}
    logout = next(r for r in rows if r["action"] == "auth.logout" and r["details"] != "{}")
    assert json.loads(logout["details"]) == details
