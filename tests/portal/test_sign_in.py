import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import AuditEvent, User
from portal.roles import Role
from tests.conftest import totp_code
from tests.factories import PASSWORD, add_totp_device

pytestmark = pytest.mark.django_db

LOGIN = reverse("portal:login")
CODE = reverse("portal:login_verify")
ENROL = reverse("portal:login_enrol")
DASHBOARD = reverse("portal:dashboard")


def post_password(client, user, password=PASSWORD):
    return client.post(LOGIN, {"email": user.email, "password": password})


def actions_for(user):
    return list(
        AuditEvent.objects.filter(target_type="portal.user", target_id=str(user.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_password_alone_does_not_open_a_staff_session(make_staff):
    user = make_staff()
    client = Client()
    response = post_password(client, user)
    assert response["Location"] == CODE
    assert "_auth_user_id" not in client.session
    assert client.get(DASHBOARD).status_code == 302


def test_staff_without_a_device_must_enrol_and_reaches_no_staff_page_before(make_staff):
    user = make_staff(device=False)
    client = Client()
    assert post_password(client, user)["Location"] == ENROL
    page = client.get(ENROL)
    assert b"<svg" in page.content and b"Key:" in page.content
    for path in (DASHBOARD, reverse("portal:audit_log"), "/admin/"):
        assert client.get(path).status_code == 302
    # The code/verify step refuses to skip enrolment.
    assert client.get(CODE)["Location"] == ENROL


def test_enrolment_with_the_shown_secret_confirms_the_device_and_signs_in(make_staff):
    user = make_staff(device=False)
    client = Client()
    post_password(client, user)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(ENROL, {"code": totp_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(DASHBOARD).status_code == 200
    assert actions_for(user)[-2:] == ["auth.mfa_enrolled", "auth.login_succeeded"]


def test_totp_sign_in_reaches_the_dashboard_and_is_audited(make_staff):
    user = make_staff()
    client = Client()
    post_password(client, user)
    device = TOTPDevice.objects.get(user=user)
    response = client.post(CODE, {"code": totp_code(device)})
    assert response["Location"] == reverse("portal:home")
    assert client.get(DASHBOARD).status_code == 200
    success = AuditEvent.objects.get(action="auth.login_succeeded")
    assert success.actor_id == user.pk and success.details == {"second_factor": True}
    assert success.request_id and success.agency_id == user.agency_id


def test_a_used_code_cannot_be_replayed(make_staff):
    user = make_staff()
    first = Client()
    post_password(first, user)
    code = totp_code(TOTPDevice.objects.get(user=user))
    first.post(CODE, {"code": code})
    second = Client()
    post_password(second, user)
    response = second.post(CODE, {"code": code})
    assert response.status_code == 200
    assert b"not right" in response.content


def test_wrong_code_fails_and_counts_toward_lockout(make_staff):
    user = make_staff()
    client = Client()
    post_password(client, user)
    response = client.post(CODE, {"code": "000000"})
    assert response.status_code == 200 and b"not right" in response.content
    failure = AuditEvent.objects.get(action="auth.login_failed")
    assert failure.details["stage"] == "code" and failure.outcome == "denied"
    for _ in range(4):
        client.post(CODE, {"code": "000000"})
    user.refresh_from_db()
    assert user.is_locked


@pytest.mark.parametrize("code", ["", "abcdef", "1" * 13, "<script>alert(1)</script>", "12345\x00"])
def test_malformed_codes_are_refused_cleanly(make_staff, code):
    user = make_staff()
    client = Client()
    post_password(client, user)
    response = client.post(CODE, {"code": code})
    assert response.status_code == 200
    assert b"<script>alert" not in response.content
    assert "_auth_user_id" not in client.session


def test_next_parameter_is_followed_only_within_the_site(make_staff):
    user = make_staff()
    client = Client()
    client.post(LOGIN, {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"})
    response = client.post(CODE, {"code": totp_code(TOTPDevice.objects.get(user=user))})
    assert response["Location"] == reverse("portal:home")

    client = Client()
    client.post(LOGIN, {"email": user.email, "password": PASSWORD, "next": "/staff/audit/"})
    response = client.post(CODE, {"code": totp_code(TOTPDevice.objects.get(user=user))})
    assert response["Location"] == "/staff/audit/"


def test_pending_second_step_expires_after_five_minutes(make_staff):
    user = make_staff()
    client = Client()
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        post_password(client, user)
        clock.shift(dt.timedelta(minutes=6))
        response = client.post(CODE, {"code": totp_code(TOTPDevice.objects.get(user=user))})
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_wrong_password_gives_one_generic_error_for_known_and_unknown_accounts(make_staff):
    user = make_staff()
    known = post_password(Client(), user, "wrong password!")
    unknown = Client().post(LOGIN, {"email": "nobody@example.org", "password": "whatever"})
    assert known.status_code == unknown.status_code == 200
    assert b"do not match an account" in known.content
    assert b"do not match an account" in unknown.content
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "not-an-email", "password": "x"},
        {"email": "a" * 300 + "@example.org", "password": "x"},
        {"email": "x@example.org' OR 1=1 --", "password": "' OR '1'='1"},
        {"email": "x@example.org", "password": "p" * 5000},
    ],
)
def test_bad_login_input_gets_a_form_error_not_a_crash(data):
    response = Client().post(LOGIN, data)
    assert response.status_code == 200
    assert b'class="error"' in response.content


def test_login_form_without_csrf_token_is_refused(make_staff):
    user = make_staff()
    client = Client(enforce_csrf_checks=True)
    response = post_password(client, user)
    assert response.status_code == 403


def test_disabled_account_cannot_sign_in(make_staff):
    user = make_staff(is_active=False)
    response = post_password(Client(), user)
    assert response.status_code == 200 and b"disabled" in response.content


def test_public_user_signs_in_with_password_only(resident):
    client = Client()
    response = post_password(client, resident)
    assert response.status_code == 302
    assert client.get(reverse("portal:account")).status_code == 200


def test_public_user_with_a_device_is_asked_for_a_code(resident):
    add_totp_device(resident)
    client = Client()
    assert post_password(client, resident)["Location"] == CODE
    assert "_auth_user_id" not in client.session


def test_public_user_can_turn_on_mfa(resident, signed_in):
    client = signed_in(resident)
    page = client.get(reverse("portal:account_mfa"))
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=resident, confirmed=False)
    client.post(reverse("portal:account_mfa"), {"code": totp_code(device)})
    device.refresh_from_db()
    assert device.confirmed


def test_logout_is_post_only_and_audited(make_staff, signed_in):
    user = make_staff()
    client = signed_in(user)
    assert client.get(reverse("portal:logout")).status_code == 405
    client.post(reverse("portal:logout"))
    assert client.get(DASHBOARD).status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout", actor=user).exists()


def test_role_change_takes_effect_on_the_next_request(make_staff, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    client = signed_in(auditor)
    assert client.get(reverse("portal:audit_log")).status_code == 200
    User.objects.filter(pk=auditor.pk).update(role=Role.INVESTIGATOR)
    assert client.get(reverse("portal:audit_log")).status_code == 403
