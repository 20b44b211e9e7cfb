"""Which registered cameras the live wall offers: chosen in SQL, so other agencies' cameras
near the incident never take the places of the agency's own."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from devices.models import CadIncident
from livefeeds import wall
from registry.models import Camera
from tests.livefeeds.watch.helpers import link
from tests.registry.cameras import INCIDENT, register

pytestmark = pytest.mark.django_db


def test_other_agencies_cameras_do_not_crowd_out_the_agencys_own(
    cam_owner, police, other_police, private_sources, monkeypatch
):
    monkeypatch.setattr(wall, "WALL_MAX_TILES", 1)
    theirs = [register(cam_owner, *INCIDENT, name=f"A{i} across the line") for i in range(3)]
    for camera in theirs:
        link(camera, cam_owner, agency=other_police)
    Camera.objects.filter(pk__in=[c.pk for c in theirs]).update(jurisdiction_ids=[other_police.pk])
    ours = register(cam_owner, *INCIDENT, name="Z corner shop")
    link(ours, cam_owner, agency=police)
    incident = CadIncident.objects.create(
        agency=police,
        incident_id="CAD-2026-0400",
        point=Point(INCIDENT[1], INCIDENT[0], srid=4326),
        dispatched_at=timezone.now() - dt.timedelta(minutes=3),
        received_at=timezone.now(),
    )
    offered = wall.wall_cameras(incident=incident, agency_id=police.pk, distance_m=300)
    assert [c.pk for c in offered] == [ours.pk]
    # The other agency's wall offers its cameras, not ours.
    offered = wall.wall_cameras(incident=incident, agency_id=other_police.pk, distance_m=300)
    assert [c.name for c in offered] == ["A0 across the line"]
