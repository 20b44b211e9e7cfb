"""Clips from the viewer page: the view's own viewer saves the last N seconds or a window from …
to … into a case they may add to, during the view or while the ring still holds it after; the
window is fixed when the button is pressed, the task is queued on the real broker and run as a
worker would; the page reads queued → saved (with the item's link) or the clip maker's refusal.
"""

import datetime as dt
import threading
import time
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from devices.models import Device
from evidence.models import EvidenceItem, Source
from livefeeds import clip_intake, clip_services, services, tasks
from livefeeds.models import ViewSession
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.evidence.cases_helpers import make_case, verified
from tests.livefeeds.clips.conftest import lay_ring

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(police):
    device = DeviceFactory(agency=police)
    assigned(device, officer_of(police, full_name="Olive Officer"))
    credential_for(device)
    Device.objects.filter(pk=device.pk).update(
        state=Device.State.RECORDING, last_heartbeat_at=timezone.now()
    )
    device.refresh_from_db()
    return device


@pytest.fixture
def live_ring(encoded_segments, relay_dir, device):
    """The camera's ring as the relay keeps it, its newest segment closed a second ago."""
    return lay_ring(encoded_segments, relay_dir, app="live", stream=device.pk.hex)


@pytest.fixture
def supervisor(make_staff):
    return verified(make_staff(role=Role.SUPERVISOR, full_name="Sam Supervisor"))


@pytest.fixture
def case(make_staff):
    return make_case(lead=verified(make_staff(role=Role.INVESTIGATOR)), number="RPD-2026-0042")


@pytest.fixture
def session(supervisor, device):
    session, _token = services.view_start(
        actor=supervisor, device=device, reason="Subject advancing", case_ref="RPD-2026-0042"
    )
    return session


def _save(client, session, capture, **data):
    with capture(execute=True):
        return client.post(
            reverse("livefeeds:clip_save", args=[session.pk]),
            data,
            HTTP_ACCEPT="application/json",
        )


def _status(client, session):
    response = client.get(reverse("livefeeds:clip_status", args=[session.pk]))
    assert response.status_code == 200
    return response.json()["clips"]


def test_the_viewer_saves_the_last_10_seconds_into_a_case_queued_then_saved(
    live_ring,
    session,
    supervisor,
    case,
    task_queue,
    django_capture_on_commit_callbacks,
):
    client = client_for(supervisor)
    page = client.get(reverse("livefeeds:view", args=[session.pk])).content.decode()
    assert 'id="live-clips"' in page and 'id="clip-last-30"' in page
    assert '<option value="RPD-2026-0042">' in page  # a case the supervisor may add to
    assert 'value="RPD-2026-0042"' in page  # the view's case number, filled in

    live_ring.restamp()  # the ring's newest segment closed a second before the press
    pressed = time.time()
    response = _save(
        client,
        session,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        custom_seconds="10",
        mode="custom",
    )
    assert response.status_code == 202, response.content
    [(name, _args, kwargs)] = task_queue.messages()
    assert name == "livefeeds.save_live_clip"
    # The window was fixed when the button was pressed: 10 s up to that moment.
    assert kwargs["end"] - kwargs["start"] == pytest.approx(10)
    assert pressed - 1 <= kwargs["end"] <= time.time()
    assert kwargs["app"] == "live" and kwargs["stream"] == session.stream
    assert kwargs["case_id"] == str(case.pk) and kwargs["session_id"] == str(session.pk)
    assert kwargs["subject"]["device"]["serial"] == session.device.serial
    asked = AuditEvent.objects.get(action="livefeeds.clip_requested")
    assert asked.actor == supervisor and asked.target_id == str(session.pk)
    assert asked.case_ref == "RPD-2026-0042" and asked.details["clip_id"] == kwargs["clip_id"]
    [clip] = response.json()["clips"]
    assert clip["state"] == "queued" and clip["asked"] == "last 10 s"

    [result] = task_queue.run_all()[:1]
    item = EvidenceItem.objects.get(source=Source.LIVE_CLIP)
    assert result == {"item": str(item.pk)}
    assert item.source_ref == kwargs["clip_id"]
    assert case.items.filter(pk=item.pk).exists()
    [clip] = _status(client, session)
    assert clip["state"] == "saved"
    assert clip["item_url"] == reverse("evidence:detail", args=[item.pk])
    manifest = item.metadata["source_details"]["live_clip"]
    assert manifest["session"] == str(session.pk)
    assert manifest["device"]["serial"] == session.device.serial
    page = client.get(reverse("livefeeds:view", args=[session.pk])).content.decode()
    assert reverse("evidence:detail", args=[item.pk]) in page


