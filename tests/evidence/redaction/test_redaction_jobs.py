"""Face redaction as a job: started from the item page, analysed, reviewed and approved, run
by a real Celery worker on the media queue, recorded as derivatives with custody only at the
end; cancel, a killed worker, a photo (started already approved), and who may not."""

import hashlib
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image
from skimage import data

from evidence import audit_actions as actions
from evidence import services
from evidence.models import Derivative, EvidenceItem, Redaction
from evidence.selectors import custody_of
from portal import media, redact, storage
from tests.conftest import client_for
from tests.evidence.redaction.clips import make_clip
from tests.factories import stored_item

State = Redaction.State
REDACTED_KINDS = (
    Derivative.Kind.REDACTED_VIDEO,
    Derivative.Kind.REDACTED_IMAGE,
    Derivative.Kind.REDACTION_RECIPE,
)


def _video_item(agency, tmp_path, frames):
    clip = make_clip(tmp_path, frames=frames)
    return stored_item(agency=agency, content=clip.path.read_bytes()), clip


def _wait(job, until, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"redaction stayed {job.state} at {job.progress}%")


def _original_bytes_sha(item) -> str:
    with storage.open_object(item.original_key) as f:
        return hashlib.sha256(f.read()).hexdigest()


def _redaction_objects(item) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "objects" / "evidence" / item.agency.slug / "derivatives"
    folder = folder / str(item.pk) / "redactions"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def _run_media_queue(task_queue) -> list:
    """Run here, in order, the tasks queued on this test's media queue (as a worker would)."""
    results, media_queue = [], f"{task_queue.pool.queue}-media"
    while (raw := task_queue.redis.rpop(media_queue)) is not None:
        name, args, kwargs = task_queue._decode(raw)
        assert name == "evidence.tasks.redact_item"
        results.append(task_queue.pool.app.tasks[name].apply(args, kwargs).get())
    return results


def _scratch(job) -> list[Path]:
    base = Path(settings.MEDIA_SCRATCH_DIR)
    return list(base.glob(f"redact-{job.pk.hex}-*")) if base.is_dir() else []


def test_staff_redact_a_video_from_the_item_page_and_get_a_hashed_derivative(
    celery_worker, owner, tmp_path
):
    item, clip = _video_item(owner.agency, tmp_path, frames=20)
    before = item.sha256
    client = client_for(owner)
    page = client.get(reverse("evidence:detail", args=[item.pk]))
    assert b"Redact faces" in page.content
    answer = client.post(reverse("evidence:item_redact", args=[item.pk]), {"fill": "solid"})
    job = Redaction.objects.get(item=item)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("evidence:redaction", args=[item.pk, job.pk])
    # The analysis runs first; the job then waits for a reviewer, nothing recorded yet.
    job = _wait(job, lambda j: j.state == State.REVIEW or j.finished)
    assert job.state == State.REVIEW, job.state_reason
    assert job.approved_by is None and job.output is None and job.draft["recipe_version"] == 2
    editor = client.get(reverse("evidence:redaction", args=[item.pk, job.pk]))
    assert b"Approve and render" in editor.content
    seen = services.draft_sha256(job.draft)
    assert f'value="{seen}"'.encode() in editor.content  # the draft the approver was shown
    client.post(
        reverse("evidence:redaction_approve", args=[item.pk, job.pk]), {"draft_sha256": seen}
    )
    job = _wait(job, lambda j: j.finished)
    assert job.state == State.DONE, job.state_reason
    assert job.progress == 100 and job.requested_by == owner and job.approved_by == owner
    assert job.reviewed_by == owner

    out, recipe = job.output, job.recipe
    assert out.kind == Derivative.Kind.REDACTED_VIDEO and out.item_id == item.pk
    assert (
        recipe.kind == Derivative.Kind.REDACTION_RECIPE and recipe.media_type == "application/json"
    )
    with storage.open_object(out.key) as f:
        out_bytes = f.read()
    with storage.open_object(recipe.key) as f:
        recipe_bytes = f.read()
    assert hashlib.sha256(out_bytes).hexdigest() == out.sha256 and len(out_bytes) == out.size
    assert hashlib.sha256(recipe_bytes).hexdigest() == recipe.sha256
    local = tmp_path / "redacted.mp4"
    local.write_bytes(out_bytes)
    assert media.video_frame_hash(local) == out.frame_sha256
    recipe_data = redact.recipe_load(recipe_bytes)
    assert recipe_data["source"]["sha256"] == before and recipe_data["params"]["fill"] == "solid"
    # The face is in every frame, so in every frame the detector ran on: every detect_every-th
    # and the last.
    every = recipe_data["params"]["detect_every"]
    detected = sorted({*range(0, clip.frames, every), clip.frames - 1})
    assert sorted(int(i) for i in recipe_data["detections"]) == detected

    # The same original and the same recipe, rendered here, give the recorded bytes.
    again = redact.render_video(clip.path, recipe_data, tmp_path / "again.mp4")
    assert hashlib.sha256(again.path.read_bytes()).hexdigest() == out.sha256

    # The original is untouched and still the item's; custody names who asked and approved.
    item.refresh_from_db()
    assert item.sha256 == before == _original_bytes_sha(item)
    assert item.state == EvidenceItem.State.READY
    events = {e.action: e for e in custody_of(item=item)}
    assert events[actions.REDACTION_REQUESTED.name].actor_id == owner.pk
    done = events[actions.REDACTED.name].details
    assert done["output"] == {
        "name": out.name,
        "sha256": out.sha256,
        "frame_sha256": out.frame_sha256,
    }
    assert done["recipe"]["sha256"] == recipe.sha256
    assert done["requested_by"] == done["approved_by"] == done["reviewed_by"]
    assert done["approved_by"] == owner.get_username()
    assert done["detector"]["model_sha256"] == redact.model_sha256()

    # The page shows the result; the file plays from the item's media route.
    result = client.get(reverse("evidence:redaction", args=[item.pk, job.pk]))
    assert out.sha256.encode() in result.content and out.frame_sha256.encode() in result.content
    assert b'http-equiv="refresh"' not in result.content
    played = client.get(reverse("evidence:media", args=[item.pk, out.name]))
    assert played.status_code == 200 and b"".join(played.streaming_content) == out_bytes
    assert not _scratch(job)


