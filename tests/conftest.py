import os
import subprocess
import sys
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.roles import PUBLIC_ROLES, AgencyKind, Role
from tests.factories import PASSWORD, AgencyFactory, PublicUserFactory, UserFactory, add_totp_device


def totp_code(device: TOTPDevice) -> str:
    """A code the device accepts now: the current step, or the next if this one was used."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if device.last_t is not None and device.last_t >= totp.t():
        totp.drift += device.last_t + 1 - totp.t()
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The test run's own connection logs in as the owner role (DATABASE_OWNER_URL).

    It creates and migrates the test database (and so grants the app role, DATABASE_URL's,
    its privileges there), flushes it between transactional tests (TRUNCATE, which the app
    role may not do) and plays the attacker who holds the owner's password. What the app
    role may and may not do is tested over a connection of its own
    (tests/portal/test_database_roles.py).
    """
    from django.conf import settings
    from django.db import connections

    connections["default"].close()
    owner = settings.DATABASE_OWNER
    connections["default"].settings_dict.update(
        {field: owner.get(field) for field in ("USER", "PASSWORD", "HOST", "PORT")}
    )


@pytest.fixture(scope="session", autouse=True)
def _purge_idle_queues():
    """Drop tasks that tests queued without a worker, so they never reach a real one."""
    yield
    from django.conf import settings
    from redis import Redis

    Redis.from_url(settings.REDIS_URL).delete(
        settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_MEDIA_QUEUE
    )


@pytest.fixture(autouse=True)
def _site_language():
    """Every test starts in the site's default language: a request in Spanish leaves Spanish
    active in the thread (LocaleMiddleware activates it and nothing deactivates it), and the
    next test calling a service directly would read its messages in Spanish."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_tip_rate_limits(settings):
    """Every test starts with the tips line's hourly counters at zero.

    They live in the shared Redis for an hour, and every test client comes from 127.0.0.1: a
    namespace of its own per test keeps an earlier run, a bench or another run going on at
    the same time (whose counters it would otherwise share, or wipe) out of this test's counts.
    """
    settings.TIPS_RATE_NAMESPACE = f"test-{uuid.uuid4().hex}:"
    settings.ACCOUNT_RATE_NAMESPACE = settings.TIPS_RATE_NAMESPACE  # sign-up, password reset
    settings.LIVE_NAMESPACE = settings.TIPS_RATE_NAMESPACE  # devices/live.py channels


@pytest.fixture
def police():
    return AgencyFactory(name="Riverton PD", slug="riverton-pd", kind=AgencyKind.POLICE)


@pytest.fixture
def other_police():
    return AgencyFactory(name="Elsewhere PD", slug="elsewhere-pd", kind=AgencyKind.POLICE)


@pytest.fixture
def cheap_pow(settings):
    """The real ALTCHA code path, with a challenge a test solves in milliseconds."""
    settings.TIPS_POW_COST = 10
    settings.TIPS_POW_KEY_PREFIX = "0"


@pytest.fixture
def tips_agency(police):
    """The police agency with the tips line's categories."""
    from submissions.demo import seed_categories

    seed_categories(police)
    return police


@pytest.fixture
def prosecution():
    return AgencyFactory(name="Riverton DA", slug="riverton-da", kind=AgencyKind.PROSECUTION)


@pytest.fixture
def make_staff(police):
    def make(role=Role.INVESTIGATOR, agency=None, device=True, **kwargs):
        user = UserFactory(role=role, agency=agency or police, **kwargs)
        if device:
            add_totp_device(user)
        return user

    return make


@pytest.fixture
def resident():
    return PublicUserFactory(role=Role.RESIDENT)


def sign_in(client: Client, user, password: str = PASSWORD) -> Client:
    """Sign in through the real two-step flow; assert it worked."""
    response = client.post(reverse("portal:login"), {"email": user.email, "password": password})
    assert response.status_code == 302, response.content[:500]
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        assert response["Location"] == reverse("portal:login_verify")
        response = client.post(reverse("portal:login_verify"), {"code": totp_code(device)})
        assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def signed_in():
    """signed_in(user) -> a test client past both factors."""
    return lambda user: sign_in(Client(), user)


def client_for(user) -> Client:
    """A test client signed in as `user`, past the second factor if the user has one.

    `sign_in` walks the real two-step form; this skips the forms (no password hashing, no
    TOTP step) for tests that sign many people in and are not about signing in: the session
    holds what django-otp's `login` puts there after a good code.
    """
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    if user is None:
        return client
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


class People:
    """Who asks for an object: its owner, a colleague with the same role, a read-only
    colleague (same agency, a role that may look but not change), a stranger (same role,
    another agency of the same kind) and anonymous (None). `police` is the police agency, for
    objects a prosecuting office receives from one."""

    def __init__(self, *, role, read_only_role, agency, other_agency, police):
        self.agency, self.other_agency, self.police = agency, other_agency, police
        if role in PUBLIC_ROLES:
            self.owner = PublicUserFactory(role=role)
            self.colleague = self.read_only = None
            self.stranger = PublicUserFactory(role=role)
        else:
            self.owner = self._staff(role, agency)
            self.colleague = self._staff(role, agency)
            self.read_only = self._staff(read_only_role, agency) if read_only_role else None
            self.stranger = self._staff(role, other_agency)

    @staticmethod
    def _staff(role, agency):
        user = UserFactory(role=role, agency=agency)
        add_totp_device(user)
        return user


