"""A recording's GPS track in each format a device may send, through the device API."""

import datetime as dt
import json
from functools import reduce

import pytest
from django.urls import reverse

from devices.models import Recording, TrackPoint
from portal.models import AuditEvent
from tests.devices.helpers import Camera, manifest

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 3, 23, 59, 50, tzinfo=dt.UTC)


def nmea(body: str) -> str:
    """A sentence with its checksum (XOR of the characters between $ and *)."""
    checksum = reduce(lambda acc, ch: acc ^ ord(ch), body, 0)
    return f"${body}*{checksum:02X}"


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="bwc" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><trkseg>
  <trkpt lat="40.7128" lon="-74.0060"><time>2026-12-04T00:00:00Z</time></trkpt>
  <trkpt lat="40.7130" lon="-74.0058"><time>2026-12-04T00:00:10Z</time></trkpt>
  <trkpt lat="40.7133" lon="-74.0055"><time>2026-12-04T00:00:20Z</time></trkpt>
 </trkseg></trk>
</gpx>"""

# RMC before midnight, GGA after it (its date is the next day), GGA matching an RMC second.
NMEA = "\n".join(
    [
        nmea("GPRMC,235958,A,4042.768,N,07400.360,W,0.5,90.0,031226,,"),
        nmea("GPGGA,235958,4042.768,N,07400.360,W,1,08,0.9,10.0,M,-34.0,M,,"),
        nmea("GPGSV,1,1,01,01,40,083,46"),
        nmea("GPGGA,000008,4042.780,N,07400.350,W,1,08,0.9,10.0,M,-34.0,M,,"),
        nmea("GPRMC,000018,A,4042.790,N,07400.340,W,0.5,90.0,041226,,"),
    ]
)

GEOJSON_LINE = {
    "type": "Feature",
    "geometry": {"type": "LineString", "coordinates": [[-74.006, 40.7128], [-74.0058, 40.713]]},
    "properties": {"times": ["2026-12-04T00:00:00Z", "2026-12-04T00:00:10Z"]},
}
GEOJSON_POINTS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-74.006, 40.7128, 12.0]},
            "properties": {"time": "2026-12-04T00:00:00+00:00", "accuracy_m": 5},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-74.0058, 40.713]},
            "properties": {"time": "2026-12-03T19:00:10-05:00"},
        },
    ],
}
AXIS = {
    "CoordinateEntries": [
        {"LocationWKT": "POINT(-74.006 40.7128)", "SecondsFromStart": 0.0},
        {"LocationWKT": "POINT(-74.0058 40.713)", "SecondsFromStart": 14.5},
        {"LocationWKT": "POINT(-74.0055 40.7133)", "SecondsFromStart": 28.0},
    ]
}


@pytest.fixture
def camera(police):
    return Camera(police)


@pytest.fixture
def track_url(camera):
    body = manifest(
        started_at=START.isoformat(),
        stopped_at=(START + dt.timedelta(minutes=2)).isoformat(),
        pre_event_seconds=0,
        trigger_on={"source": "button", "at": START.isoformat(), "location": None},
        trigger_off=None,
        bookmarks=[],
    )
    response = camera.post(reverse("api-devices-recordings"), body)
    assert response.status_code == 201, response.content
    return reverse("api-devices-recording-track", args=[response.json()["id"]])


def send(camera, url, body, content_type):
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
    return camera.post(url, data, content_type=content_type)


def points() -> list[tuple]:
    return [
        (p.t, round(p.point.y, 4), round(p.point.x, 4), p.accuracy_m)
        for p in TrackPoint.objects.order_by("t")
    ]


def at(seconds: float) -> dt.datetime:
    return dt.datetime(2026, 12, 4, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def test_gpx(camera, track_url):
    response = send(camera, track_url, GPX, "application/gpx+xml")
    assert response.status_code == 201, response.content
    assert response.json() == {"points": 3}
    assert points()[0] == (at(0), 40.7128, -74.006, None)
    assert points()[-1][0] == at(20)
    row = AuditEvent.objects.get(action="device.track_received")
    assert row.details["format"] == "gpx" and row.details["points"] == 3


def test_nmea_rmc_and_gga_with_the_date_across_midnight(camera, track_url):
    response = send(camera, track_url, NMEA, "application/x-nmea")
    assert response.status_code == 201, response.content
    # 23:59:58 (RMC and GGA agree: one point), 00:00:08 (GGA, next day), 00:00:18 (RMC).
    assert [p[0] for p in points()] == [at(-2), at(8), at(18)]
    assert points()[0][1:3] == (40.7128, -74.006)


def test_nmea_as_text_plain(camera, track_url):
    assert send(camera, track_url, NMEA, "text/plain; charset=utf-8").status_code == 201


def test_geojson_linestring_with_times(camera, track_url):
    response = send(camera, track_url, GEOJSON_LINE, "application/geo+json")
    assert response.status_code == 201, response.content
    assert points() == [(at(0), 40.7128, -74.006, None), (at(10), 40.713, -74.0058, None)]


def test_geojson_sent_as_plain_json_is_read_as_geojson(camera, track_url):
    assert send(camera, track_url, GEOJSON_LINE, "application/json").status_code == 201
    assert len(points()) == 2


def test_geojson_point_features(camera, track_url):
    response = send(camera, track_url, GEOJSON_POINTS, "application/geo+json")
    assert response.status_code == 201, response.content
    assert points() == [(at(0), 40.7128, -74.006, 5.0), (at(10), 40.713, -74.0058, None)]


def test_axis_gpstrail_counts_from_the_recording_start(camera, track_url):
    response = send(camera, track_url, AXIS, "application/json")
    assert response.status_code == 201, response.content
    assert [p[0] for p in points()] == [START, START + dt.timedelta(seconds=14.5), at(18)]
    assert points()[1][1:3] == (40.713, -74.0058)


def test_a_track_sent_again_replaces_the_first(camera, track_url):
    send(camera, track_url, GPX, "application/gpx+xml")
    send(camera, track_url, GEOJSON_LINE, "application/geo+json")
    assert TrackPoint.objects.count() == 2
    assert Recording.objects.get().track.count() == 2


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (NMEA.replace("*", "*0", 1)[:-1] + "0", "application/x-nmea", "checksum"),
        (nmea("GPGGA,000008,4042.780,N,07400.350,W,1,08,0.9,10.0,M,-34.0,M,,"), "text/plain", "RMC"),
        ('{"type": "Feature", "geometry": {"type": "LineString", "coordinates": '
         '[[-74.0, 40.7]]}, "properties": {}}', "application/geo+json", "times"),
        (GPX.replace('lat="40.7130"', 'lat="140.7130"'), "application/gpx+xml", "latitude"),
        ('{"CoordinateEntries": [{"LocationWKT": "POINT(-200 40)", "SecondsFromStart": 1}]}',
         "application/json", "longitude"),
        (GPX.replace("<time>2026-12-04T00:00:10Z</time>", ""), "application/gpx+xml", "no time"),
        ("<gpx", "application/gpx+xml", "GPX"),
        ("{not json", "application/json", "JSON"),
        ("", "application/json", "JSON"),
    ],
)  # fmt: skip
def test_a_malformed_track_gets_400_saying_why(camera, track_url, body, content_type, says):
    response = send(camera, track_url, body, content_type)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "track"
    assert says in response.json()["detail"]
    assert not TrackPoint.objects.exists()


def test_an_unknown_content_type_gets_400_naming_it(camera, track_url):
    response = send(camera, track_url, GPX, "application/octet-stream")
    assert response.status_code == 400
    assert response.json()["field"] == "Content-Type"
