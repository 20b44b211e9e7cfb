"""Every hostile file through the real pipeline (a real Celery worker, real ffmpeg and Pillow).

For each file: it reaches a final state it may end in, with a reason when it is not ready; the
stored original is byte-exact; nothing outside the upload was read (a canary file's access
time does not move and its contents, like /etc/passwd's, appear in no derivative, metadata,
reason or audit row); and nothing hangs (each item must finish within a deadline).
"""

import hashlib
import json
import os
import secrets

import pytest

from evidence.models import EvidenceItem
from portal import storage
from portal.models import AuditEvent
from tests.evidence.helpers import ingest, sha256_of, wait_for
from tests.evidence.processing.hostile import corpus

State = EvidenceItem.State
FINAL = (State.READY, State.UNPLAYABLE, State.REJECTED, State.FAILED)
PASSWD_MARK = b"root:x:0:0"


def make_canary(tmp_path):
    secret = f"CANARY-{secrets.token_hex(16)}"
    canary = tmp_path / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text(secret)
    # relatime updates the access time on a read only if it is older than the modification
    # time: set it an hour back, so any read at all moves it.
    stat = canary.stat()
    os.utime(canary, ns=(stat.st_mtime_ns - 3600 * 10**9, stat.st_mtime_ns))
    return canary, secret.encode(), canary.stat().st_atime_ns


def everything_recorded_about(item) -> bytes:
    """Every byte the pipeline produced or recorded for the item (not the original)."""
    parts = [
        item.state_reason.encode(),
        json.dumps(item.metadata).encode(),
        json.dumps(item.provenance_details).encode(),
    ]
    for event in AuditEvent.objects.filter(target_id=str(item.pk)):
        parts.append(json.dumps(event.details).encode())
    for derivative in item.derivatives.all():
        with storage.open_object(derivative.key) as f:
            parts.append(f.read())
    return b"\n".join(parts)


def test_every_hostile_file_ends_in_a_final_state_without_reading_outside_the_upload(
    worker_pool, police, tmp_path
):
    # One attempt: an unexpected exception shows up at once as `failed` (never expected below)
    # instead of retrying with back-off.
    worker_pool.start(MEDIA_MAX_ATTEMPTS="1")
    canary, secret, atime_before = make_canary(tmp_path)
    files = corpus(tmp_path / "corpus", canary)
    assert len(files) >= 25
    originals = {h.name: sha256_of(h.path) for h in files}
    items = {h.name: ingest(h.path, police) for h in files}

    problems = []
    for hostile in files:
        try:
            item = wait_for(items[hostile.name], states=FINAL, timeout=180)
        except AssertionError as stuck:
            problems.append(f"{hostile.name}: {stuck}")
            continue
        if item.state not in hostile.expect:
            problems.append(
                f"{hostile.name} ({hostile.why}): {item.state}, expected one of "
                f"{sorted(hostile.expect)}; reason: {item.state_reason!r}"
            )
        if item.state != State.READY and not item.state_reason:
            problems.append(f"{hostile.name}: {item.state} without a reason")
        if item.sha256 != originals[hostile.name]:
            problems.append(f"{hostile.name}: recorded hash differs from the original's")
        with storage.open_object(item.original_key) as stored:
            if hashlib.sha256(stored.read()).hexdigest() != originals[hostile.name]:
                problems.append(f"{hostile.name}: the stored original changed")
        recorded = everything_recorded_about(item)
        if secret in recorded or PASSWD_MARK in recorded:
            problems.append(f"{hostile.name}: a file outside the upload leaked into its outputs")
    assert not problems, "\n".join(problems)
    assert canary.stat().st_atime_ns == atime_before, "something read the canary file"


@pytest.mark.django_db
def test_the_canary_would_notice_a_read(tmp_path):
    """The access-time check above can fail: one read of the canary moves its atime."""
    canary, secret, atime_before = make_canary(tmp_path)
    assert canary.read_bytes() == secret
    assert canary.stat().st_atime_ns != atime_before