def test_a_running_redaction_shows_progress_and_can_be_cancelled(celery_worker, owner, tmp_path):
    item, _clip = _video_item(owner.agency, tmp_path, frames=250)
    client = client_for(owner)
    client.post(reverse("evidence:item_redact", args=[item.pk]), {"fill": "blur"})
    job = _wait(
        Redaction.objects.get(item=item), lambda j: j.state == State.RUNNING and j.progress > 0
    )
    page = client.get(reverse("evidence:redaction", args=[item.pk, job.pk]))
    assert f"{job.progress}%".encode() in page.content or b"%" in page.content
    assert b'http-equiv="refresh"' in page.content
    client.post(reverse("evidence:redaction_cancel", args=[item.pk, job.pk]))
    job = _wait(job, lambda j: j.finished, timeout=30)
    assert job.state == State.CANCELLED and job.output is None
    assert not item.derivatives.filter(kind__in=REDACTED_KINDS).exists()
    actions_seen = [e.action for e in custody_of(item=item)]
    assert actions.REDACTED.name not in actions_seen
    assert actions.REDACTION_CANCELLED.name in actions_seen
    assert not _redaction_objects(item) and not _scratch(job)


def test_a_worker_killed_mid_way_leaves_nothing_recorded_and_a_rerun_finishes_once(
    worker_pool, owner, tmp_path
):
    item, _clip = _video_item(owner.agency, tmp_path, frames=120)
    first = worker_pool.start()
    # Started already approved: analysis and render in one run, killed in the middle.
    job = services.redaction_start(actor=owner, item=item, fill="solid", approved_by=owner)
    job = _wait(job, lambda j: j.state == State.RUNNING and j.progress > 0)
    assert _scratch(job)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    job.refresh_from_db()
    assert job.state == State.RUNNING and job.output is None
    assert not item.derivatives.filter(kind__in=REDACTED_KINDS).exists()
    assert actions.REDACTED.name not in [e.action for e in custody_of(item=item)]
    # The broker redelivers an unacknowledged job after its visibility timeout (hours); here
    # the same message is sent again at once. The new run clears the dead one's scratch.
    worker_pool.start()
    from evidence.tasks import redact_item

    redact_item.apply_async(args=[str(job.pk)])
    job = _wait(job, lambda j: j.finished)
    assert job.state == State.DONE
    assert item.derivatives.filter(kind__in=REDACTED_KINDS).count() == 2
    assert [e.action for e in custody_of(item=item)].count(actions.REDACTED.name) == 1
    assert not _scratch(job)


