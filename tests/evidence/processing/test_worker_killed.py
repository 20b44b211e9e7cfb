"""A worker killed mid-task loses nothing: its claim runs out, the sweep offers the item again,
and it ends with one set of derivatives. A live run renews its claim, so the sweep leaves it be.

The workers run with the production visibility timeout (4 h), so Celery's own redelivery of
the killed task never comes within the test: only the claim lease and the sweep can save it.
"""

import os
import signal
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from evidence import samples
from evidence.models import Derivative, EvidenceItem
from evidence.tasks import requeue_stalled_items
from portal.models import AuditEvent
from tests.evidence.helpers import children_named, ingest, sha256_of, wait_for

State = EvidenceItem.State
LEASE = "3"  # seconds; the worker renews it every second while it works


def _x264_children(pid: int) -> list[int]:
    """ffmpeg processes encoding the proxy whose parent is `pid`."""
    found = []
    for child in children_named(pid, "ffmpeg"):
        try:
            if b"libx264" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue  # it ended meanwhile
    return found


def _wait_for_transcode(pid: int) -> None:
    deadline = time.monotonic() + 60
    while not _x264_children(pid):
        assert time.monotonic() < deadline, "no transcode started"
        time.sleep(0.05)


def _derivative_runs_on_disk(item) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "objects" / "evidence" / item.agency.slug / "derivatives"
    folder = folder / str(item.pk)
    return [run for run in folder.iterdir() if any(run.iterdir())] if folder.is_dir() else []


def test_an_item_whose_worker_was_killed_finishes_once_after_its_claim_runs_out(
    worker_pool, police, tmp_path
):
    clip = samples.phone_clip_mov(tmp_path, seconds=12, size="1920x1080")
    first = worker_pool.start(MEDIA_CLAIM_LEASE_SECONDS=LEASE)
    item = ingest(clip, police)
    _wait_for_transcode(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    item.refresh_from_db()
    assert item.state == State.PROCESSING

    worker_pool.start(MEDIA_CLAIM_LEASE_SECONDS=LEASE)
    deadline = time.monotonic() + 30
    while (requeued := requeue_stalled_items()) == 0:  # the beat job, run here
        assert time.monotonic() < deadline, "the dead worker's claim never ran out"
        time.sleep(0.5)
    assert requeued == 1

    item = wait_for(item, timeout=180)
    assert item.state == State.READY, item.state_reason
    kinds = list(item.derivatives.values_list("kind", flat=True))
    assert kinds.count(Derivative.Kind.PROXY_MP4) == 1
    assert kinds.count(Derivative.Kind.HLS_PLAYLIST) == 1
    assert kinds.count(Derivative.Kind.POSTER) == 1
    assert len(_derivative_runs_on_disk(item)) == 1
    processed = AuditEvent.objects.filter(
        target_type="evidence.evidenceitem", target_id=str(item.pk), action="evidence.processed"
    )
    assert processed.count() == 1
    assert item.sha256 == sha256_of(clip)


def test_the_sweep_leaves_an_item_alone_while_its_worker_renews_the_claim(
    worker_pool, police, tmp_path
):
    # Long enough that the run outlives its first lease by far, even on a fast machine.
    clip = samples.phone_clip_mov(tmp_path, seconds=30, size="1920x1080")
    worker = worker_pool.start(MEDIA_CLAIM_LEASE_SECONDS=LEASE)
    item = ingest(clip, police)
    _wait_for_transcode(worker.pid)
    item.refresh_from_db()
    first_expiry = item.lease_expires_at
    # Past the first lease, with the transcode still going: the claim was renewed.
    while timezone.now() < first_expiry + (first_expiry - item.processing_started_at) / 3:
        time.sleep(0.1)
    # The run's state, not a process list: between two encodes there is no ffmpeg to see.
    item.refresh_from_db()
    assert item.state == State.PROCESSING, "the run ended too soon for this test"
    assert requeue_stalled_items() == 0
    item.refresh_from_db()
    assert item.state == State.PROCESSING
    assert item.lease_expires_at > first_expiry

    item = wait_for(item, timeout=180)
    assert item.state == State.READY, item.state_reason
    assert item.derivatives.filter(kind=Derivative.Kind.PROXY_MP4).count() == 1
