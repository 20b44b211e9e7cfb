"""A recording's GPS track, in whichever format the device sends it, as timestamped fixes.

Four inputs (../shared/devices.md §1.4): GPX (gpxpy), NMEA 0183 RMC/GGA sentences (pynmeagps,
checksums checked), GeoJSON (RFC 7946 positions are [lon, lat]; times in `properties`) and the
Axis gpstrail JSON (WKT `POINT(lon lat)` with `SecondsFromStart` from the recording's start).
Every parser returns the same `Fix` list, oldest first, one fix per instant; a problem raises
`TrackInvalid` with a message a device's maintainer can act on.

Out, a track is GeoJSON too (`geojson_of`), in the shape the GeoJSON parser reads back: one
LineString with its times in `properties.times`.
"""

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

import gpxpy
import gpxpy.gpx
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.utils.dateparse import parse_datetime
from pynmeagps import VALCKSUM, NMEAReader
from pynmeagps.exceptions import NMEAMessageError, NMEAParseError, NMEATypeError

MAX_FIXES = 100_000

GPX = "gpx"
NMEA = "nmea"
GEOJSON = "geojson"
AXIS = "axis_gpstrail"

CONTENT_TYPES = {
    "application/gpx+xml": GPX,
    "application/geo+json": GEOJSON,
    "text/plain": NMEA,
    "application/x-nmea": NMEA,
    "application/json": AXIS,
}


class TrackInvalid(ValueError):
    """The track cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Fix:
    t: dt.datetime
    lat: float
    lon: float
    accuracy_m: float | None = None


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def geojson_of(
    fixes: list[Fix], *, video_started_at: dt.datetime, properties: dict[str, Any]
) -> dict[str, Any]:
    """The fixes as an RFC 7946 FeatureCollection of one Feature: a LineString ([lon, lat],
    WGS 84; a MultiPoint for a single fix, which no line can be) with, per position, its time
    (`times`), its accuracy in metres (`accuracy_m`, null when unknown) and its place on the
    video's timeline (`video_seconds`: seconds from `video_started_at`, the first frame's time,
    pre-event buffer included; negative before it)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString" if len(fixes) > 1 else "MultiPoint",
                    "coordinates": [[round(f.lon, 7), round(f.lat, 7)] for f in fixes],
                },
                "properties": {
                    **properties,
                    "video_started_at": _rfc3339(video_started_at),
                    "times": [_rfc3339(f.t) for f in fixes],
                    "video_seconds": [
                        round((f.t - video_started_at).total_seconds(), 3) for f in fixes
                    ],
                    "accuracy_m": [f.accuracy_m for f in fixes],
                },
            }
        ],
    }


def format_of(content_type: str) -> str | None:
    return CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