def test_a_photo_item_gets_a_redacted_png(
    db, task_queue, owner, tmp_path, django_capture_on_commit_callbacks
):
    canvas = np.full((400, 600, 3), 120, np.uint8)
    canvas[80:336, 200:456] = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    photo = tmp_path / "photo.png"
    Image.fromarray(canvas).save(photo)
    item = stored_item(
        agency=owner.agency, content=photo.read_bytes(), media_type="image/png", media_kind="image"
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = services.redaction_start(actor=owner, item=item, fill="solid", approved_by=owner)
    assert _run_media_queue(task_queue) == [State.DONE]
    job.refresh_from_db()
    assert (
        job.output.kind == Derivative.Kind.REDACTED_IMAGE and job.output.media_type == "image/png"
    )
    with storage.open_object(job.output.key) as f:
        result = np.asarray(Image.open(f).convert("RGB"))
    assert result.shape == canvas.shape
    face = result[80 + 35 : 80 + 90, 200 + 90 : 200 + 135]
    assert face.max() == 0  # solid
    assert np.array_equal(result[:, :150], canvas[:, :150])  # far from the face: unchanged
    assert len(job.output.frame_sha256) == 64


@pytest.mark.parametrize("who", ["read_only", "stranger", "anonymous"])
def test_who_may_not_redact_is_refused_and_nothing_is_queued(
    who, db, task_queue, owner, read_only_colleague, stranger, tmp_path
):
    item = stored_item(agency=owner.agency)
    job = Redaction.objects.create(item=item, fill="solid", requested_by=owner)
    user = {"read_only": read_only_colleague, "stranger": stranger, "anonymous": None}[who]
    client = client_for(user)
    start = client.post(reverse("evidence:item_redact", args=[item.pk]), {"fill": "solid"})
    cancel = client.post(reverse("evidence:redaction_cancel", args=[item.pk, job.pk]))
    expected = {"read_only": 403, "stranger": 404, "anonymous": 302}[who]
    assert start.status_code == cancel.status_code == expected
    assert Redaction.objects.filter(item=item).count() == 1
    job.refresh_from_db()
    assert not job.cancel_requested and job.state == State.QUEUED
    assert task_queue.messages() == [] and _run_media_queue(task_queue) == []
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied from the service itself
        services.redaction_start(actor=stranger, item=item, fill="solid")


def _redacted_photo_item(owner, tmp_path, capture):
    canvas = np.full((240, 320, 3), 120, np.uint8)
    canvas[40:200, 80:240] = np.asarray(Image.fromarray(data.astronaut()).resize((160, 160)))
    photo = tmp_path / "photo.png"
    Image.fromarray(canvas).save(photo)
    item = stored_item(
        agency=owner.agency, content=photo.read_bytes(), media_type="image/png", media_kind="image"
    )
    with capture(execute=True):
        job = services.redaction_start(actor=owner, item=item, fill="solid", approved_by=owner)
    return item, job


def test_a_redacted_item_past_its_retention_is_deleted_with_its_redacted_copy(
    db, task_queue, owner, tmp_path, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from evidence.models import RetentionCategory
    from evidence.services.retention import retention_apply

    item, job = _redacted_photo_item(owner, tmp_path, django_capture_on_commit_callbacks)
    assert _run_media_queue(task_queue) == [State.DONE]
    assert _redaction_objects(item)
    category = RetentionCategory.objects.create(agency=owner.agency, name="Short", days=1)
    EvidenceItem.objects.filter(pk=item.pk).update(
        retention_category=category, received_at=timezone.now() - dt.timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        deleted = retention_apply()
    assert [row["item"] for row in deleted[owner.agency.pk]] == [str(item.pk)]
    item.refresh_from_db()
    job.refresh_from_db()
    assert item.state == EvidenceItem.State.DELETED
    assert job.state == State.DONE and job.output is None and job.recipe is None
    assert not item.derivatives.exists() and not _redaction_objects(item)


def test_a_redaction_finishing_after_its_item_was_deleted_records_nothing(
    db, task_queue, owner, tmp_path, django_capture_on_commit_callbacks
):
    item, job = _redacted_photo_item(owner, tmp_path, django_capture_on_commit_callbacks)
    # Deleted (committed) while the job waited or ran; the original is still readable here.
    EvidenceItem.objects.filter(pk=item.pk).update(state=EvidenceItem.State.DELETED)
    with django_capture_on_commit_callbacks(execute=True):
        assert _run_media_queue(task_queue) == [State.CANCELLED]
    job.refresh_from_db()
    assert job.state == State.CANCELLED and "deleted" in job.state_reason
    assert not item.derivatives.filter(kind__in=REDACTED_KINDS).exists()
    assert not _redaction_objects(item)
    assert actions.REDACTED.name not in [e.action for e in custody_of(item=item)]
