"""Owners' cameras: scoped access, pause/delete, the map's cell counts, and CSV import."""

import csv

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from registry import selectors, services
from registry.models import Camera, CameraCell
from registry.services import CsvImportError
from tests.registry.cameras import INCIDENT, investigator, offset, owner, register

pytestmark = pytest.mark.django_db

HEADER = "name,kind,latitude,longitude,direction_deg,fov_angle_deg,range_m,retention_days,participation,is_public\n"


def cells(scope: int, level: int) -> dict:
    return {
        (c.cx, c.cy): c.count
        for c in CameraCell.objects.filter(scope=scope, level=level, count__gt=0)
    }


def test_owners_see_only_their_own_cameras():
    alice, bob = owner(), owner()
    mine = register(alice, *INCIDENT)
    assert list(selectors.cameras_of(actor=alice)) == [mine]
    assert list(selectors.cameras_of(actor=bob)) == []
    with pytest.raises(Http404):
        selectors.camera_get_for(actor=bob, id=mine.id)
    with pytest.raises(Http404):
        services.camera_update(actor=bob, camera_id=mine.id, data={})
    with pytest.raises(Http404):
        services.camera_delete(actor=bob, camera_id=mine.id)
    assert selectors.camera_get_for(actor=alice, id=mine.id, write=True) == mine


def test_investigators_read_visible_cameras_but_never_write(police):
    cam = register(owner(), *INCIDENT)
    actor = investigator(police)
    assert selectors.camera_get_for(actor=actor, id=cam.id) == cam
    with pytest.raises(PermissionDenied):
        selectors.camera_get_for(actor=actor, id=cam.id, write=True)


def test_unverified_public_users_cannot_register():
    person = owner()
    person.email_verified_at = None
    with pytest.raises(PermissionDenied):
        register(person, *INCIDENT)


def test_the_cone_follows_direction_angle_and_range():
    cam = register(owner(), *INCIDENT, direction_deg=90, fov_angle_deg=60, range_m=100)
    lat, lon = INCIDENT
    from django.contrib.gis.geos import Point

    east = Point(*reversed(offset(lat, lon, 0, 80)), srid=4326)
    west = Point(*reversed(offset(lat, lon, 0, -80)), srid=4326)
    beyond = Point(*reversed(offset(lat, lon, 0, 120)), srid=4326)
    assert cam.fov.contains(east) and not cam.fov.contains(west)
    assert not cam.fov.contains(beyond)


def test_cell_counts_follow_register_move_pause_and_delete(police):
    person = owner()
    cam = register(person, *INCIDENT, is_public=True)
    assert sum(cells(0, 10).values()) == 1 and sum(cells(police.id, 10).values()) == 1
    services.camera_pause(actor=person, camera_id=cam.id)
    assert cells(0, 10) == {} and cells(police.id, 10) == {}
    services.camera_resume(actor=person, camera_id=cam.id)
    from tests.registry.cameras import camera_data

    services.camera_update(
        actor=person, camera_id=cam.id, data=camera_data(*INCIDENT, is_public=False)
    )
    assert cells(0, 10) == {} and sum(cells(police.id, 10).values()) == 1
    services.camera_delete(actor=person, camera_id=cam.id)
    assert cells(police.id, 10) == {}
    # The row stays (past requests keep their link); the owner no longer lists it.
    assert Camera.objects.filter(pk=cam.id, deleted_at__isnull=False).exists()
    assert list(selectors.cameras_of(actor=person)) == []


def test_rebuilt_cells_equal_the_incrementally_kept_ones(police):
    person = owner()
    lat, lon = INCIDENT
    for i in range(12):
        register(
            person, *offset(lat, lon, i * 300, i * 200), is_public=i % 2 == 0, retention_days=1 + i
        )
    kept = {
        (c.scope, c.level, c.cx, c.cy, c.kind, c.participation, c.retention_bucket): c.count
        for c in CameraCell.objects.filter(count__gt=0)
    }
    services.cells_rebuild()
    rebuilt = {
        (c.scope, c.level, c.cx, c.cy, c.kind, c.participation, c.retention_bucket): c.count
        for c in CameraCell.objects.all()
    }
    assert kept == rebuilt and kept


