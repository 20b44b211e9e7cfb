"""Sign-up and password reset say nothing about which addresses have accounts, tell the
existing owner instead, and are rate-limited per client and per hashed address."""

import itertools
import re
import time
import uuid

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, User
from portal.roles import Role
from tests.factories import PASSWORD, PublicUserFactory

pytestmark = pytest.mark.django_db

SIGNUP = reverse("portal:signup")
RESET = reverse("portal:password_reset")


def _form(email: str) -> dict:
    return {
        "full_name": "Sam Probe",
        "email": email,
        "role": Role.RESIDENT,
        "password": "a long enough passphrase",
    }


_ADDRESSES = itertools.count()


def _client() -> Client:
    # An address of its own per client (counted, not drawn: five random draws from 250 met an
    # earlier client's address about once in 60 runs), so the per-client limit is its alone.
    n = next(_ADDRESSES)
    return Client(REMOTE_ADDR=f"198.18.{n // 250}.{n % 250 + 1}")


def _comparable(response, email: str) -> tuple:
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "CSRF", body)
    body = re.sub(r'nonce="[^"]*"', "NONCE", body)
    body = body.replace(email, "EMAIL")
    return response.status_code, response.get("Location"), body


@pytest.fixture
def owners(make_staff):
    resident = PublicUserFactory(email="rosa@example.com", full_name="Rosa Resident")
    staff = make_staff(role=Role.INVESTIGATOR, email="det.jones@riverton.example")
    return {"resident": resident, "staff": staff}


@pytest.mark.parametrize("who", ["resident", "staff"])
def test_an_existing_address_gets_the_same_answer_as_a_new_one(owners, who, run_queued_emails):
    owner = owners[who]
    new_email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    with run_queued_emails():
        new = _client().post(SIGNUP, _form(new_email))
        # Typed in another case, as a prober would try.
        known = _client().post(SIGNUP, _form(owner.email.upper()))
    assert new.status_code == 200
    assert _comparable(known, owner.email.upper()) == _comparable(new, new_email)
    assert b"already" not in known.content
    assert User.objects.filter(email__iexact=owner.email).count() == 1
    role = owner.role
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD) and owner.role == role  # nothing changed
    # The owner, not the form, is told.
    told = [m for m in mail.outbox if m.to == [owner.email]]
    assert len(told) == 1
    assert "tried to sign up" in told[0].subject
    assert "/password/reset/" in told[0].body and "/login/" in told[0].body
    assert "a long enough passphrase" not in told[0].body
    assert User.objects.filter(email=new_email).exists()
    assert AuditEvent.objects.filter(
        action="account.signup_existing", target_id=str(owner.pk)
    ).exists()


