"""Demo footage request for `seed_demo`: asked of the shop and the resident, the shop answered
with a real clip that went through the real upload and pipeline."""

import datetime as dt
import tempfile
from pathlib import Path

from django.utils import timezone

from evidence import samples
from evidence import services as evidence_services
from portal.models import User
from portal.roles import Role
from registry import services
from registry.footage import services as footage_services
from registry.models import Camera, FootageRequest, SearchReasonCategory
from registry.search import SearchQuery

DEMO_CASE = "RPD-DEMO-0007"


def seed_footage_request(*, agencies, users, stdout) -> None:
    """Idempotent: does nothing once the demo request exists or without the demo cameras."""
    investigator = users.get(Role.INVESTIGATOR)
    door = Camera.objects.filter(owner__email="resident@example.com", name="Front door").first()
    shop = Camera.objects.filter(owner__email="shop@example.com", name="Shop camera 1").first()
    if investigator is None or door is None or shop is None:
        return
    if FootageRequest.objects.filter(case_number=DEMO_CASE).exists():
        return
    # Demo users have no verified second factor in this process; the services still check
    # everything else (agency, search, cameras, cap).
    investigator = User.objects.get(pk=investigator.pk)
    investigator.is_verified = lambda: True  # type: ignore[attr-defined]  # as django-otp would
    now = timezone.now()
    window = (now - dt.timedelta(hours=20), now - dt.timedelta(hours=19))
    found = services.camera_search(
        actor=investigator,
        query=SearchQuery(
            case_number=DEMO_CASE,
            reason="Bicycle theft outside the corner shop (demo)",
            reason_category=SearchReasonCategory.PROPERTY_CRIME,
            latitude=shop.location.y,
            longitude=shop.location.x,
            radius_m=300,
            window_start=window[0],
            window_end=window[1],
        ),
    ).search
    request = footage_services.footage_request_create(
        actor=investigator,
        search=found,
        camera_ids=[c.pk for c in (shop, door) if str(c.pk) in map(str, found.camera_ids)],
        case_number=DEMO_CASE,
        reason="Bicycle theft outside the corner shop (demo)",
        message="Anything showing the bike rack between these times helps.",
        window_start=window[0],
        window_end=window[1],
        deadline=now + dt.timedelta(days=5),
    )
    recipient = request.recipients.get(owner=shop.owner)
    rc = recipient.cameras.get(camera=shop)
    issued = footage_services.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk)
    with tempfile.TemporaryDirectory() as tmp:
        clip = samples.phone_clip_mov(
            Path(tmp), seconds=4, size="1280x720", lat=shop.location.y, lon=shop.location.x
        )
        item = evidence_services.item_ingest_file(
            grant=issued.grant, path=clip, filename="shop-cam1.mov"
        )
    state = evidence_services.item_process_now(item_id=item.pk)
    footage_services.footage_uploads_record(request_cameras=[rc])
    stdout.write(
        f"Demo footage request {DEMO_CASE}: {request.cameras.count()} camera(s) asked, "
        f"the shop answered with a clip -> {state}."
    )
