"""Every way a pipeline run can end leaves the item in a final state, with a reason.

Files that cannot be typed end `rejected`; errors that are not the media's fault are retried a
bounded number of times (MEDIA_MAX_ATTEMPTS, counted per item) and then end `failed`.
"""

import datetime as dt

import pytest

from evidence import samples
from evidence.intake.staging import staged_path
from evidence.models import EvidenceItem
from evidence.processing import pipeline
from portal.models import AuditEvent
from tests.evidence.helpers import ingest

pytestmark = pytest.mark.django_db(transaction=True)
State = EvidenceItem.State


def custody(item):
    return list(
        AuditEvent.objects.filter(target_id=str(item.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize("content", [b"", b"\x00", b"just some words, no format at all\n"])
def test_a_file_that_cannot_be_typed_ends_rejected_with_a_reason(police, tmp_path, content):
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    item = ingest(path, police)
    assert pipeline.process(item.pk) == State.REJECTED
    item.refresh_from_db()
    assert item.state == State.REJECTED and item.processing_attempts == 1
    expected = "The file is empty (0 bytes)." if not content else "No image, audio or video"
    assert item.state_reason.startswith(expected)
    assert custody(item)[-1] == "evidence.rejected"
    # Final: a later offer of the same item does nothing.
    assert pipeline.process(item.pk) == "skipped"


def test_a_run_that_keeps_failing_ends_failed_after_the_last_attempt(police, tmp_path, settings):
    settings.MEDIA_MAX_ATTEMPTS = 3
    item = ingest(samples.photo_with_exif_gps(tmp_path), police)
    staged_path(item.upload).unlink()  # the bytes are gone: no run can ever store them
    for attempt in (1, 2):
        with pytest.raises(pipeline.OriginalNotStored):
            pipeline.process(item.pk)
        pipeline.release(item.pk, why="OriginalNotStored")  # what the task does when it gives up
        item.refresh_from_db()
        assert item.state == State.RECEIVED and item.processing_attempts == attempt
    assert pipeline.process(item.pk) == State.FAILED
    item.refresh_from_db()
    assert item.state == State.FAILED and item.processing_attempts == 3
    assert "3 attempts" in item.state_reason and "no staged bytes" in item.state_reason
    assert item.capture_time == item.received_at  # still placed in time, with low confidence
    failed = AuditEvent.objects.get(target_id=str(item.pk), action="evidence.failed")
    assert failed.details["attempts"] == 3
    assert pipeline.process(item.pk) == "skipped"
    later = pipeline.requeue_stalled(
        received_for=-dt.timedelta(minutes=1),
        processing_for=-dt.timedelta(minutes=1),
    )
    assert item.pk not in later


def test_an_item_whose_runs_died_silently_ends_failed_when_offered_again(
    police, tmp_path, settings
):
    settings.MEDIA_MAX_ATTEMPTS = 2
    item = ingest(samples.photo_with_exif_gps(tmp_path), police)
    # Two runs started and never returned (the worker was killed each time, e.g. by the OOM
    # killer on a poison file): the stalled-items job hands it back once more.
    EvidenceItem.objects.filter(pk=item.pk).update(
        state=State.PROCESSING, processing_attempts=2, state_reason=""
    )
    assert pipeline.process(item.pk) == State.FAILED
    item.refresh_from_db()
    assert item.state == State.FAILED
    assert "did not finish in 2 attempts" in item.state_reason
    assert "the worker running it stopped" in item.state_reason
    # The original was never touched: its staged bytes are still there for a person to look at.
    assert staged_path(item.upload).exists()


def test_an_outage_of_the_store_never_uses_up_an_items_attempts(
    police, tmp_path, settings, monkeypatch
):
    """The store or the database being away is not the file's fault: retried, never failed."""
    from portal import storage

    settings.MEDIA_MAX_ATTEMPTS = 2
    item = ingest(samples.photo_with_exif_gps(tmp_path), police)

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("connect to s3.internal.example:9000 refused")

    monkeypatch.setattr(storage, "save_once", unreachable)
    for _ in range(4):
        with pytest.raises(ConnectionRefusedError):
            pipeline.process(item.pk)
        pipeline.release(item.pk, why="ConnectionRefusedError")
    item.refresh_from_db()
    assert item.state == State.RECEIVED and item.processing_attempts == 0
    monkeypatch.undo()
    assert pipeline.process(item.pk) == State.READY


def test_a_failed_runs_message_is_logged_not_shown(police, tmp_path, settings, monkeypatch):
    """Staff see the error's kind; its message (hosts, paths) stays in the log."""
    settings.MEDIA_MAX_ATTEMPTS = 1
    item = ingest(samples.photo_with_exif_gps(tmp_path), police)

    def broken(*args, **kwargs):
        raise RuntimeError("secret-host.internal:5432 /srv/keys/agency.pem")

    monkeypatch.setattr(pipeline, "_process_media", broken)
    assert pipeline.process(item.pk) == State.FAILED
    item.refresh_from_db()
    assert item.state_reason.endswith("Last problem: RuntimeError")
    failed = AuditEvent.objects.get(target_id=str(item.pk), action="evidence.failed")
    assert "secret-host" not in str(failed.details)


def test_a_run_that_failed_is_retried_by_its_task_not_also_by_the_sweep(police, tmp_path):
    """A failed run hands its item back offered: the sweep must not queue a second run beside
    the task's own retry (two runs would spend the item's attempts twice)."""
    from evidence.processing import leases

    item = ingest(samples.photo_with_exif_gps(tmp_path), police)

    def failing_run():
        with leases.claims_renewed():
            assert pipeline._claim(item.pk) is not None
            raise RuntimeError("the run failed")

    with pytest.raises(RuntimeError):
        failing_run()
    item.refresh_from_db()
    assert item.state == State.RECEIVED
    now = dt.timedelta(0)
    assert item.pk not in pipeline.requeue_stalled(received_for=now, processing_for=now)
    # The task's own retry claims it at once.
    assert pipeline.process(item.pk) == State.READY


def test_an_operator_offers_a_failed_item_again_and_custody_says_so(police, tmp_path, settings):
    """`manage.py evidence_retry`: a failed item (its cause fixed) runs again from zero."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.MEDIA_MAX_ATTEMPTS = 1
    item = ingest(samples.photo_with_exif_gps(tmp_path), police)
    EvidenceItem.objects.filter(pk=item.pk).update(
        state=State.FAILED, processing_attempts=1, state_reason="Processing failed: ToolMissing"
    )
    with pytest.raises(CommandError, match="not failed"):
        call_command("evidence_retry", "not-a-uuid")
    call_command("evidence_retry", str(item.pk))
    item.refresh_from_db()
    assert item.state == State.RECEIVED and item.processing_attempts == 0
    retried = AuditEvent.objects.get(target_id=str(item.pk), action="evidence.retried")
    assert retried.details["previous_reason"] == "Processing failed: ToolMissing"
    assert retried.actor_label.startswith("operator (")
    assert pipeline.process(item.pk) == State.READY
    # Only failed items: a ready one is refused and left as it is.
    with pytest.raises(CommandError, match="not failed"):
        call_command("evidence_retry", str(item.pk))
    item.refresh_from_db()
    assert item.state == State.READY
