"""Camera geometry: the field-of-view cone and the map grid. Pure functions, no database.

The cone is built on a local flat approximation around the camera (ranges are at most
500 m, where it is off by centimetres); static/src/camera-map.js draws the same shape.
The grid is Web Mercator split into 2^level x 2^level square cells; a map at zoom z uses
level z + 2 (cells about 64 screen pixels wide).
"""

import math

from django.contrib.gis.geos import Point, Polygon

EARTH_RADIUS_M = 6378137.0
METRES_PER_DEGREE_LAT = 111_320.0
WORLD_M = 2 * math.pi * EARTH_RADIUS_M
HALF_WORLD_M = WORLD_M / 2
ARC_STEPS = 16
CELL_PIXELS_LOG2 = 2  # 256-px tiles / 2^2 = 64-px cells
MIN_ZOOM, MAX_ZOOM = 0, 20
# Levels whose counts are kept in CameraCell; finer ones are counted from the cameras live.
STORED_LEVELS = range(2, 16)
# The public map never shows cells finer than this level (about 150 m): no pinpointing a camera.
PUBLIC_MAX_LEVEL = 18


def _offset(lon: float, lat: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    bearing = math.radians(bearing_deg)
    dlat = distance_m * math.cos(bearing) / METRES_PER_DEGREE_LAT
    dlon = (
        distance_m
        * math.sin(bearing)
        / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 1e-6))
    )
    return lon + dlon, lat + dlat


def fov_polygon(
    *, longitude: float, latitude: float, direction_deg: int, angle_deg: int, range_m: int
) -> Polygon:
    """The cone a camera sees: apex at the camera, an arc at `range_m`; a full circle at 360 degrees."""
    if angle_deg >= 360:
        ring = [
            _offset(longitude, latitude, 360 * i / (ARC_STEPS * 2), range_m)
            for i in range(ARC_STEPS * 2)
        ]
    else:
        start = direction_deg - angle_deg / 2
        ring = [(longitude, latitude)] + [
            _offset(longitude, latitude, start + angle_deg * i / ARC_STEPS, range_m)
            for i in range(ARC_STEPS + 1)
        ]
    ring.append(ring[0])
    return Polygon(ring, srid=4326)


def to_mercator(longitude: float, latitude: float) -> Point:
    """The Web Mercator (EPSG:3857) point for a WGS84 position."""
    lat = max(min(latitude, 85.05112878), -85.05112878)
    x = math.radians(longitude) * EARTH_RADIUS_M
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * EARTH_RADIUS_M
    return Point(x, y, srid=3857)


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon = math.degrees(x / EARTH_RADIUS_M)
    lat = math.degrees(2 * math.atan(math.exp(y / EARTH_RADIUS_M)) - math.pi / 2)
    return lon, lat


def level_for_zoom(zoom: int) -> int:
    return zoom + CELL_PIXELS_LOG2


def cell_size(level: int) -> float:
    return WORLD_M / (1 << level)


def cell_of(x: float, y: float, level: int) -> tuple[int, int]:
    size = cell_size(level)
    top = (1 << level) - 1
    cx = min(max(int((x + HALF_WORLD_M) // size), 0), top)
    cy = min(max(int((y + HALF_WORLD_M) // size), 0), top)
    return cx, cy


def cell_bounds(cx: int, cy: int, level: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    size = cell_size(level)
    west, south = to_lonlat(cx * size - HALF_WORLD_M, cy * size - HALF_WORLD_M)
    east, north = to_lonlat((cx + 1) * size - HALF_WORLD_M, (cy + 1) * size - HALF_WORLD_M)
    return west, south, east, north


def cell_centre(cx: int, cy: int, level: int) -> tuple[float, float]:
    """(longitude, latitude) of the cell's centre in Mercator: the only position a cell reveals."""
    size = cell_size(level)
    return to_lonlat((cx + 0.5) * size - HALF_WORLD_M, (cy + 0.5) * size - HALF_WORLD_M)