def test_a_window_from_to_in_the_agencys_time_and_the_clip_makers_refusal_shown(
    live_ring,
    session,
    supervisor,
    case,
    task_queue,
    django_capture_on_commit_callbacks,
    police,
):
    client = client_for(supervisor)
    zone = zoneinfo.ZoneInfo(police.time_zone)
    # A window the ring holds, typed in the agency's wall-clock time.
    end = dt.datetime.fromtimestamp(int(live_ring.end) - 2, zone)
    start = end - dt.timedelta(seconds=5)
    fmt = "%Y-%m-%dT%H:%M:%S"
    response = _save(
        client,
        session,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        mode="between",
        start=start.strftime(fmt),
        end=end.strftime(fmt),
    )
    assert response.status_code == 202, response.content
    [(_name, _args, kwargs)] = task_queue.messages()
    assert kwargs["start"] == start.timestamp() and kwargs["end"] == end.timestamp()
    assert kwargs["asked"].startswith("from ")
    task_queue.run_all()
    assert _status(client, session)[0]["state"] == "saved"

    # The ring is cleared (the stream ended long ago): the task refuses, the page says why.
    for segment in live_ring.path.glob("*.ts"):
        segment.unlink()
    live_ring.names.clear()
    live_ring.write_playlist()
    response = _save(
        client,
        session,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        seconds="30",
    )
    assert response.status_code == 202
    [refusal] = [r for r in task_queue.run_all() if "error" in r]
    assert refusal["error"] == "not_in_ring"
    newest = _status(client, session)[0]
    assert newest["state"] == "refused" and newest["asked"] == "last 30 s"
    assert newest["message"] == refusal["message"]
    assert "ring" in newest["message"] and not newest["item_url"]


