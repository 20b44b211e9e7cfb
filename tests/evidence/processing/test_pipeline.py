"""The media pipeline end to end, on a real Celery worker and real ffmpeg."""

import datetime as dt
import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from evidence import samples
from evidence.intake.staging import staged_path
from evidence.models import Derivative, EvidenceItem
from portal import storage
from portal.models import AuditEvent
from tests.evidence.helpers import children_named, ingest, sha256_of, wait_for

State = EvidenceItem.State


def custody(item):
    return list(
        AuditEvent.objects.filter(target_type="evidence.evidenceitem", target_id=str(item.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_phone_clip_ends_ready_with_proxy_hls_poster_and_its_own_time_and_place(
    celery_worker, police, tmp_path
):
    clip = samples.phone_clip_mov(tmp_path, seconds=3, lat=40.7580, lon=-73.9855)
    item = wait_for(ingest(clip, police))
    assert item.state == State.READY, item.state_reason
    assert item.sha256 == sha256_of(clip)
    with storage.open_object(item.original_key) as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == sha256_of(clip)
    assert item.media_kind == "video" and item.media_type == "video/quicktime"
    assert item.capture_time == dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
    assert item.capture_time_source == "device_metadata"
    assert item.location.y == pytest.approx(40.7580, abs=1e-4)
    assert item.location.x == pytest.approx(-73.9855, abs=1e-4)
    assert item.location_source == "device_metadata"
    kinds = sorted(item.derivatives.values_list("kind", flat=True).distinct())
    assert kinds == ["hls_playlist", "hls_segment", "poster", "proxy_mp4"]
    proxy = item.derivatives.get(kind=Derivative.Kind.PROXY_MP4)
    with storage.open_object(proxy.key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == proxy.sha256
    assert proxy.command[0].endswith("ffmpeg") and "-protocol_whitelist" in proxy.command
    assert "ffmpeg" in proxy.tool_versions
    playlist = item.derivatives.get(kind=Derivative.Kind.HLS_PLAYLIST)
    with storage.open_object(playlist.key) as f:
        text = f.read().decode()
    segment_names = {d.name for d in item.derivatives.filter(kind=Derivative.Kind.HLS_SEGMENT)}
    assert segment_names and all(name in text for name in segment_names)
    assert not staged_path(item.upload).exists()
    assert custody(item) == ["evidence.received", "evidence.hashed", "evidence.processed"]


def test_truncated_file_is_kept_byte_exact_and_unplayable_with_a_reason(
    celery_worker, police, tmp_path
):
    broken = samples.truncated_clip(tmp_path)
    item = wait_for(ingest(broken, police))
    assert item.state == State.UNPLAYABLE
    assert item.state_reason
    assert item.sha256 == sha256_of(broken)
    assert not item.derivatives.exists()
    assert custody(item)[-1] == "evidence.unplayable"


def test_html_renamed_mp4_is_detected_by_content_and_rejected(celery_worker, police, tmp_path):
    page = samples.html_named_mp4(tmp_path)
    item = wait_for(ingest(page, police, filename="holiday.mp4"))
    assert item.state == State.REJECTED
    assert item.media_type == "text/html" and "text/html" in item.state_reason
    assert item.sha256 == sha256_of(page)
    assert not item.derivatives.exists()


def test_photo_with_exif_gps_gets_a_stripped_preview(celery_worker, police, tmp_path):
    photo = samples.photo_with_exif_gps(tmp_path, lat=40.75, lon=-73.98)
    item = wait_for(ingest(photo, police))
    assert item.state == State.READY, item.state_reason
    assert item.media_type == "image/jpeg"
    assert item.location.y == pytest.approx(40.75, abs=1e-4)
    preview = item.derivatives.get(kind=Derivative.Kind.IMAGE_PREVIEW)
    with storage.open_object(preview.key) as f:
        assert b"GPS" not in f.read()[:4096]


def test_a_video_outside_the_grants_types_is_rejected(celery_worker, police, tmp_path):
    clip = samples.phone_clip_mov(tmp_path, seconds=1)
    item = wait_for(ingest(clip, police, media_types=["image/"]))
    assert item.state == State.REJECTED


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_worker_killed_mid_transcode_leaves_one_set_of_derivatives(worker_pool, police, tmp_path):
    clip = samples.phone_clip_mov(tmp_path, seconds=12, size="1920x1080")
    # A claim that runs out before the broker hands the killed task out again (4 s).
    first = worker_pool.start(CELERY_VISIBILITY_TIMEOUT="4", MEDIA_CLAIM_LEASE_SECONDS="1")
    item = ingest(clip, police)
    deadline = time.monotonic() + 60
    while not (ffmpeg := children_named(first.pid, "ffmpeg")):
        assert time.monotonic() < deadline, "no transcode started"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(0.5)
    assert not _alive(ffmpeg[0]), "ffmpeg outlived its worker"
    item.refresh_from_db()
    assert item.state == State.PROCESSING

    worker_pool.start(CELERY_VISIBILITY_TIMEOUT="4", MEDIA_CLAIM_LEASE_SECONDS="1")
    item = wait_for(item, timeout=180)
    assert item.state == State.READY, item.state_reason
    assert item.derivatives.filter(kind=Derivative.Kind.PROXY_MP4).count() == 1
    assert item.derivatives.filter(kind=Derivative.Kind.HLS_PLAYLIST).count() == 1
    assert custody(item).count("evidence.processed") == 1
    assert custody(item).count("evidence.hashed") == 1
    assert item.sha256 == sha256_of(clip)
