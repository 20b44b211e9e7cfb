"""Riverton, the fictional demo town: its boundary and its synthetic streets, river and park.

`manage.py basemap_demo` turns these into the demo's PMTiles basemap (with tippecanoe), in the
layer names and `kind` values of the Protomaps basemap schema, so the same browser style draws
the demo and an agency's real extract. The demo cameras stand along these streets
(registry/demo.py). Everything here is made up and repeatable: no map data is downloaded.
"""

import math
import random
from dataclasses import dataclass

# The jurisdiction of the demo agencies (west, south, east, north), in degrees.
BBOX = (-73.9712, 40.7480, -73.9412, 40.7680)
MARGIN = 0.004  # streets run on a little past the boundary, as real ones do
AVENUE_STEP = 0.0025  # about 210 m between north-south avenues
STREET_STEP = 0.0010  # about 110 m between east-west streets
RIVER_WEST = BBOX[2] + 0.0006  # the river runs along the town's east side
M_PER_DEG = 111_320.0

AVENUES = [
    "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Grove", "Hazel",
    "Juniper", "Laurel", "Maple", "Oak", "Poplar", "Rowan", "Spruce",
]  # fmt: skip


@dataclass(frozen=True)
class Street:
    name: str
    kind: str  # Protomaps `roads` kinds: major_road, minor_road
    points: tuple[tuple[float, float], ...]  # (lon, lat)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def streets() -> list[Street]:
    """The town's grid: avenues north-south, numbered streets east-west, two main roads."""
    west, south, east, north = BBOX
    out = []
    lon, i = west + AVENUE_STEP / 2, 0
    while lon < RIVER_WEST:
        major = i % 4 == 2
        name = f"{AVENUES[i % len(AVENUES)]} Avenue"
        out.append(
            Street(
                name,
                "major_road" if major else "minor_road",
                ((lon, south - MARGIN), (lon, north + MARGIN)),
            )
        )
        lon, i = lon + AVENUE_STEP, i + 1
    lat, n = south + STREET_STEP / 2, 1
    middle = round((north - south) / STREET_STEP / 2)
    while lat < north + MARGIN / 2:
        name = "Main Street" if n == middle else f"{_ordinal(n)} Street"
        kind = "major_road" if n == middle or n % 8 == 0 else "minor_road"
        out.append(Street(name, kind, ((west - MARGIN, lat), (RIVER_WEST, lat))))
        lat, n = lat + STREET_STEP, n + 1
    out.append(
        Street(
            "River Road",
            "major_road",
            ((RIVER_WEST - 0.0002, south - MARGIN), (RIVER_WEST - 0.0002, north + MARGIN)),
        )
    )
    return out


def _box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def layers() -> dict[str, dict]:
    """GeoJSON FeatureCollections by Protomaps layer name: earth, water, landuse, roads, places."""
    west, south, east, north = BBOX
    # Land well past the town, so no zoom that shows it shows the bare background round it.
    w, s, e, n = west - 0.05, south - 0.05, east + 0.05, north + 0.05
    park = (
        west + 4 * AVENUE_STEP,
        north - 6 * STREET_STEP,
        west + 6 * AVENUE_STEP,
        north - 3 * STREET_STEP,
    )
    collection = lambda features: {"type": "FeatureCollection", "features": features}  # noqa: E731
    return {
        "earth": collection([_feature(_box(w, s, e, n), kind="earth")]),
        "water": collection(
            [
                _feature(
                    _box(RIVER_WEST + 0.0004, s, e + 0.004, n), kind="river", name="Riverton River"
                )
            ]
        ),
        "landuse": collection([_feature(_box(*park), kind="park", name="Riverton Common")]),
        "roads": collection(
            [
                _feature(
                    {"type": "LineString", "coordinates": [list(p) for p in st.points]},
                    kind=st.kind,
                    name=st.name,
                )
                for st in streets()
            ]
        ),
        "places": collection(
            [
                _feature(
                    {"type": "Point", "coordinates": [(west + east) / 2, (south + north) / 2]},
                    kind="locality",
                    name="Riverton",
                    min_zoom=10,
                    population_rank=8,
                )
            ]
        ),
    }


def main_street_lat() -> float:
    """The latitude of Main Street, where the demo's doorbell and shop cameras are."""
    return next(st.points[0][1] for st in streets() if st.name == "Main Street")


def kerbside_point(rng: random.Random) -> tuple[float, float, int]:
    """A point beside a street inside the town, and the bearing that faces the street.

    (lat, lon, direction in degrees): where a demo camera is mounted, looking at the road.
    """
    west, south, east, north = BBOX
    edge = 0.0002  # so a camera on the town's last street still stands inside it
    inside = [
        st
        for st in streets()
        if st.name != "River Road"
        and (
            west < st.points[0][0] < east
            if st.points[0][0] == st.points[1][0]
            else south + edge < st.points[0][1] < north - edge
        )
    ]
    street = rng.choice(inside)
    (x0, y0), (x1, y1) = street.points
    if x0 == x1:  # an avenue: pick a latitude inside the town, stand east or west of it
        lat = rng.uniform(south + 0.0002, north - 0.0002)
        side = rng.choice([-1, 1])
        offset = rng.uniform(8, 14) / (M_PER_DEG * math.cos(math.radians(lat)))
        return lat, x0 + side * offset, 270 if side > 0 else 90
    lon = rng.uniform(west + 0.0002, min(east, RIVER_WEST) - 0.0002)
    side = rng.choice([-1, 1])
    return y0 + side * rng.uniform(8, 14) / M_PER_DEG, lon, 180 if side > 0 else 0
