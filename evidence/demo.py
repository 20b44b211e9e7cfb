"""Demo evidence for `seed_demo`: real files made with ffmpeg, through the real upload and pipeline."""

import datetime as dt
import tempfile
from pathlib import Path

from django.utils import timezone

from evidence import pipeline, samples
from evidence.models import EvidenceItem, UploadGrant
from evidence.uploads import grant_create_with_secret, upload_append, upload_create

DEMO_REF = "demo"


def _ingest(path: Path, agency, filename: str) -> EvidenceItem:
    grant, _ = grant_create_with_secret(
        agency=agency,
        flow=UploadGrant.Flow.STAFF_UPLOAD,
        source_ref=DEMO_REF,
        max_files=1,
        max_file_bytes=1 << 30,
        media_types=["video/", "image/", "audio/"],
        expires_at=timezone.now() + dt.timedelta(hours=1),
        actor_label="demo data",
    )
    size = path.stat().st_size
    upload = upload_create(grant=grant, length=size, metadata={"filename": filename})
    with open(path, "rb") as body:
        upload_append(grant=grant, upload_id=upload.id, offset=0, body=body, body_length=size)
    return EvidenceItem.objects.get(upload=upload)


def seed_evidence(*, agencies, users, stdout) -> None:
    """A 1080p clip with GPS and time, a photo with EXIF GPS, and a truncated file (unplayable)."""
    police = agencies["police"]
    if EvidenceItem.objects.filter(agency=police, source_ref=DEMO_REF).exists():
        return
    stdout.write("Making demo evidence with ffmpeg and running it through the pipeline...")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = [
            (
                samples.phone_clip_mov(
                    work, seconds=6, size="1920x1080", lat=40.7580, lon=-73.9610
                ),
                "IMG_0412.MOV",
            ),
            (samples.photo_with_exif_gps(work, lat=40.7551, lon=-73.9560), "IMG_0413.JPG"),
            (samples.truncated_clip(work), "doorbell-export.mp4"),
        ]
        for path, name in files:
            item = _ingest(path, police, name)
            state = pipeline.process(item.pk)
            stdout.write(f"  {name:<20} -> {state}")