@pytest.fixture
def people(police, other_police):
    """people(role=..., read_only_role=..., kind=...) -> People of two agencies of that kind."""

    def make(role=Role.INVESTIGATOR, read_only_role=Role.DISPATCHER, kind=AgencyKind.POLICE):
        if kind == AgencyKind.POLICE:
            agency, other = police, other_police
        else:
            agency = AgencyFactory(name="Riverton County DA", slug="riverton-county-da", kind=kind)
            other = AgencyFactory(name="Elsewhere County DA", slug="elsewhere-county-da", kind=kind)
        return People(
            role=role,
            read_only_role=read_only_role,
            agency=agency,
            other_agency=other,
            police=police,
        )

    return make


@pytest.fixture
def owner(people):
    """An investigator of `police` (with colleagues: see `people`)."""
    return people().owner


@pytest.fixture
def colleague(make_staff):
    return make_staff(role=Role.INVESTIGATOR)


@pytest.fixture
def read_only_colleague(make_staff):
    """A dispatcher of `police`: sees evidence and tips, changes neither."""
    return make_staff(role=Role.DISPATCHER)


@pytest.fixture
def stranger(make_staff, other_police):
    """An investigator of another police agency."""
    return make_staff(role=Role.INVESTIGATOR, agency=other_police)


@pytest.fixture
def anonymous():
    return Client()


class WorkerPool:
    """Real Celery worker processes on the test database, on queues of this test's own."""

    def __init__(self, settings):
        import uuid

        from django.db import connection

        from portal.celery import app

        self.app = app
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_QUEUE": self.queue,
            "CELERY_MEDIA_QUEUE": f"{self.queue}-media",
            "DATA_DIR": str(settings.DATA_DIR),
        }
        self.processes = []
        self._saved = app.conf.task_default_queue, app.conf.task_routes
        app.conf.task_default_queue = self.queue
        app.conf.task_routes = {name: {"queue": f"{self.queue}-media"} for name in self._saved[1]}
        self._forget_routing()

    def _forget_routing(self):
        # Celery caches its router, routes and queues on first use: rebuild them from conf.
        amqp = self.app.amqp
        amqp.flush_routes()
        for cached in ("router", "queues", "default_queue"):
            amqp.__dict__.pop(cached, None)

    def start(self, **extra_env) -> subprocess.Popen:
        """Start one worker and wait until it answers a ping."""
        name = f"w{len(self.processes)}-{self.queue}@canvass-tests"
        argv = [
            sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo",
            "-Q", f"{self.queue},{self.queue}-media", "-n", name, "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        process = subprocess.Popen(
            argv, env={**self.env, **extra_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        deadline = time.monotonic() + 30
        while not any(self.app.control.ping(timeout=0.5, destination=[name])):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stdout.read().decode()[-3000:])
        return process

    def stop(self):
        self.app.conf.task_default_queue, self.app.conf.task_routes = self._saved
        self._forget_routing()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def worker_pool(transactional_db, settings):
    pool = WorkerPool(settings)
    yield pool
    pool.stop()


@pytest.fixture
def celery_worker(worker_pool):
    """One real Celery worker process on the test database and a queue of its own."""
    return worker_pool.start()


class TaskQueue:
    """The tasks a test queued, read off the real broker (a queue of this test's own)."""

    def __init__(self, pool: WorkerPool):
        from redis import Redis

        self.pool = pool
        self.redis = Redis.from_url(pool.app.conf.broker_url)

    @staticmethod
    def _decode(raw: bytes) -> tuple[str, list, dict]:
        import base64
        import json

        message = json.loads(raw)
        args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        return message["headers"]["task"], args, kwargs

    def messages(self) -> list[tuple[str, list, dict]]:
        """(task name, args, kwargs) of each queued message, oldest first, as a worker gets them."""
        return [self._decode(raw) for raw in reversed(self.redis.lrange(self.pool.queue, 0, -1))]

    def run_all(self) -> list:
        """Take every queued task off the queue and run it here, with the arguments it was sent."""
        results = []
        while (raw := self.redis.rpop(self.pool.queue)) is not None:
            name, args, kwargs = self._decode(raw)
            results.append(self.pool.app.tasks[name].apply(args, kwargs).get())
        return results


@pytest.fixture
def task_queue(settings):
    """Tasks queued by the code under test, kept on a queue of this test's own, no worker."""
    pool = WorkerPool(settings)
    queue = TaskQueue(pool)
    yield queue
    queue.redis.delete(pool.queue, f"{pool.queue}-media")
    pool.stop()


@pytest.fixture
def run_queued_emails(task_queue, django_capture_on_commit_callbacks):
    """A context manager: commit what the block did, then run the tasks it queued (emails land
    in mail.outbox). For tests about an email's content, not about how it is sent."""
    from contextlib import contextmanager

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        task_queue.run_all()

    return run


from tests.geocoder import geocoder, geocoder_server  # noqa: E402, F401 - address search stand-in
from tests.s3server import s3_endpoint  # noqa: E402, F401 - a session fixture for every test


@pytest.fixture
def source_hooks():
    """Change one source's hooks (evidence.sources) for a test; every change is undone after.

    `source_hooks("tip", sees_identifying_metadata=fn)` keeps the source's other hooks.
    """
    import dataclasses

    from evidence import sources

    saved = {}

    def change(source: str, **hooks):
        current = sources.source_hooks(source)
        saved.setdefault(source, current)
        base = current or sources.SourceHooks(source=source)
        sources.source_register(dataclasses.replace(base, **hooks))

    yield change
    for source, hooks in saved.items():
        if hooks is None:
            sources.source_unregister(source)
        else:
            sources.source_register(hooks)
