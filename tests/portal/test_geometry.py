import pytest

from portal.geometry import BadGeometry, geometry_from_text


def test_geojson_and_wkt_read_the_same_polygon():
    geojson = '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}'
    wkt = "POLYGON((0 0, 1 0, 1 1, 0 0))"

    assert geometry_from_text(geojson).equals(geometry_from_text(wkt))
    assert geometry_from_text(wkt).srid == 4326


def test_empty_text_is_no_geometry():
    assert geometry_from_text("   ") is None


@pytest.mark.parametrize("text", ['{"type": "Foo"}', "{not json", "POLYGON((0 0, 1 1))", "[1]"])
def test_every_kind_of_unreadable_text_is_one_error(text):
    with pytest.raises(BadGeometry):
        geometry_from_text(text)
