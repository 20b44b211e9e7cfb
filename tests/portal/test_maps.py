"""The maps' own routes: the PMTiles basemap by HTTP Range, address search, and the map config."""

import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.urls import reverse

from portal import demo_town, maps
from portal.management.commands.basemap_demo import build
from portal.models import Agency
from portal.roles import AgencyKind

BASEMAP = "/maps/basemap.pmtiles"


@pytest.fixture
def basemap_file(tmp_path, settings):
    """A 1.2 MB file of known bytes standing in for the agency's PMTiles file."""
    path = tmp_path / "basemap.pmtiles"
    data = bytes(range(256)) * 4800
    path.write_bytes(data)
    settings.MAP_PMTILES_PATH = str(path)
    return data


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_range_gets_206_with_exactly_those_bytes(client, basemap_file):
    response = client.get(BASEMAP, HTTP_RANGE="bytes=1000-17383")

    assert response.status_code == 206
    assert _body(response) == basemap_file[1000:17384]
    assert response["Content-Length"] == "16384"
    assert response["Content-Range"] == f"bytes 1000-17383/{len(basemap_file)}"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/vnd.pmtiles"
    assert response["ETag"]


def test_open_and_suffix_ranges_and_a_range_past_the_end_are_clipped(client, basemap_file):
    size = len(basemap_file)
    tail = client.get(BASEMAP, HTTP_RANGE="bytes=-100")
    assert tail.status_code == 206 and _body(tail) == basemap_file[-100:]
    rest = client.get(BASEMAP, HTTP_RANGE=f"bytes={size - 10}-")
    assert rest.status_code == 206 and _body(rest) == basemap_file[-10:]
    over = client.get(BASEMAP, HTTP_RANGE=f"bytes=0-{size * 2}")
    assert over.status_code == 206 and over.streaming  # a large range streams
    assert _body(over) == basemap_file
    assert over["Content-Range"] == f"bytes 0-{size - 1}/{size}"


@pytest.mark.parametrize("bad", ["bytes=999999999-", "bytes=500-100", "bytes=-0"])
def test_a_range_outside_the_file_is_416(client, basemap_file, bad):
    response = client.get(BASEMAP, HTTP_RANGE=bad)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(basemap_file)}"


def test_without_range_the_whole_file_streams(client, basemap_file):
    response = client.get(BASEMAP)

    assert response.status_code == 200
    assert response.streaming  # never read whole into memory
    assert _body(response) == basemap_file
    assert response["Accept-Ranges"] == "bytes"


def test_head_answers_the_length_without_a_body(client, basemap_file):
    whole = client.head(BASEMAP)
    part = client.head(BASEMAP, HTTP_RANGE="bytes=0-99")

    assert whole.status_code == 200 and whole["Content-Length"] == str(len(basemap_file))
    assert part.status_code == 206 and part["Content-Length"] == "100"
    assert whole.content == b"" and part.content == b""


def test_a_stale_if_range_gets_the_whole_new_file(client, basemap_file):
    response = client.get(BASEMAP, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old-version"')

    assert response.status_code == 200
    assert _body(response) == basemap_file


def test_no_basemap_installed_is_404(client, settings, tmp_path):
    settings.MAP_PMTILES_PATH = str(tmp_path / "missing.pmtiles")

    assert client.get(BASEMAP).status_code == 404


def test_the_demo_basemap_is_a_pmtiles_file_of_the_demo_town(tmp_path):
    out = tmp_path / "demo.pmtiles"
    build(out)

    data = out.read_bytes()
    assert data[:7] == b"PMTiles" and data[7] == 3  # PMTiles version 3 header
    assert 2_000 < len(data) < 1_000_000
    names = {s.name for s in demo_town.streets()}
    assert {"Main Street", "River Road", "Alder Avenue"} <= names


def test_demo_cameras_stand_beside_a_street_inside_the_town():
    import random

    rng = random.Random(1)
    west, south, east, north = demo_town.BBOX
    for _ in range(200):
        lat, lon, facing = demo_town.kerbside_point(rng)
        assert south < lat < north and west < lon < east
        assert facing in (0, 90, 180, 270)


@pytest.mark.django_db
def test_address_search_answers_json_from_the_geocoder(client, geocoder):
    found = client.get(reverse("portal:geocode"), {"q": "100 Main Street, Riverton"})
    missing = client.get(reverse("portal:geocode"), {"q": "nowhere at all"})
    too_long = client.get(reverse("portal:geocode"), {"q": "x" * 301})

    assert found.status_code == 200
    assert found.json() == {
        "found": True, "lat": 40.7128, "lon": -74.006, "label": "100 Main Street, Riverton"
    }  # fmt: skip
    assert missing.status_code == 200 and missing.json() == {"found": False}
    assert too_long.status_code == 400


@pytest.mark.django_db
def test_address_search_without_a_geocoder_is_503(client, settings):
    settings.GEOCODER_URL = ""

    assert client.get(reverse("portal:geocode"), {"q": "1 Main Street"}).status_code == 503


@pytest.mark.django_db
def test_map_config_outlines_the_viewers_agency_and_names_only_this_site(
    settings, basemap_file, geocoder
):
    settings.MAP_TILE_URL = ""
    box = MultiPolygon(Polygon.from_bbox(demo_town.BBOX), srid=4326)
    Agency.objects.create(name="Riverton PD", slug="rpd", kind=AgencyKind.POLICE, jurisdiction=box)

    config = maps.map_config(None)

    assert config["basemap"]["kind"] == "pmtiles"
    assert config["basemap"]["url"] == BASEMAP
    assert config["geocode"] == reverse("portal:geocode")
    assert [o["name"] for o in config["outlines"]] == ["Riverton PD"]
    assert "http" not in json.dumps(config)  # nothing from another site, no set-up hints