def test_bad_asks_are_refused_before_anything_is_queued(
    live_ring,
    session,
    supervisor,
    case,
    make_staff,
    task_queue,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.LIVE_CLIP_MAX_SECONDS = 120
    client = client_for(supervisor)
    own = make_case(lead=supervisor, number="RPD-2026-0077")
    own.status = "closed"
    own.save(update_fields=["status"])
    for data, expected in [
        ({"case_number": "RPD-2026-0042", "custom_seconds": "121", "mode": "custom"}, "120"),
        ({"case_number": "NO-SUCH-CASE", "seconds": "30"}, "There is no case numbered"),
        ({"case_number": "RPD-2026-0077", "seconds": "30"}, "is closed"),
        ({"case_number": "", "seconds": "30"}, "required"),
        ({"case_number": "RPD-2026-0042"}, "Choose how many seconds"),
        ({"case_number": "RPD-2026-0042", "mode": "between", "start": "2026-01-01T10:00:00"}, ""),
    ]:
        response = _save(client, session, django_capture_on_commit_callbacks, **data)
        assert response.status_code == 400, (data, response.content)
        assert expected in " ".join(response.json()["errors"]), (data, response.json())
    # A window after the view (in the future) or long before it.
    now = timezone.now()
    for start, end in [
        (now + dt.timedelta(seconds=30), now + dt.timedelta(seconds=40)),
        (now - dt.timedelta(minutes=30), now - dt.timedelta(minutes=29)),
    ]:
        local = zoneinfo.ZoneInfo(supervisor.agency.time_zone)
        response = _save(
            client,
            session,
            django_capture_on_commit_callbacks,
            case_number="RPD-2026-0042",
            mode="between",
            start=start.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
            end=end.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
        )
        assert response.status_code == 400, response.content
    # A case of which an investigator is not part: the investigator may not add to it (and an
    # investigator may not watch, so has no view to clip from anyway).
    assert task_queue.messages() == []
    assert not AuditEvent.objects.filter(action="livefeeds.clip_requested").exists()


def test_only_the_views_viewer_who_may_add_to_cases_saves_clips(
    live_ring, session, supervisor, device, case, make_staff, django_capture_on_commit_callbacks
):
    colleague = verified(make_staff(role=Role.SUPERVISOR))
    response = _save(
        client_for(colleague),
        session,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        seconds="30",
    )
    assert response.status_code == 403
    # A dispatcher may watch but may not file into cases: no panel, and no saving.
    dispatcher = verified(make_staff(role=Role.DISPATCHER))
    watched, _token = services.view_start(
        actor=dispatcher, device=device, reason="Checking in", case_ref="RPD-2026-0042"
    )
    client = client_for(dispatcher)
    page = client.get(reverse("livefeeds:view", args=[watched.pk])).content.decode()
    assert 'id="live-clips"' not in page
    response = _save(
        client,
        watched,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        seconds="30",
    )
    assert response.status_code == 403
    investigator = verified(make_staff(role=Role.INVESTIGATOR))
    response = _save(
        client_for(investigator),
        session,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        seconds="30",
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="livefeeds.clip_requested").exists()


def test_after_the_view_ends_clips_are_saved_until_the_ring_moves_on(
    live_ring,
    session,
    supervisor,
    case,
    task_queue,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.RELAY_HLS_PLAYLIST_SECONDS = 60
    client = client_for(supervisor)
    ended = services.view_end(actor=supervisor, session=session)
    page = client.get(reverse("livefeeds:view", args=[ended.pk])).content.decode()
    assert 'id="clip-form"' in page and "clips can be saved until" in page
    response = _save(
        client, ended, django_capture_on_commit_callbacks, case_number="RPD-2026-0042", seconds="30"
    )
    assert response.status_code == 202
    [(_name, _args, kwargs)] = task_queue.messages()
    # "The last 30 s" of an ended view ends when the view ended, not when the button is pressed.
    assert kwargs["end"] == pytest.approx(ended.ended_at.timestamp())

    ViewSession.objects.filter(pk=ended.pk).update(
        ended_at=timezone.now() - dt.timedelta(seconds=61)
    )
    page = client.get(reverse("livefeeds:view", args=[ended.pk])).content.decode()
    assert 'id="clip-form"' not in page and 'id="clip-closed"' in page
    response = _save(
        client, ended, django_capture_on_commit_callbacks, case_number="RPD-2026-0042", seconds="30"
    )
    assert response.status_code == 400
    assert "Too late" in response.json()["errors"][0]
    assert len(task_queue.messages()) == 1


def test_a_revoked_view_saves_no_clip(
    live_ring, session, supervisor, case, task_queue, django_capture_on_commit_callbacks, make_staff
):
    boss = verified(make_staff(Role.SUPERVISOR))
    revoked = services.view_revoke(actor=boss, session=session, reason="Not for this case")
    client = client_for(supervisor)
    page = client.get(reverse("livefeeds:view", args=[revoked.pk])).content.decode()
    assert 'id="clip-form"' not in page
    response = _save(
        client,
        revoked,
        django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042",
        seconds="30",
    )
    assert response.status_code == 400
    assert "revoked" in response.json()["errors"][0]
    assert task_queue.messages() == []


# --- a clip whose task never reports: shown late, queued again by the beat (at most
# clip_services.REQUEUE_MAX times), then given up as failed, which its viewer sees; running the
# task twice (the first finishing late after the retry) files one item.

LATE = clip_services.LATE_AFTER + dt.timedelta(seconds=30)


def _beat(capture):
    with capture(execute=True):
        return tasks.requeue_late_clips()


def test_a_late_clip_is_queued_again_and_the_first_task_finishing_late_files_no_second_item(
    live_ring, session, supervisor, case, task_queue, django_capture_on_commit_callbacks
):
    client = client_for(supervisor)
    response = _save(
        client, session, django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042", seconds="30",
    )  # fmt: skip
    assert response.status_code == 202
    [(_name, _args, first)] = task_queue.messages()
    # Nothing ran: too early for the beat.
    assert _beat(django_capture_on_commit_callbacks) == {"requeued": 0, "failed": 0}

    with time_machine.travel(timezone.now() + LATE, tick=True):
        [clip] = _status(client, session)
        assert clip["state"] == "late"
        assert _beat(django_capture_on_commit_callbacks) == {"requeued": 1, "failed": 0}
        [clip] = _status(client, session)
        assert clip["state"] == "queued" and "again" in clip["message"]
        # A second beat within the wait queues nothing more.
        assert _beat(django_capture_on_commit_callbacks) == {"requeued": 0, "failed": 0}

    again = [kwargs for _n, _a, kwargs in task_queue.messages()]
    assert again == [first, first]  # the same clip, the same window, the same case
    requeued = AuditEvent.objects.get(action="livefeeds.clip_requeued")
    assert requeued.details == {"clip_id": first["clip_id"], "attempt": 2}

    # The retry and the first task both run: one item.
    results = task_queue.run_all()
    item = EvidenceItem.objects.get(source=Source.LIVE_CLIP)
    assert results[:2] == [{"item": str(item.pk)}, {"item": str(item.pk)}]
    assert case.items.filter(pk=item.pk).count() == 1
    assert AuditEvent.objects.filter(action="livefeeds.clip_saved").count() == 1
    [clip] = _status(client, session)
    assert clip["state"] == "saved" and clip["label"] == "saved"


def test_a_clip_that_never_reports_is_failed_after_the_retry_cap_and_the_viewer_sees_it(
    live_ring, session, supervisor, case, task_queue, django_capture_on_commit_callbacks
):
    client = client_for(supervisor)
    _save(
        client, session, django_capture_on_commit_callbacks,
        case_number="RPD-2026-0042", seconds="30",
    )  # fmt: skip
    start = timezone.now()
    for round_ in range(1, clip_services.REQUEUE_MAX + 1):
        with time_machine.travel(start + LATE * round_, tick=True):
            assert _beat(django_capture_on_commit_callbacks) == {"requeued": 1, "failed": 0}
    with time_machine.travel(start + LATE * (clip_services.REQUEUE_MAX + 1), tick=True):
        assert _beat(django_capture_on_commit_callbacks) == {"requeued": 0, "failed": 1}
        [clip] = _status(client, session)
        assert clip["state"] == "failed" and clip["label"] == "failed"
        assert f"after {clip_services.REQUEUE_MAX + 1} attempts" in clip["message"]
        page = client.get(reverse("livefeeds:view", args=[session.pk])).content.decode()
        assert 'data-state="failed"' in page
    with time_machine.travel(start + LATE * (clip_services.REQUEUE_MAX + 3), tick=True):
        # Given up for good: no more retries, no second failure.
        assert _beat(django_capture_on_commit_callbacks) == {"requeued": 0, "failed": 0}
    assert len(task_queue.messages()) == 1 + clip_services.REQUEUE_MAX
    failed = AuditEvent.objects.get(action="livefeeds.clip_failed")
    assert failed.details["attempts"] == clip_services.REQUEUE_MAX + 1
    assert not EvidenceItem.objects.filter(source=Source.LIVE_CLIP).exists()


def test_one_clip_id_is_cut_by_one_worker_at_a_time():
    """The intake's lock is a PostgreSQL advisory lock that other connections see."""
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_worker():
        try:
            with clip_intake._clip_lock("clip-abc"):
                held.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert held.wait(10)
    key = clip_intake._clip_lock_key("clip-abc")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        assert cursor.fetchone()[0] is False
        release.set()
        thread.join(10)
        assert done.is_set()
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
