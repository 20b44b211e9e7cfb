"""Cameras near an incident: radius, field-of-view ranking, retention, visibility and the audit row."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DataError

from portal.audit import verify_chain
from portal.models import AuditEvent
from registry import selectors, services
from registry.models import CameraSearch
from registry.search import SearchQuery, SearchRefused
from tests.registry.cameras import (
    INCIDENT,
    agency_elsewhere,
    investigator,
    offset,
    owner,
    register,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def query(**overrides) -> SearchQuery:
    lat, lon = INCIDENT
    fields = {
        "case_number": "RPD-2025-0042",
        "reason": "Burglary at 100 Main Street",
        "reason_category": "property_crime",
        "latitude": lat,
        "longitude": lon,
        "window_start": NOW - dt.timedelta(hours=3),
        "window_end": NOW - dt.timedelta(hours=2),
    }
    fields.update(overrides)
    return SearchQuery(**fields)


@pytest.fixture
def layout(police):
    """Cameras around the incident: facing it, facing near it, facing away, and out of range."""
    lat, lon = INCIDENT
    person = owner()
    cams = {}
    # 40 m south of the incident, looking north at it: the cone covers the point.
    cams["facing_40m"] = register(person, *offset(lat, lon, -40, 0), name="facing 40", range_m=60)
    # 20 m west, looking east: closer, also covers.
    cams["facing_20m"] = register(
        person, *offset(lat, lon, 0, -20), name="facing 20", direction_deg=90
    )
    # 30 m north, looking north-east: the cone passes within a few metres of the point, not over it.
    cams["nearly_30m"] = register(
        person,
        *offset(lat, lon, 30, 0),
        name="nearly",
        direction_deg=135,
        fov_angle_deg=60,
        range_m=40,
    )
    # 10 m east, looking east: nearest camera of all, but it faces away.
    cams["away_10m"] = register(person, *offset(lat, lon, 0, 10), name="away", direction_deg=90)
    # 400 m north, facing the incident but beyond the 300 m radius.
    cams["far_400m"] = register(
        person, *offset(lat, lon, 400, 0), name="far", direction_deg=180, range_m=500
    )
    return cams


def test_ranking_puts_cones_covering_the_point_first_then_near_then_facing_away(police, layout):
    outcome = services.camera_search(actor=investigator(police), query=query(), now=NOW)
    names = [hit.name for hit in outcome.results]
    assert names == ["facing 20", "facing 40", "nearly", "away"]
    coverage = {hit.name: hit.coverage for hit in outcome.results}
    assert coverage == {"facing 20": 0, "facing 40": 0, "nearly": 1, "away": 2}
    distances = {hit.name: round(hit.distance_m) for hit in outcome.results}
    assert 18 <= distances["facing 20"] <= 22 and 38 <= distances["facing 40"] <= 42


def test_radius_is_honoured_and_can_be_widened(police, layout):
    outcome = services.camera_search(actor=investigator(police), query=query(radius_m=450), now=NOW)
    names = [hit.name for hit in outcome.results]
    assert "far" in names
    # Its 500 m cone looking south covers the point: first among equals by coverage.
    assert names.index("far") < names.index("nearly")


def test_paused_and_deleted_cameras_are_in_no_search(police, layout):
    person = layout["facing_20m"].owner
    services.camera_pause(actor=person, camera_id=layout["facing_20m"].id)
    services.camera_delete(actor=person, camera_id=layout["facing_40m"].id)
    outcome = services.camera_search(actor=investigator(police), query=query(), now=NOW)
    assert [hit.name for hit in outcome.results] == ["nearly", "away"]
    services.camera_resume(actor=person, camera_id=layout["facing_20m"].id)
    outcome = services.camera_search(actor=investigator(police), query=query(), now=NOW)
    assert [hit.name for hit in outcome.results] == ["facing 20", "nearly", "away"]


def test_location_only_cameras_are_listed_as_not_contactable(police):
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, -10, 0), participation="location_only")
    [hit] = services.camera_search(actor=investigator(police), query=query(), now=NOW).results
    assert hit.contactable is False


def test_every_search_writes_one_audit_row_naming_the_cameras(police, layout):
    actor = investigator(police)
    before = AuditEvent.objects.filter(action="registry.camera_search").count()
    outcome = services.camera_search(actor=actor, query=query(), now=NOW)
    rows = AuditEvent.objects.filter(action="registry.camera_search")
    assert rows.count() == before + 1
    row = rows.order_by("-seq").first()
    assert row.target_type == "registry.camerasearch"
    assert row.target_id == str(outcome.search.id)
    assert row.actor_id == actor.id and row.agency_id == police.id
    assert row.details["case_number"] == "RPD-2025-0042"
    assert row.details["reason"] == "Burglary at 100 Main Street"
    assert row.details["reason_category"] == "property_crime"
    assert row.details["camera_ids"] == [str(hit.id) for hit in outcome.results]
    assert len(row.details["camera_ids"]) == 4
    assert outcome.search.camera_ids == [hit.id for hit in outcome.results]


def test_each_hit_carries_its_cameras_own_values(police):
    lat, lon = INCIDENT
    camera = register(
        owner(), *offset(lat, lon, -15, 0), name="corner shop", kind="ptz", placement="indoor",
        direction_deg=10, fov_angle_deg=70, range_m=35, retention_days=14, is_public=True,
    )  # fmt: skip
    assert selectors.HIT_COLUMNS[-3:] == ("distance_m", "coverage", "overwritten_at")
    [hit] = services.camera_search(actor=investigator(police), query=query(), now=NOW).results
    for name in selectors.HIT_COLUMNS[:15]:
        assert getattr(hit, name) == getattr(camera, name), name
    assert (round(hit.longitude, 6), round(hit.latitude, 6)) == (
        round(camera.location.x, 6),
        round(camera.location.y, 6),
    )
    assert 13 <= hit.distance_m <= 17 and hit.coverage == 0
    assert hit.past_retention is False and hit.records_during_window is True


def test_searches_keep_the_audit_chain_whole(police, layout):
    actor = investigator(police)
    for n in range(3):
        services.camera_search(actor=actor, query=query(case_number=f"RPD-{n}"), now=NOW)
    assert verify_chain().ok
    rows = AuditEvent.objects.filter(action="registry.camera_search").order_by("seq")
    assert [row.case_ref for row in rows] == ["RPD-0", "RPD-1", "RPD-2"]
    assert CameraSearch.objects.count() == 3


def test_a_search_whose_write_fails_leaves_neither_row_and_the_next_one_works(police, layout):
    """The search row and its audit row commit together, or neither is written."""
    actor = investigator(police)
    events = AuditEvent.objects.count()
    with pytest.raises(DataError, match="NUL"):  # PostgreSQL text cannot hold NUL
        services.camera_search(actor=actor, query=query(reason="Burglary\x00"), now=NOW)
    assert not CameraSearch.objects.exists()
    assert AuditEvent.objects.count() == events
    outcome = services.camera_search(actor=actor, query=query(), now=NOW)
    assert CameraSearch.objects.get().pk == outcome.search.pk
    assert AuditEvent.objects.count() == events + 1
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("reason", "A reason is required"),
        ("case_number", "A case number is required"),
        ("reason_category", "Choose a reason category"),
    ],
)
def test_a_search_without_reason_or_case_number_is_refused_and_leaves_no_search(
    police, layout, field, message
):
    with pytest.raises(SearchRefused, match=message):
        services.camera_search(actor=investigator(police), query=query(**{field: "  "}), now=NOW)
    assert not CameraSearch.objects.exists()


@pytest.mark.parametrize("category", ["unspecified", "", "gossip"])
def test_a_search_with_a_category_not_on_the_list_is_refused(police, layout, category):
    with pytest.raises(SearchRefused, match="Choose a reason category"):
        services.camera_search(
            actor=investigator(police), query=query(reason_category=category), now=NOW
        )
    assert not CameraSearch.objects.exists()


def test_residents_cannot_search(police, layout):
    with pytest.raises(PermissionDenied):
        services.camera_search(actor=owner(), query=query(), now=NOW)


def test_another_agency_sees_only_public_cameras_outside_its_jurisdiction(police, layout):
    lat, lon = INCIDENT
    public = register(owner(), *offset(lat, lon, 5, 5), name="public shop", is_public=True)
    elsewhere = investigator(agency_elsewhere())
    outcome = services.camera_search(actor=elsewhere, query=query(), now=NOW)
    assert [hit.id for hit in outcome.results] == [public.id]
    ours = services.camera_search(actor=investigator(police), query=query(), now=NOW)
    assert public.id in [hit.id for hit in ours.results] and len(ours.results) == 5


def test_area_polygon_finds_cameras_whose_cone_reaches_into_it(police):
    from django.contrib.gis.geos import Polygon

    lat, lon = INCIDENT
    # A car park 600 m east of the incident, watched by a camera 650 m east facing west.
    s, w = offset(lat, lon, -30, 560)
    n, e = offset(lat, lon, 30, 620)
    area = Polygon.from_bbox((w, s, e, n))
    area.srid = 4326
    watcher = register(owner(), *offset(lat, lon, 0, 650), direction_deg=270, range_m=60)
    register(owner(), *offset(lat, lon, 0, 700), direction_deg=90, range_m=60, name="looks away")
    outcome = services.camera_search(actor=investigator(police), query=query(area=area), now=NOW)
    assert [(hit.id, hit.coverage) for hit in outcome.results] == [(watcher.id, 0)]


# --- retention ------------------------------------------------------------------------------

NY = zoneinfo.ZoneInfo("America/New_York")


def test_retention_counts_calendar_days_in_the_cameras_zone_across_dst(police):
    """7 days from 23:30 on Saturday 8 March 2025 in New York ends at 23:30 EDT on the 15th.

    DST began on 9 March, so that is 03:30 UTC on the 16th: one hour less than 7 x 24 h.
    """
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, -10, 0), retention_days=7, time_zone="America/New_York")
    start = dt.datetime(2025, 3, 8, 23, 30, tzinfo=NY)
    q = query(window_start=start, window_end=start + dt.timedelta(hours=1))
    [hit] = services.camera_search(
        actor=investigator(police), query=q, now=dt.datetime(2025, 3, 10, tzinfo=UTC)
    ).results
    assert hit.overwritten_at == dt.datetime(2025, 3, 16, 3, 30, tzinfo=UTC)
    assert hit.overwritten_at.astimezone(NY).replace(tzinfo=None) == dt.datetime(
        2025, 3, 15, 23, 30
    )
    assert hit.past_retention is False


def test_the_same_instant_in_another_zone_gives_another_cut_off(police):
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, -10, 0), retention_days=7, time_zone="Europe/London")
    start = dt.datetime(2025, 3, 8, 23, 30, tzinfo=NY)  # 04:30 UTC on the 9th, GMT in London
    q = query(window_start=start, window_end=start + dt.timedelta(hours=1))
    [hit] = services.camera_search(
        actor=investigator(police), query=q, now=dt.datetime(2025, 3, 10, tzinfo=UTC)
    ).results
    # London stays on GMT until 30 March: exactly 7 x 24 h.
    assert hit.overwritten_at == dt.datetime(2025, 3, 16, 4, 30, tzinfo=UTC)


def test_cameras_past_retention_come_last_and_are_marked(police):
    lat, lon = INCIDENT
    person = owner()
    short = register(person, *offset(lat, lon, -5, 0), name="short", retention_days=1)
    long = register(person, *offset(lat, lon, -50, 0), name="long", retention_days=30, range_m=80)
    start = dt.datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
    q = query(window_start=start, window_end=start + dt.timedelta(hours=1))
    # Two days later, one day of retention is over; the nearer camera drops to the end.
    hits = services.camera_search(
        actor=investigator(police), query=q, now=start + dt.timedelta(days=2)
    ).results
    assert [(h.id, h.past_retention) for h in hits] == [(long.id, False), (short.id, True)]
    # Across midnight: one minute before the cut-off (22:00 local on 2 March) it is still kept.
    hits = services.camera_search(
        actor=investigator(police),
        query=q,
        now=dt.datetime(2025, 3, 2, 16, 59, tzinfo=NY),
    ).results
    assert [(h.id, h.past_retention) for h in hits] == [(short.id, False), (long.id, False)]


def test_recording_hours_are_checked_against_the_window_in_local_time(police):
    lat, lon = INCIDENT
    register(
        owner(),
        *offset(lat, lon, -5, 0),
        records_always=False,
        records_from=dt.time(22, 0),
        records_until=dt.time(6, 0),
    )
    night = dt.datetime(2025, 3, 5, 2, 0, tzinfo=NY)
    day = dt.datetime(2025, 3, 5, 14, 0, tzinfo=NY)
    actor = investigator(police)
    [hit] = services.camera_search(
        actor=actor,
        query=query(window_start=night, window_end=night + dt.timedelta(hours=1)),
        now=NOW,
    ).results
    assert hit.records_during_window is True
    [hit] = services.camera_search(
        actor=actor, query=query(window_start=day, window_end=day + dt.timedelta(hours=1)), now=NOW
    ).results
    assert hit.records_during_window is False
