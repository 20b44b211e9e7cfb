"""The map API's answers: the public grid never gives a camera's position; the staff map stays in its jurisdiction."""

import pytest

from registry import mapshapes, selectors
from registry.selectors import MapFilters, MapQueryError
from tests.registry.cameras import INCIDENT, agency_elsewhere, investigator, offset, owner, register

pytestmark = pytest.mark.django_db
BBOX = (-74.0, 40.7, -73.9, 40.8)


def all_positions(answer) -> set:
    return {(c["lon"], c["lat"]) for c in answer["cells"]} | {
        (c["lon"], c["lat"]) for c in answer["cameras"]
    }


@pytest.mark.parametrize("zoom", [5, 10, 13, 14, 16, 18, 20])
def test_public_grid_counts_public_cameras_at_cell_centres_only(police, zoom):
    lat, lon = INCIDENT
    public = register(owner(), *offset(lat, lon, 3, 7), is_public=True)
    register(owner(), *offset(lat, lon, 900, 900), is_public=False)
    answer = selectors.public_map(bbox=BBOX, zoom=zoom)
    assert [c["count"] for c in answer["cells"]] == [1]
    [cell] = answer["cells"]
    level = min(mapshapes.level_for_zoom(zoom), mapshapes.PUBLIC_MAX_LEVEL)
    merc = public.location_merc
    cx, cy = mapshapes.cell_of(merc.x, merc.y, level)
    centre = mapshapes.cell_centre(cx, cy, level)
    assert (cell["lon"], cell["lat"]) == (round(centre[0], 6), round(centre[1], 6))
    # Never the camera's own coordinates, and never finer than about 150 m.
    assert abs(cell["lon"] - public.location.x) + abs(cell["lat"] - public.location.y) > 1e-6
    assert answer["cell_size_m"] >= 150
    assert answer["cameras"] == []


def test_public_grid_never_shows_a_private_camera_at_any_zoom(police):
    lat, lon = INCIDENT
    private = register(owner(), *offset(lat, lon, 3, 7))
    for zoom in range(0, 21):
        try:
            answer = selectors.public_map(bbox=BBOX, zoom=zoom)
        except MapQueryError:
            continue
        assert answer["cells"] == [] and answer["cameras"] == []
    assert (private.location.x, private.location.y) not in all_positions(answer)


def test_a_cell_count_does_not_change_as_the_viewport_edge_crosses_the_cell(police):
    lat, lon = INCIDENT
    cam = register(owner(), *offset(lat, lon, 3, 7), is_public=True)
    x, y = cam.location.x, cam.location.y
    # Viewports whose edge passes just east and just west of the camera give the same cell.
    east_edge = selectors.public_map(bbox=(x - 0.01, y - 0.01, x + 0.00001, y + 0.01), zoom=16)
    west_edge = selectors.public_map(bbox=(x - 0.01, y - 0.01, x - 0.00001, y + 0.01), zoom=16)
    east = {(c["lon"], c["lat"]): c["count"] for c in east_edge["cells"]}
    west = {(c["lon"], c["lat"]): c["count"] for c in west_edge["cells"]}
    assert sum(east.values()) == 1
    # Either both include the camera's whole cell, or the west one stops short of that cell.
    assert west == east or all(k not in west for k in east)


def test_staff_map_shows_exact_cameras_of_the_jurisdiction_when_zoomed_in(police):
    lat, lon = INCIDENT
    private = register(owner(), *offset(lat, lon, 3, 7), kind="fixed", retention_days=30)
    register(owner(), *offset(lat, lon, 20, 7), kind="doorbell", retention_days=2)
    actor = investigator(police)
    answer = selectors.agency_map(actor=actor, bbox=BBOX, zoom=16, filters=MapFilters())
    assert {c["name"] for c in answer["cameras"]} == {"Front door"}
    assert len(answer["cameras"]) == 2
    assert (private.location.x, private.location.y) in all_positions(answer)
    fixed = selectors.agency_map(
        actor=actor, bbox=BBOX, zoom=16, filters=MapFilters(kind="fixed", min_retention_days=14)
    )
    assert [c["id"] for c in fixed["cameras"]] == [str(private.id)]
    clusters = selectors.agency_map(
        actor=actor, bbox=BBOX, zoom=10, filters=MapFilters(min_retention_days=7)
    )
    assert clusters["cameras"] == [] and [c["count"] for c in clusters["cells"]] == [1]
    clusters = selectors.agency_map(actor=actor, bbox=BBOX, zoom=10, filters=MapFilters())
    assert [c["count"] for c in clusters["cells"]] == [2]


def test_another_agency_map_holds_none_of_our_cameras(police):
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, 3, 7))
    register(owner(), *offset(lat, lon, 30, 7), is_public=True)
    elsewhere = investigator(agency_elsewhere())
    for zoom in (5, 10, 16):
        answer = selectors.agency_map(actor=elsewhere, bbox=BBOX, zoom=zoom, filters=MapFilters())
        assert answer["cells"] == [] and answer["cameras"] == []


@pytest.mark.parametrize(
    "bbox", ["", "1,2,3", "a,b,c,d", "10,0,5,1", "0,10,1,5", "-200,0,0,1", "nan,0,1,1", "0,0,inf,1"]
)
def test_malformed_bbox_is_refused(bbox):
    with pytest.raises(MapQueryError):
        selectors.parse_bbox(bbox)


@pytest.mark.parametrize("zoom", ["", "x", "-1", "21", "3.5"])
def test_malformed_zoom_is_refused(zoom):
    with pytest.raises(MapQueryError):
        selectors.parse_zoom(zoom)


def test_a_viewport_far_larger_than_the_zoom_is_refused():
    with pytest.raises(MapQueryError, match="too large"):
        selectors.public_map(bbox=(-180, -85, 180, 85), zoom=12)
