import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("portal:login")
START = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def fail(user, times=1):
    for _ in range(times):
        Client().post(LOGIN, {"email": user.email, "password": "not the password"})


def events(user, action):
    return AuditEvent.objects.filter(
        action=action, target_type="portal.user", target_id=str(user.pk)
    )


def test_five_failures_within_fifteen_minutes_lock_the_account(make_staff):
    user = make_staff()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            fail(user)
            clock.shift(dt.timedelta(minutes=3))
    user.refresh_from_db()
    assert user.is_locked
    lock = events(user, "auth.account_locked").get()
    assert lock.details == {"failures": 5, "window_seconds": 900}
    assert events(user, "auth.login_failed").count() == 5


def test_failures_spread_beyond_the_window_do_not_lock(make_staff):
    user = make_staff()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(8):
            fail(user)
            clock.shift(dt.timedelta(minutes=4))
    user.refresh_from_db()
    assert not user.is_locked


def test_four_failures_then_success_resets_the_count(make_staff, signed_in):
    user = make_staff()
    fail(user, 4)
    signed_in(user)
    fail(user, 4)
    user.refresh_from_db()
    assert not user.is_locked


def test_a_locked_account_refuses_even_the_right_password_and_says_why(make_staff):
    user = make_staff()
    fail(user, 5)
    client = Client()
    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert b"locked" in response.content and b"agency admin" in response.content
    assert "_auth_user_id" not in client.session
    # Staying locked does not depend on time: there is no automatic release.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
        response = Client().post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert b"locked" in response.content


def test_a_locked_account_answers_the_same_to_right_and_wrong_passwords(make_staff):
    user = make_staff()
    fail(user, 5)
    right = Client().post(LOGIN, {"email": user.email, "password": PASSWORD})
    wrong = Client().post(LOGIN, {"email": user.email, "password": "still wrong"})
    unknown = Client().post(LOGIN, {"email": "nobody@example.org", "password": "still wrong"})
    errors = [r.context["form"].non_field_errors() for r in (right, wrong, unknown)]
    assert errors[0] == errors[1] == errors[2]


def test_agency_admin_unlocks_in_admin_and_the_user_can_sign_in(make_staff, signed_in):
    user = make_staff()
    admin = make_staff(role=Role.AGENCY_ADMIN)
    fail(user, 5)
    admin_client = signed_in(admin)
    changelist = admin_client.get(reverse("admin:portal_user_changelist"))
    assert b"Locked since" in changelist.content
    response = admin_client.post(
        reverse("admin:portal_user_changelist"),
        {"action": "unlock_accounts", "_selected_action": [user.pk]},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_locked
    unlock = events(user, "auth.account_unlocked").get()
    assert unlock.actor_id == admin.pk
    signed_in(user)  # the failures before the unlock no longer count
    fail(user, 1)
    user.refresh_from_db()
    assert not user.is_locked


def test_admin_of_another_agency_cannot_see_or_unlock(make_staff, other_police, signed_in):
    user = make_staff()
    stranger = make_staff(role=Role.AGENCY_ADMIN, agency=other_police)
    fail(user, 5)
    client = signed_in(stranger)
    assert client.get(reverse("admin:portal_user_change", args=[user.pk])).status_code == 302
    client.post(
        reverse("admin:portal_user_changelist"),
        {"action": "unlock_accounts", "_selected_action": [user.pk]},
    )
    user.refresh_from_db()
    assert user.is_locked


def test_public_user_unlocks_by_resetting_the_password_by_email(resident, run_queued_emails):
    fail(resident, 5)
    resident.refresh_from_db()
    assert resident.is_locked
    with run_queued_emails():
        Client().post(reverse("portal:password_reset"), {"email": resident.email})
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/password/set/" in line)
    client = Client()
    form_page = client.get(link.strip(), follow=True)
    new_password = "a brand new long passphrase"
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    resident.refresh_from_db()
    assert not resident.is_locked
    assert events(resident, "auth.account_unlocked").get().details == {
        "via": "password reset by email"
    }
    assert (
        Client().post(LOGIN, {"email": resident.email, "password": new_password}).status_code == 302
    )


def test_staff_password_reset_does_not_lift_a_lockout(make_staff, run_queued_emails):
    user = make_staff()
    fail(user, 5)
    with run_queued_emails():
        Client().post(reverse("portal:password_reset"), {"email": user.email})
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/password/set/" in line)
    client = Client()
    page = client.get(link.strip(), follow=True)
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "another long passphrase", "new_password2": "another long passphrase"},
    )
    user.refresh_from_db()
    assert user.is_locked
