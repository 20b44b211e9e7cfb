"""Demo cameras for `seed_demo`: a resident's doorbell, a shop's CSV import, and a few hundred
neighbours, all along the demo town's streets (portal/demo_town.py), facing the road."""

import random

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import demo_town
from portal.models import User
from portal.roles import Role
from registry import feeds, services
from registry.models import Camera, CameraFeed, LiveMode

NEIGHBOURS = 300
KINDS = ["doorbell", "doorbell", "fixed", "fixed", "ptz", "other"]
PARTICIPATION = ["location_only", "contact_me", "upload_on_request", "upload_on_request"]


def _camera(lat, lon, rng, **fields) -> dict:
    data = {
        "name": "Camera",
        "kind": rng.choice(KINDS),
        "latitude": lat,
        "longitude": lon,
        "direction_deg": rng.randrange(360),
        "fov_angle_deg": rng.choice([60, 90, 110, 360]),
        "range_m": rng.choice([10, 15, 25, 40, 80]),
        "retention_days": rng.choice([1, 3, 7, 14, 30, 60]),
        "records_always": True,
        "records_from": None,
        "records_until": None,
        "placement": "outdoor",
        "participation": rng.choice(PARTICIPATION),
        "is_public": rng.random() < 0.5,
        "contact_method": "email",
        "contact_phone": "",
        "quiet_from": None,
        "quiet_until": None,
        "time_zone": "America/New_York",
    }
    data.update(fields)
    return data


def seed_cameras(*, agencies, users, stdout) -> None:
    """Idempotent: does nothing once the demo resident has a camera."""
    police = agencies["police"]
    resident = User.objects.filter(email="resident@example.com").first()
    shop = User.objects.filter(email="shop@example.com").first()
    if resident is None or shop is None or Camera.objects.filter(owner=resident).exists():
        return
    west, south, east, north = police.jurisdiction.extent
    rng = random.Random(5)  # noqa: S311 - repeatable demo positions, not secrets
    # On the north side of Main Street, facing it; the shop's cameras along the same kerb.
    lat0, lon0 = demo_town.main_street_lat() + 12 / demo_town.M_PER_DEG, (west + east) / 2
    services.camera_register(
        actor=resident,
        data=_camera(
            lat0,
            lon0,
            rng,
            name="Front door",
            kind="doorbell",
            participation="upload_on_request",
            direction_deg=180,
        ),
    )
    rows = [
        "name,kind,latitude,longitude,direction_deg,fov_angle_deg,range_m,retention_days,"
        "participation,is_public"
    ]
    for i in range(12):
        lat, lon = lat0, lon0 + 0.0003 * i + 0.0004
        rows.append(
            f"Shop camera {i + 1},fixed,{lat:.6f},{lon:.6f},{150 + i * 5},90,30,14,upload_on_request,{'true' if i % 2 else 'false'}"
        )
    services.cameras_import_csv(actor=shop, raw=("\n".join(rows) + "\n").encode())
    with transaction.atomic():
        neighbours = []
        for n in range(10):
            email = f"neighbour{n}@example.com"
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email,
                None,
                full_name=f"Demo neighbour {n}",
                role=Role.RESIDENT,
                email_verified_at=timezone.now(),
            )
            neighbours.append(user)
        for i in range(NEIGHBOURS):
            lat, lon, facing = demo_town.kerbside_point(rng)
            data = _camera(lat, lon, rng, name=f"Neighbour camera {i + 1}")
            data["direction_deg"] = facing
            services.camera_register(actor=neighbours[i % len(neighbours)], data=data)
    stdout.write(f"Demo cameras: 1 doorbell, 12 shop cameras from CSV, {NEIGHBOURS} neighbours.")


DEMO_CCTV = "Shop camera 1"


def seed_live_camera(*, agencies, users, stdout) -> None:
    """`make run`'s CCTV camera with a live feed: the shop's first camera linked to the demo RTSP
    camera (RELAY_DEMO_CAMERA, the Procfile's `democam:` on loopback, with a burned-in clock),
    shared "always" with the police. Idempotent; nothing without RELAY_DEMO_CAMERA."""
    address = settings.RELAY_DEMO_CAMERA
    camera = Camera.objects.filter(owner__email="shop@example.com", name=DEMO_CCTV).first()
    if not address or camera is None:
        return
    if CameraFeed.objects.filter(camera=camera).exclude(source_sealed="").exists():
        return
    shop = User.objects.get(email="shop@example.com")
    feeds.feed_set(actor=shop, camera_id=camera.pk, address=address, username="", password="")
    feeds.live_policy_set(
        actor=shop, camera_id=camera.pk, mode=LiveMode.ALWAYS, agency_id=agencies["police"].pk
    )
    stdout.write(
        f"  CCTV camera {DEMO_CCTV!r} (shop@example.com) relays {address} live to the police:"
        " sign in as the supervisor or dispatcher, open Live, and watch it."
    )