# --- CSV import -----------------------------------------------------------------------------


def test_a_valid_csv_imports_every_camera_with_the_agency_time_zone(police):
    business = owner("business")
    lat, lon = INCIDENT
    body = HEADER + "".join(
        f"Till {i},fixed,{lat + i / 10000},{lon},90,70,25,14,contact_me,{'true' if i else 'false'}\n"
        for i in range(3)
    )
    cams = services.cameras_import_csv(actor=business, raw=body.encode())
    assert len(cams) == 3
    assert Camera.objects.filter(owner=business).count() == 3
    assert {c.time_zone for c in cams} == {"America/New_York"}
    assert [c.is_public for c in sorted(cams, key=lambda c: c.name)] == [False, True, True]


def test_bad_rows_are_reported_by_line_and_nothing_is_imported():
    business = owner("business")
    lat, lon = INCIDENT
    body = (
        HEADER
        + f"Good,fixed,{lat},{lon},90,70,25,14,contact_me,false\n"
        + f"Bad kind,tripod,{lat},{lon},90,70,25,14,contact_me,false\n"
        + f"Bad place,fixed,95,{lon},90,70,25,14,contact_me,false\n"
        + f'=HYPERLINK("http://x"),fixed,{lat},{lon},90,70,25,14,contact_me,false\n'
        + f"Short row,fixed,{lat}\n"
    )
    with pytest.raises(CsvImportError) as caught:
        services.cameras_import_csv(actor=business, raw=body.encode())
    lines = [line for line, _ in caught.value.errors]
    assert lines == [3, 4, 5, 6]
    text = str(caught.value)
    assert (
        "kind" in text and "latitude" in text and "formula" in text and "expected 10 fields" in text
    )
    assert not Camera.objects.exists() and not CameraCell.objects.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe n\x00a\x00m\x00e\x00", "not UTF-8"),
        (HEADER.encode() + b"a\x00b,fixed,1,1,1,1,1,1,contact_me,false\n", "NUL"),
        (b"name,colour\nx,red\n", "missing column"),
        (HEADER.encode() + b"x" * (1024 * 1024), "larger than"),
        (
            HEADER.encode() + ("y" * 5000 + ",fixed,1,1,1,1,1,1,contact_me,false\n").encode(),
            "line 2",
        ),
        (HEADER.encode(), "no cameras"),
        (b"", "empty"),
    ],
)
def test_malicious_or_broken_files_are_refused_clearly(raw, message):
    with pytest.raises(CsvImportError, match=message):
        services.cameras_import_csv(actor=owner("business"), raw=raw)
    assert not Camera.objects.exists()


def test_the_row_cap_is_enforced():
    lat, lon = INCIDENT
    body = HEADER + f"Cam,fixed,{lat},{lon},90,70,25,14,contact_me,false\n" * (
        services.CSV_MAX_ROWS + 1
    )
    with pytest.raises(CsvImportError, match="More than"):
        services.cameras_import_csv(actor=owner("business"), raw=body.encode())
    assert not Camera.objects.exists()


@pytest.mark.parametrize(
    ("size", "message"),
    [(300, "name: longer than 200 characters"), (300_000, "a field is longer than 200")],
)
def test_a_long_field_is_refused_by_line_and_the_csv_module_limit_is_left_alone(size, message):
    limit_before = csv.field_size_limit()
    lat, lon = INCIDENT
    body = HEADER + f"{'y' * size},fixed,{lat},{lon},90,70,25,14,contact_me,false\n"
    with pytest.raises(CsvImportError) as caught:
        services.cameras_import_csv(actor=owner("business"), raw=body.encode())
    assert caught.value.errors == [(2, caught.value.errors[0][1])]
    assert message in caught.value.errors[0][1]
    assert csv.field_size_limit() == limit_before
    assert not Camera.objects.exists()