def test_sign_up_is_limited_per_address_whatever_the_client(owners, settings):
    settings.ACCOUNT_RATE_SIGNUP_PER_ADDRESS = 2
    codes = [_client().post(SIGNUP, _form(owners["staff"].email)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    # Another address from yet another client is unaffected.
    assert _client().post(SIGNUP, _form("someone.else@example.com")).status_code == 200


def test_sign_up_is_limited_per_client_whatever_the_address(settings):
    settings.ACCOUNT_RATE_SIGNUP_PER_CLIENT = 3
    client = _client()
    codes = [client.post(SIGNUP, _form(f"n{i}@example.com")).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert User.objects.count() == 3
    refused = client.post(SIGNUP, _form("late@example.com"), HTTP_ACCEPT_LANGUAGE="es")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Demasiados intentos" in refused.content.decode()
    assert not User.objects.filter(email="late@example.com").exists()


def test_password_reset_answers_alike_and_is_limited(owners, settings, run_queued_emails):
    settings.ACCOUNT_RATE_RESET_PER_ADDRESS = 2
    settings.ACCOUNT_RATE_RESET_PER_CLIENT = 5
    with run_queued_emails():
        known = _client().post(RESET, {"email": owners["staff"].email})
        unknown = _client().post(RESET, {"email": "nobody-here@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [[owners["staff"].email]]
    assert "/password/set/" in mail.outbox[0].body
    # Per address: the third request for the same address is refused, from any client.
    with run_queued_emails():
        assert _client().post(RESET, {"email": owners["staff"].email}).status_code == 302
        assert _client().post(RESET, {"email": owners["staff"].email}).status_code == 429
    assert len(mail.outbox) == 2
    # Per client: the sixth request from one client is refused, whatever the address.
    client = _client()
    codes = [client.post(RESET, {"email": f"x{i}@example.com"}).status_code for i in range(6)]
    assert codes == [302] * 5 + [429]


# --- the request sends nothing itself: a worker does, so timing tells nothing -------------


def test_reset_queues_one_task_known_address_or_not_and_never_the_address(
    owners, task_queue, django_capture_on_commit_callbacks
):
    owner = owners["resident"]
    with django_capture_on_commit_callbacks(execute=True):
        known = _client().post(RESET, {"email": owner.email.upper()})
    assert mail.outbox == []  # nothing sent by the request itself
    assert task_queue.messages() == [("portal.tasks.email_password_reset", [owner.pk], {})]
    # The worker's run sends the link to the owner.
    assert task_queue.run_all() == [True]
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "/password/set/" in mail.outbox[0].body

    # An unknown address queues a task too (the same broker round-trip), which sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        unknown = _client().post(RESET, {"email": "nobody-here@example.com"})
    assert task_queue.messages() == [("portal.tasks.email_password_reset", [None], {})]
    assert _comparable(known, owner.email.upper()) == _comparable(
        unknown, "nobody-here@example.com"
    )
    assert task_queue.run_all() == [False]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("who", ["resident", "staff"])
def test_sign_up_queues_one_task_with_the_id_alone_known_address_or_not(
    owners, who, task_queue, django_capture_on_commit_callbacks
):
    owner = owners[who]
    with django_capture_on_commit_callbacks(execute=True):
        known = _client().post(SIGNUP, _form(owner.email))
    assert mail.outbox == []
    assert task_queue.messages() == [("portal.tasks.email_signup_existing", [owner.pk], {})]
    task_queue.run_all()
    with django_capture_on_commit_callbacks(execute=True):
        new = _client().post(SIGNUP, _form("fresh@example.com"))
    assert len(mail.outbox) == 1  # the owner's, sent by the task; the new one is still queued
    newcomer = User.objects.get(email="fresh@example.com")
    assert task_queue.messages() == [("portal.tasks.email_signup_verification", [newcomer.pk], {})]
    assert _comparable(known, owner.email) == _comparable(new, "fresh@example.com")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_reset_link_after_the_request_answered(
    owners, worker_pool, tmp_path
):
    from redis import Redis

    response = _client().post(RESET, {"email": owners["resident"].email})
    assert response.status_code == 302 and mail.outbox == []
    assert Redis.from_url(settings.REDIS_URL).llen(worker_pool.queue) == 1
    # Only now a worker starts, its mail going to files here.
    worker_pool.start(EMAIL_URL=f"filemail:///{tmp_path}")  # the URL's path drops one "/"
    deadline = time.monotonic() + 30
    while not list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    [sent] = [path.read_text() for path in tmp_path.iterdir()]
    assert f"To: {owners['resident'].email}" in sent and "/password/set/" in sent


def test_sign_up_and_reset_still_answer_and_limit_while_redis_is_down(owners, settings):
    """The limiter falls back to this process's memory (half the allowance), never a 500."""
    from tests.outage import redis_unreachable

    settings.ACCOUNT_RATE_SIGNUP_PER_CLIENT = 4  # two while counted in memory
    client = _client()
    with redis_unreachable(settings):
        codes = [client.post(SIGNUP, _form(f"down{i}@example.com")).status_code for i in range(3)]
        reset = _client().post(RESET, {"email": owners["resident"].email})
    assert codes == [200, 200, 429]
    assert User.objects.filter(email__startswith="down").count() == 2
    assert reset.status_code in (200, 302)