def parse(fmt: str, body: bytes, *, started_at: dt.datetime) -> list[Fix]:
    """The fixes of a track body in `fmt`; `started_at` anchors Axis's SecondsFromStart."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TrackInvalid("The track is not UTF-8 text.") from None
    if fmt == GPX:
        fixes = _gpx(text)
    elif fmt == NMEA:
        fixes = _nmea(text)
    elif fmt == GEOJSON:
        fixes = _geojson(_json(text))
    elif fmt == AXIS:
        doc = _json(text)
        # GeoJSON sent as plain application/json is still GeoJSON: it says so in its `type`.
        is_geojson = isinstance(doc, dict) and doc.get("type") in ("Feature", "FeatureCollection")
        fixes = _geojson(doc) if is_geojson else _axis(doc, started_at)
    else:
        raise TrackInvalid(f"Unknown track format {fmt!r}.")
    if not fixes:
        raise TrackInvalid("The track has no timestamped positions.")
    if len(fixes) > MAX_FIXES:
        raise TrackInvalid(f"The track has more than {MAX_FIXES} positions.")
    by_time = {f.t: f for f in fixes}  # one fix per instant (RMC and GGA repeat each other)
    return [by_time[t] for t in sorted(by_time)]


def _fix(t: dt.datetime | None, lat: Any, lon: Any, where: str, accuracy: Any = None) -> Fix:
    if t is None:
        raise TrackInvalid(f"{where}: the position has no time.")
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)  # GPX and NMEA times are UTC by definition
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise TrackInvalid(f"{where}: the coordinates are not numbers.") from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise TrackInvalid(f"{where}: latitude {lat} is out of range (-90 to 90).")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise TrackInvalid(f"{where}: longitude {lon} is out of range (-180 to 180).")
    acc = None
    if accuracy is not None:
        try:
            acc = float(accuracy)
        except (TypeError, ValueError):
            raise TrackInvalid(f"{where}: the accuracy is not a number.") from None
        if not (math.isfinite(acc) and acc >= 0):
            raise TrackInvalid(f"{where}: the accuracy must be 0 or more metres.")
    return Fix(t=t, lat=lat, lon=lon, accuracy_m=acc)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TrackInvalid(f"The track is not valid JSON: {exc}.") from None


def _time(value: Any, where: str) -> dt.datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise TrackInvalid(f"{where}: {value!r} is not an RFC 3339 time.")
    return parsed


# --- GPX ------------------------------------------------------------------------------------


def _gpx(text: str) -> list[Fix]:
    try:
        doc = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise TrackInvalid(f"The GPX cannot be read: {exc}") from None
    points: list[gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXWaypoint | gpxpy.gpx.GPXRoutePoint] = []
    for track in doc.tracks:
        for segment in track.segments:
            points.extend(segment.points)
    for route in doc.routes:
        points.extend(route.points)
    points.extend(doc.waypoints)
    return [
        _fix(p.time, p.latitude, p.longitude, f"GPX point {n}") for n, p in enumerate(points, 1)
    ]


# --- NMEA 0183 ------------------------------------------------------------------------------


def _nmea(text: str) -> list[Fix]:
    """RMC carries date and time; GGA only the time, so it takes the date of the RMC sentence
    of the same second, else of the nearest RMC before it (else after it)."""
    rmc: list[tuple[int, dt.date, dt.time, Any]] = []
    gga: list[tuple[int, dt.time, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith(("$", "!")):
            raise TrackInvalid(f"NMEA line {number}: not an NMEA sentence.")
        try:
            msg = NMEAReader.parse(line, validate=VALCKSUM)
        except (NMEAParseError, NMEAMessageError, NMEATypeError) as exc:
            raise TrackInvalid(f"NMEA line {number}: {exc}") from None
        if msg is None:
            continue
        if msg.msgID == "RMC":
            if getattr(msg, "status", "") == "A" and isinstance(msg.date, dt.date):
                rmc.append((number, msg.date, msg.time, msg))
        elif msg.msgID == "GGA" and getattr(msg, "quality", 0) and isinstance(msg.time, dt.time):
            gga.append((number, msg.time, msg))
    if gga and not rmc:
        raise TrackInvalid("NMEA: GGA sentences carry no date; send RMC sentences too.")
    fixes = [
        _fix(dt.datetime.combine(date, time), msg.lat, msg.lon, f"NMEA line {number}")
        for number, date, time, msg in rmc
        if msg.lat != "" and msg.lon != ""
    ]
    for number, time, msg in gga:
        if msg.lat == "" or msg.lon == "":
            continue
        date = _date_for(number, time, rmc)
        fixes.append(_fix(dt.datetime.combine(date, time), msg.lat, msg.lon, f"NMEA line {number}"))
    return fixes


def _date_for(number: int, time: dt.time, rmc: list[tuple[int, dt.date, dt.time, Any]]) -> dt.date:
    same_second = [
        d for _, d, t, _ in rmc if t.replace(microsecond=0) == time.replace(microsecond=0)
    ]
    if same_second:
        return same_second[0]
    before = [(n, d, t) for n, d, t, _ in rmc if n < number]
    if before:
        _, date, rmc_time = before[-1]
        # The clock passed midnight UTC since that RMC sentence.
        return date + dt.timedelta(days=1) if time < rmc_time else date
    _, date, rmc_time, _ = rmc[0]
    return date - dt.timedelta(days=1) if time > rmc_time else date


# --- GeoJSON ------------------------------------------------------------------------------


def _geojson(doc: Any) -> list[Fix]:
    if not isinstance(doc, dict):
        raise TrackInvalid("GeoJSON: expected an object.")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise TrackInvalid("GeoJSON: a FeatureCollection needs a `features` list.")
    elif kind == "Feature":
        features = [doc]
    else:
        raise TrackInvalid("GeoJSON: send a Feature or FeatureCollection (times in properties).")
    fixes: list[Fix] = []
    for n, feature in enumerate(features, 1):
        fixes.extend(_feature(feature, f"GeoJSON feature {n}"))
    return fixes


def _position(position: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(position, list) or len(position) < 2:
        raise TrackInvalid(f"{where}: a position is [lon, lat] or [lon, lat, alt].")
    return position[1], position[0]


def _feature(feature: Any, where: str) -> list[Fix]:
    if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
        raise TrackInvalid(f"{where}: a feature needs a geometry.")
    geometry, props = feature["geometry"], feature.get("properties") or {}
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    accuracy = props.get("accuracy_m")
    if kind == "Point":
        lat, lon = _position(coords, where)
        return [_fix(_time(props.get("time"), where), lat, lon, where, accuracy)]
    if kind in ("LineString", "MultiPoint"):
        times = props.get("times") or (props.get("coordinateProperties") or {}).get("times")
        if not isinstance(coords, list) or not isinstance(times, list):
            raise TrackInvalid(f"{where}: a {kind} needs `properties.times`, one per position.")
        if len(times) != len(coords):
            raise TrackInvalid(
                f"{where}: {len(coords)} positions but {len(times)} times in `properties.times`."
            )
        fixes = []
        for i, (position, time) in enumerate(zip(coords, times, strict=True), 1):
            at = f"{where}, position {i}"
            lat, lon = _position(position, at)
            fixes.append(_fix(_time(time, at), lat, lon, at))
        return fixes
    raise TrackInvalid(f"{where}: geometry {kind!r} is not a Point, LineString or MultiPoint.")


# --- Axis gpstrail JSON ---------------------------------------------------------------------


def _axis(doc: Any, started_at: dt.datetime) -> list[Fix]:
    entries = doc.get("CoordinateEntries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise TrackInvalid('Axis gpstrail: expected {"CoordinateEntries": [...]}.')
    fixes = []
    for n, entry in enumerate(entries, 1):
        where = f"Axis gpstrail entry {n}"
        if not isinstance(entry, dict):
            raise TrackInvalid(f"{where}: expected an object.")
        try:
            point = GEOSGeometry(str(entry.get("LocationWKT", "")))
        except (GEOSException, ValueError):
            raise TrackInvalid(f"{where}: LocationWKT is not WKT.") from None
        if not isinstance(point, Point):
            raise TrackInvalid(f"{where}: LocationWKT is not a POINT(lon lat).")
        seconds = entry.get("SecondsFromStart")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            if not (math.isfinite(seconds) and seconds >= 0):
                raise TrackInvalid(f"{where}: SecondsFromStart must be 0 or more.")
            t = started_at + dt.timedelta(seconds=seconds)
        elif "Timestamp" in entry:
            t = _time(entry["Timestamp"], where)
        else:
            raise TrackInvalid(f"{where}: neither SecondsFromStart nor Timestamp.")
        fixes.append(_fix(t, point.y, point.x, where))
    return fixes
