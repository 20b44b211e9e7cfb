import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from portal.celery import app
from portal.models import AuditEvent
from portal.roles import Role
from portal.services import users_disable_inactive
from portal.tasks import disable_inactive_accounts

pytestmark = pytest.mark.django_db


def days_ago(n):
    return timezone.now() - dt.timedelta(days=n)


def test_staff_unused_for_90_days_are_disabled_and_audited(make_staff, resident):
    stale = make_staff(last_login=days_ago(91))
    fresh = make_staff(last_login=days_ago(89))
    never = make_staff(last_login=None, date_joined=days_ago(120))
    new = make_staff(last_login=None, date_joined=days_ago(3))
    resident.last_login = days_ago(400)
    resident.save()

    disabled = users_disable_inactive()

    assert sorted(disabled) == sorted([stale.pk, never.pk])
    for user in (stale, fresh, never, new, resident):
        user.refresh_from_db()
    assert not stale.is_active and not never.is_active
    assert fresh.is_active and new.is_active and resident.is_active
    assert "90 days" in stale.disabled_reason
    event = AuditEvent.objects.get(action="account.disabled", target_id=str(stale.pk))
    assert event.details["why"] == "inactive" and event.agency_id == stale.agency_id


def test_running_twice_disables_nothing_more(make_staff):
    make_staff(last_login=days_ago(100))
    assert len(users_disable_inactive()) == 1
    assert users_disable_inactive() == []
    assert AuditEvent.objects.filter(action="account.disabled").count() == 1


def test_the_task_is_scheduled_nightly_and_runs_the_service(make_staff):
    entry = settings.CELERY_BEAT_SCHEDULE["disable-inactive-accounts"]
    assert entry["task"] in app.tasks or entry["task"] == disable_inactive_accounts.name
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30}
    make_staff(role=Role.AUDITOR, last_login=days_ago(200))
    assert disable_inactive_accounts.apply().get() == 1


def test_reenabled_account_is_not_disabled_again_the_next_night(make_staff):
    from portal.services import user_set_active

    admin = make_staff(role=Role.AGENCY_ADMIN)
    user = make_staff(last_login=days_ago(100))
    users_disable_inactive()
    user.refresh_from_db()
    admin.is_verified = lambda: True
    user_set_active(actor=admin, user=user, active=True)
    assert users_disable_inactive() == []


def test_a_real_worker_runs_the_nightly_job(celery_worker, make_staff):
    import time

    user = make_staff(last_login=days_ago(120))
    disable_inactive_accounts.delay()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        user.refresh_from_db()
        if not user.is_active:
            break
        time.sleep(0.2)
    assert not user.is_active
    assert AuditEvent.objects.get(action="account.disabled").actor_label.startswith("system")
