"""Demo evidence for `seed_demo`: real files made with ffmpeg, through the real upload and pipeline."""

import datetime as dt
import tempfile
from pathlib import Path

from django.contrib.gis.geos import Point
from django.utils import timezone

from evidence import samples
from evidence.cases import services as case_services
from evidence.disclosure import services as share_services
from evidence.intake.grants import grant_create_with_secret
from evidence.intake.uploads import upload_append, upload_create
from evidence.models import Case, EvidenceItem, Share, UploadGrant
from evidence.processing import pipeline
from portal.roles import Role

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
    """A 1080p clip with GPS and time, a photo with EXIF GPS, and a truncated file (unplayable);
    then a case holding them, shared with the demo prosecutor."""
    police = agencies["police"]
    if EvidenceItem.objects.filter(agency=police, source_ref=DEMO_REF).exists():
        _seed_case(agencies=agencies, users=users, stdout=stdout)
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
    _seed_case(agencies=agencies, users=users, stdout=stdout)


DEMO_CASE_NUMBER = "2026-000417"


def _as_verified(user):
    # The seeder acts as the demo staff would after signing in with both factors.
    user.is_verified = lambda: True
    return user


def _seed_case(*, agencies, users, stdout) -> None:
    """Case 2026-000417 with the demo items, shared (view and download) with the demo prosecutor."""
    police = agencies["police"]
    investigator = users.get(Role.INVESTIGATOR)
    prosecutor = users.get(Role.PROSECUTOR)
    if investigator is None or Case.objects.filter(agency=police, number=DEMO_CASE_NUMBER).exists():
        return
    lead = _as_verified(investigator)
    case = case_services.case_create(
        actor=lead,
        number=DEMO_CASE_NUMBER,
        title="Vehicle break-ins, East 60s",
        incident_time=timezone.now() - dt.timedelta(days=2),
        incident_point=Point(-73.9590, 40.7570, srid=4326),
    )
    for item in EvidenceItem.objects.filter(agency=police, source_ref=DEMO_REF):
        case_services.case_item_add(actor=lead, case=case, item=item)
    if supervisor := users.get(Role.SUPERVISOR):
        case_services.case_member_add(actor=lead, case=case, user=supervisor)
    if prosecutor is not None:
        share_services.share_create(
            actor=lead,
            case=case,
            recipient_agency=agencies["prosecution"],
            recipients=[prosecutor],
            level=Share.Level.DOWNLOAD,
            reshare_allowed=True,
            note="Demo share: doorbell and phone footage of the break-ins.",
        )
    stdout.write(f"  case {case.number} with {case.case_items.count()} item(s), shared with the DA")
