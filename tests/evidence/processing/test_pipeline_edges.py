"""Pipeline edge cases run in-process: crashes mid-copy, hostile metadata, late corrections."""

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from evidence import samples
from evidence.intake.staging import staged_path
from evidence.models import EvidenceItem
from evidence.processing import pipeline
from evidence.services import item_metadata_change
from portal import storage
from portal.models import AuditEvent
from tests.evidence.helpers import ingest, sha256_of

pytestmark = pytest.mark.django_db(transaction=True)
State = EvidenceItem.State


def test_a_half_written_original_from_a_crashed_run_is_replaced_not_recorded(police, tmp_path):
    photo = samples.photo_with_exif_gps(tmp_path, lat=40.75, lon=-73.98)
    item = ingest(photo, police)
    partial = photo.read_bytes()[: photo.stat().st_size // 2]
    path = storage.local_path(item.original_key)
    storage.save_once(item.original_key, ContentFile(partial))
    assert Path(path).read_bytes() == partial

    assert pipeline.process(item.pk) == State.READY
    item.refresh_from_db()
    assert item.sha256 == sha256_of(photo)
    with storage.open_object(item.original_key) as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == sha256_of(photo)
    assert not staged_path(item.upload).exists()


def test_staged_bytes_stay_when_the_original_cannot_be_stored(police, tmp_path, monkeypatch):
    photo = samples.photo_with_exif_gps(tmp_path, lat=40.75, lon=-73.98)
    item = ingest(photo, police)
    monkeypatch.setattr(storage, "object_size", lambda key: 1)  # storage reports a short object
    with pytest.raises(pipeline.OriginalNotStored):
        pipeline.process(item.pk)
    item.refresh_from_db()
    assert item.sha256 == "" and staged_path(item.upload).exists()
    assert not AuditEvent.objects.filter(action="evidence.hashed").exists()


def test_a_failed_run_is_released_and_requeued_later(police, tmp_path):
    item = ingest(samples.photo_with_exif_gps(tmp_path, lat=1, lon=1), police)
    EvidenceItem.objects.filter(pk=item.pk).update(state=State.PROCESSING)
    pipeline.release(item.pk, why="OSError: storage unreachable")
    item.refresh_from_db()
    assert item.state == State.RECEIVED and "storage unreachable" in item.state_reason
    later = dt.timedelta(minutes=-1)
    assert pipeline.requeue_stalled(received_for=later, processing_for=later) == [item.pk]


def test_an_absurd_claimed_capture_time_is_ignored(police, tmp_path):
    clip = samples.truncated_clip(tmp_path)  # no time of its own
    item = ingest(clip, police)
    item.upload.metadata["capture_time"] = "0001-01-01T00:00:00+14:00"
    item.upload.save()
    pipeline.process(item.pk)
    photo = ingest(
        samples.photo_with_exif_gps(tmp_path, lat=1, lon=1, taken="0001:01:01 00:00:00"), police
    )
    assert pipeline.process(photo.pk) == State.READY
    for each in (item, photo):
        each.refresh_from_db()
        assert each.capture_time_source == "time_received"
        assert each.capture_time == each.received_at


def test_a_photo_with_an_impossible_exif_offset_still_processes(police, tmp_path):
    from PIL import Image

    path = tmp_path / "odd.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2026:03:14 15:09:26", 0x9011: "+25:00"})
    Image.new("RGB", (64, 48), "red").save(path, exif=exif)
    item = ingest(path, police)
    assert pipeline.process(item.pk) == State.READY


def test_the_evidence_list_survives_items_with_edge_times(police, make_staff, signed_in, tmp_path):
    item = ingest(samples.truncated_clip(tmp_path), police)
    item.upload.metadata["capture_time"] = "9999-12-31T23:59:59+00:00"
    item.upload.save()
    pipeline.process(item.pk)
    client = signed_in(make_staff())
    assert client.get(reverse("evidence:list")).status_code == 200
    assert client.get(reverse("api-evidence-list")).status_code == 200


def test_a_correction_waits_until_processing_is_done(police, make_staff, tmp_path):
    item = ingest(samples.photo_with_exif_gps(tmp_path, lat=1, lon=1), police)
    user = make_staff()
    user.is_verified = lambda: True
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="still being processed"):
        item_metadata_change(
            actor=user,
            item=item,
            reason="clock",
            capture_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
    pipeline.process(item.pk)
    item.refresh_from_db()
    assert item_metadata_change(
        actor=user, item=item, reason="clock", capture_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ) == ["capture_time"]
