"""Getting a file into the evidence store through the real upload services, for tests."""

import datetime as dt
import hashlib
import io
import time
from pathlib import Path

from django.utils import timezone

from evidence.intake.grants import grant_create_with_secret
from evidence.intake.uploads import upload_append, upload_create
from evidence.models import EvidenceItem, UploadGrant

State = EvidenceItem.State


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ingest(
    path: Path, agency, *, media_types=("video/", "image/", "audio/"), filename=None
) -> EvidenceItem:
    """Send a file through the real upload services; the item's processing is queued on commit."""
    grant, _ = grant_create_with_secret(
        agency=agency, flow=UploadGrant.Flow.STAFF_UPLOAD, source_ref="test", max_files=1,
        max_file_bytes=1 << 30, media_types=list(media_types),
        expires_at=timezone.now() + dt.timedelta(hours=1), actor_label="test",
    )  # fmt: skip
    size = path.stat().st_size
    upload = upload_create(grant=grant, length=size, metadata={"filename": filename or path.name})
    with open(path, "rb") as body:
        upload_append(grant=grant, upload_id=upload.id, offset=0, body=body, body_length=size)
    return EvidenceItem.objects.get(upload=upload)


def wait_for(
    item: EvidenceItem,
    states=(State.READY, State.UNPLAYABLE, State.REJECTED, State.FAILED),
    timeout=120,
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item.refresh_from_db()
        if item.state in states:
            return item
        time.sleep(0.25)
    raise AssertionError(f"item stayed {item.state}")


def upload_bytes(grant: UploadGrant, data: bytes, *, filename: str) -> EvidenceItem:
    """Send `data` in one PATCH under an existing grant (a tip's, a footage request's)."""
    upload = upload_create(grant=grant, length=len(data), metadata={"filename": filename})
    upload_append(
        grant=grant, upload_id=upload.id, offset=0, body=io.BytesIO(data), body_length=len(data)
    )
    return EvidenceItem.objects.get(upload=upload)


def children_named(pid: int, name: str) -> list[int]:
    """Processes called `name` whose parent is `pid` (a worker's ffmpeg, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = (
            stat[stat.index("(") + 1 : stat.rindex(")")],
            stat[stat.rindex(")") + 2 :].split(),
        )
        if comm == name and int(rest[1]) == pid:
            found.append(int(entry.name))
    return found
