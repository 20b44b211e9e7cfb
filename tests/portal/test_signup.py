import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, User
from portal.roles import Role

pytestmark = pytest.mark.django_db

SIGNUP = reverse("portal:signup")
GOOD = {
    "full_name": "Rosa Resident",
    "email": "Rosa@Example.com",
    "role": Role.RESIDENT,
    "password": "a long enough passphrase",
}


def verification_link():
    return next(
        line for line in mail.outbox[-1].body.splitlines() if "/signup/verify/" in line
    ).strip()


@pytest.fixture
def signed_up(run_queued_emails):
    with run_queued_emails():
        response = Client().post(SIGNUP, GOOD)
    assert response.status_code == 200 and b"Check your email" in response.content
    return User.objects.get(email="rosa@example.com")


def test_signup_creates_an_unverified_public_account(signed_up):
    assert signed_up.role == Role.RESIDENT and signed_up.agency is None
    assert signed_up.email_verified_at is None
    assert AuditEvent.objects.filter(action="account.created", target_id=str(signed_up.pk)).exists()


def test_sign_in_waits_for_the_email_link(signed_up):
    response = Client().post(
        reverse("portal:login"), {"email": GOOD["email"], "password": GOOD["password"]}
    )
    assert b"Confirm your email" in response.content


def test_the_link_verifies_once_then_sign_in_works(signed_up):
    link = verification_link()
    path = link.split("8000", 1)[-1]
    assert Client().get(path).status_code == 200
    signed_up.refresh_from_db()
    assert signed_up.email_verified_at is not None
    assert Client().get(path).status_code == 400  # used
    client = Client()
    assert (
        client.post(
            reverse("portal:login"), {"email": GOOD["email"], "password": GOOD["password"]}
        ).status_code
        == 302
    )


def test_a_stale_link_is_refused(signed_up):
    path = verification_link().split("8000", 1)[-1]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):
        assert Client().get(path).status_code == 400
    signed_up.refresh_from_db()
    assert signed_up.email_verified_at is None


def test_a_forged_link_is_refused():
    response = Client().get(reverse("portal:signup_verify"), {"t": "eyJ1aWQiOjF9:forged:sig"})
    assert response.status_code == 400 and b"does not work" in response.content


def test_duplicate_email_in_any_case_makes_no_second_account(signed_up):
    response = Client().post(SIGNUP, {**GOOD, "email": "ROSA@example.com"})
    # The same page as a new address (tests/portal/test_signup_privacy.py): no "already exists".
    assert b"Check your email" in response.content
    assert User.objects.filter(email__iexact="rosa@example.com").count() == 1


@pytest.mark.parametrize(
    "override, message",
    [
        ({"password": "short"}, b"too short"),
        ({"password": "password1234"}, b"too common"),
        ({"role": Role.INVESTIGATOR}, b"Select a valid choice"),
        ({"role": Role.AGENCY_ADMIN}, b"Select a valid choice"),
        ({"email": "not an email"}, b"valid email"),
        ({"full_name": "x" * 500}, b"at most 200"),
        ({"email": "a" * 250 + "@example.com"}, b"at most 254"),
    ],
)
def test_bad_signups_are_refused_with_a_reason(override, message):
    response = Client().post(SIGNUP, {**GOOD, **override})
    assert response.status_code == 200
    assert message in response.content
    assert not User.objects.exists()


def test_a_script_in_the_name_is_stored_as_text_and_escaped(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(SIGNUP, {**GOOD, "full_name": "<script>alert(1)</script>"})
    user = User.objects.get()
    assert user.full_name == "<script>alert(1)</script>"
    user.email_verified_at = user.date_joined
    user.save()
    client = Client()
    client.post(reverse("portal:login"), {"email": GOOD["email"], "password": GOOD["password"]})
    page = client.get(reverse("portal:account")).content
    assert b"<script>alert(1)</script>" not in page and b"&lt;script&gt;" in page
