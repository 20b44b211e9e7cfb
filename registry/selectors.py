"""Registry reads, scoped to the person asking.

Visibility rule for staff: an agency's investigators see every camera (public or private)
inside their agency's jurisdiction, and public cameras anywhere (an incident near a border
still finds the public camera across the street). Private cameras outside the jurisdiction
do not exist for them. Owners see their own cameras only. Paused and deleted cameras are in
no map and no search.
"""

import dataclasses
import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.gis.geos import Point, Polygon
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.http import Http404

from portal.models import User
from registry import mapshapes
from registry.models import (
    RETENTION_STEPS,
    Camera,
    CameraCell,
    CameraKind,
    CameraSearch,
    ContactMethod,
    Participation,
)
from registry.policies import can_own_cameras, can_search_cameras, can_view_camera_map

MAX_RESULTS = 500
# A cone that misses the incident by at most this much still "nears" it (GPS error, wide lenses).
NEAR_M = 25
# ...and only if the point is at most this far outside the cone's angle: every cone passes
# within a few metres of a point right behind its camera, which it does not see.
NEAR_MARGIN_DEG = 45
# How far outside an area polygon a camera can stand and still see into it (the largest range).
MAX_RANGE_M = 500


# --- owners and scoped getters --------------------------------------------------------------


def cameras_of(*, actor: User) -> QuerySet[Camera]:
    """The owner's cameras that are not deleted, by name."""
    if not can_own_cameras(actor):
        raise PermissionDenied
    return Camera.objects.filter(owner=actor, deleted_at__isnull=True).order_by("name", "id")


def camera_for_live_stream(stream: str) -> Camera | None:
    """The camera a relay stream name (`cam/<stream>`: its id as 32 hex digits) stands for,
    if it is not deleted. For the relay's own callbacks: the caller decides who may watch."""
    if len(stream) != 32:
        return None
    try:
        camera_id = UUID(hex=stream)
    except ValueError:
        return None
    if camera_id.hex != stream:
        return None
    return Camera.objects.filter(pk=camera_id, deleted_at__isnull=True).first()


def live_stream_of(camera: Camera) -> str:
    """The relay stream name of a camera (the inverse of camera_for_live_stream)."""
    return camera.pk.hex


def cameras_visible_to(*, actor: User) -> QuerySet[Camera]:
    """Cameras an investigator may see: public anywhere, private inside the agency's jurisdiction."""
    if not can_search_cameras(actor):
        raise PermissionDenied
    return Camera.objects.filter(
        Q(is_public=True) | Q(jurisdiction_ids__contains=[actor.agency_id]),
        deleted_at__isnull=True,
    )


def camera_get_for(
    *, actor: User, id: UUID | str, write: bool = False, lock: bool = False
) -> Camera:
    """One camera: its owner reads and writes it; an investigator who may see it reads it; 404 for others."""
    if can_own_cameras(actor):
        cameras = cameras_of(actor=actor)
    elif can_search_cameras(actor):
        if write:
            # Hide whether it exists unless the investigator could see it anyway.
            if not cameras_visible_to(actor=actor).filter(pk=id).exists():
                raise Http404("No such camera.")
            raise PermissionDenied
        cameras = cameras_visible_to(actor=actor)
    else:
        raise Http404("No such camera.")
    if lock:
        cameras = cameras.select_for_update()
    try:
        return cameras.get(pk=id)
    except (Camera.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("No such camera.") from exc


# --- cameras near an incident ---------------------------------------------------------------


@dataclass
class SearchHit:
    """One camera in a search answer, with what the investigator needs to judge it."""

    id: object
    name: str
    kind: str
    participation: str
    contact_method: str
    is_public: bool
    placement: str
    retention_days: int
    time_zone: str
    records_always: bool
    records_from: dt.time | None
    records_until: dt.time | None
    direction_deg: int
    fov_angle_deg: int
    range_m: int
    longitude: float
    latitude: float
    distance_m: float
    coverage: int  # 0 the cone covers the point, 1 the cone nears it, 2 near but facing away
    overwritten_at: dt.datetime
    past_retention: bool
    records_during_window: bool = True

    COVERAGE_LABELS = {0: "Sees the spot", 1: "Sees near the spot", 2: "Nearby, facing away"}

    @property
    def coverage_label(self) -> str:
        return self.COVERAGE_LABELS[self.coverage]

    @property
    def overwritten_at_local(self) -> dt.datetime:
        """The same instant on the camera's own clock (its zone), which is what the owner reads."""
        return self.overwritten_at.astimezone(zoneinfo.ZoneInfo(self.time_zone))

    @property
    def contactable(self) -> bool:
        return (
            self.participation != Participation.LOCATION_ONLY
            and self.contact_method != ContactMethod.NONE
        )

    @property
    def kind_label(self) -> str:
        return str(CameraKind(self.kind).label)

    @property
    def participation_label(self) -> str:
        return str(Participation(self.participation).label)


# The SELECTs below give SearchHit's first 20 fields, in order: the camera's columns, then
# distance_m, coverage and overwritten_at (cameras_near builds each hit from its row as is;
# tests/registry checks the order).
HIT_COLUMNS = tuple(f.name for f in dataclasses.fields(SearchHit)[:20])

# One statement for the whole answer, so the bench can time exactly this against the service.
# "Footage likely overwritten at": the window start as a wall-clock time in the camera's zone,
# plus retention_days calendar days, back to an instant (DST-correct).
CAMERAS_NEAR_SQL = """
SELECT * FROM (
SELECT c.id, c.name, c.kind, c.participation, c.contact_method, c.is_public, c.placement,
       c.retention_days, c.time_zone, c.records_always, c.records_from, c.records_until,
       c.direction_deg, c.fov_angle_deg, c.range_m,
       ST_X(c.location::geometry), ST_Y(c.location::geometry),
       ST_Distance(c.location, %(pt)s::geography) AS distance_m,
       CASE WHEN ST_Covers(c.fov, %(pt)s::geography) THEN 0
            WHEN ST_DWithin(c.fov, %(pt)s::geography, %(near)s)
             AND abs(mod((degrees(ST_Azimuth(c.location, %(pt)s::geography)) - c.direction_deg
                          + 540)::numeric, 360) - 180) <= c.fov_angle_deg / 2.0 + %(margin)s
              THEN 1
            ELSE 2 END AS coverage,
       ((%(start)s::timestamptz AT TIME ZONE c.time_zone)
         + make_interval(days => c.retention_days)) AT TIME ZONE c.time_zone AS overwritten_at
FROM registry_camera c
WHERE ST_DWithin(c.location, %(pt)s::geography, %(radius)s)
  AND c.deleted_at IS NULL AND c.paused_at IS NULL
  AND (c.is_public OR c.jurisdiction_ids @> ARRAY[%(agency)s]::bigint[])
) hits
ORDER BY overwritten_at < %(now)s, coverage, distance_m, id
LIMIT %(limit)s
"""

# With an area: cameras within the radius of the point, or whose cone reaches into the area;
# a cone inside the area counts as covering the incident.
CAMERAS_NEAR_AREA_SQL = """
SELECT * FROM (
SELECT c.id, c.name, c.kind, c.participation, c.contact_method, c.is_public, c.placement,
       c.retention_days, c.time_zone, c.records_always, c.records_from, c.records_until,
       c.direction_deg, c.fov_angle_deg, c.range_m,
       ST_X(c.location::geometry), ST_Y(c.location::geometry),
       ST_Distance(c.location, %(pt)s::geography) AS distance_m,
       CASE WHEN ST_Covers(c.fov, %(pt)s::geography) OR ST_Intersects(c.fov, %(area)s::geography)
              THEN 0
            WHEN ST_DWithin(c.fov, %(area)s::geography, %(near)s)
              OR (ST_DWithin(c.fov, %(pt)s::geography, %(near)s)
                  AND abs(mod((degrees(ST_Azimuth(c.location, %(pt)s::geography))
                               - c.direction_deg + 540)::numeric, 360) - 180)
                      <= c.fov_angle_deg / 2.0 + %(margin)s)
              THEN 1
            ELSE 2 END AS coverage,
       ((%(start)s::timestamptz AT TIME ZONE c.time_zone)
         + make_interval(days => c.retention_days)) AT TIME ZONE c.time_zone AS overwritten_at
FROM registry_camera c
WHERE (ST_DWithin(c.location, %(pt)s::geography, %(radius)s)
       OR (ST_DWithin(c.location, %(area)s::geography, %(max_range)s)
           AND ST_Intersects(c.fov, %(area)s::geography)))
  AND c.deleted_at IS NULL AND c.paused_at IS NULL
  AND (c.is_public OR c.jurisdiction_ids @> ARRAY[%(agency)s]::bigint[])
) hits
ORDER BY overwritten_at < %(now)s, coverage, distance_m, id
LIMIT %(limit)s
"""


_LIVE_FILTER = "AND c.deleted_at IS NULL AND c.paused_at IS NULL"


def cameras_near_params(
    *,
    agency_id: int,
    point: Point,
    area: Polygon | None,
    radius_m: int,
    window_start: dt.datetime,
    now: dt.datetime,
    limit: int = MAX_RESULTS,
    only_ids: list[UUID] | None = None,
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "pt": point.ewkt,
        "near": NEAR_M,
        "margin": NEAR_MARGIN_DEG,
        "start": window_start,
        "radius": radius_m,
        "agency": agency_id,
        "now": now,
        "limit": limit,
    }
    sql = CAMERAS_NEAR_SQL
    if area is not None:
        sql = CAMERAS_NEAR_AREA_SQL
        params |= {"area": area.ewkt, "max_range": MAX_RANGE_M}
    if only_ids is not None:
        # Showing a stored search again: the cameras it returned, as they are now.
        sql = sql.replace(_LIVE_FILTER, "AND c.id = ANY(%(ids)s::uuid[]) " + _LIVE_FILTER)
        params["ids"] = [str(i) for i in only_ids]
    return sql, params


def _records_during(hit: SearchHit, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether the camera's daily recording hours overlap the window, in its own time zone."""
    if hit.records_always or hit.records_from is None or hit.records_until is None:
        return True
    zone = zoneinfo.ZoneInfo(hit.time_zone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date() - dt.timedelta(days=1)
    while day <= local_end.date():
        on = dt.datetime.combine(day, hit.records_from, zone)
        off = dt.datetime.combine(day, hit.records_until, zone)
        if off <= on:
            off += dt.timedelta(days=1)
        if on < end and off > start:
            return True
        day += dt.timedelta(days=1)
    return False


def cameras_near(
    *,
    agency_id: int,
    point: Point,
    area: Polygon | None,
    radius_m: int,
    window_start: dt.datetime,
    window_end: dt.datetime,
    now: dt.datetime,
    only_ids: list[UUID] | None = None,
) -> list[SearchHit]:
    """Cameras that may have seen the incident, best first, past-retention ones last.

    Location-only cameras are included (marked "owner not contactable"): an investigator
    still wants to know a camera exists there and can knock on the door.
    """
    sql, params = cameras_near_params(
        agency_id=agency_id,
        point=point,
        area=area,
        radius_m=radius_m,
        window_start=window_start,
        now=now,
        only_ids=only_ids,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits = []
    for row in rows:
        hit = SearchHit(**dict(zip(HIT_COLUMNS, row, strict=True)), past_retention=row[19] < now)
        if not hit.records_always:
            hit.records_during_window = _records_during(hit, window_start, window_end)
        hits.append(hit)
    return hits


def camera_search_get_for_searcher(*, actor: User, id: UUID | str) -> CameraSearch:
    """A search run in the actor's agency, for someone who may search cameras
    (can_search_cameras: the search results page and API); 404 for anyone else (and for a
    malformed id). Footage requests use footage.selectors.camera_search_get_for_footage_viewer."""
    if not can_search_cameras(actor):
        raise Http404("No such search.")
    try:
        return CameraSearch.objects.get(pk=id, agency=actor.agency_id)
    except (CameraSearch.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("No such search.") from exc


def camera_search_hits(*, search: CameraSearch, now: dt.datetime) -> list[SearchHit]:
    """A stored search's answer again: the cameras it returned, re-ranked as of `now`.

    Cameras deleted or paused since have left it; cameras registered since are not added
    (the audit row of the search names exactly what it returned).
    """
    if not search.camera_ids:
        return []
    return cameras_near(
        agency_id=search.agency_id,
        point=search.incident,
        area=search.area,
        radius_m=search.radius_m,
        window_start=search.window_start,
        window_end=search.window_end,
        now=now,
        only_ids=search.camera_ids,
    )


# --- maps -------------------------------------------------------------------------------------

MAX_CELLS_PER_SIDE = 128
# From this zoom the investigators' map shows each camera (if the viewport holds few enough).
EXACT_ZOOM = 15
MAX_EXACT = 1000


BBox = tuple[float, float, float, float]  # west, south, east, north in degrees
Cells = tuple[int, int, int, int]  # cx0, cy0, cx1, cy1 at one level


class MapQueryError(ValueError):
    """A bbox or zoom the map API cannot answer; the message says what is wrong."""


@dataclass(frozen=True)
class MapFilters:
    kind: str = ""
    participation: str = ""
    min_retention_days: int = 0


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """`west,south,east,north` in degrees, as the map sends it."""
    parts = (text or "").split(",")
    if len(parts) != 4:
        raise MapQueryError("bbox must be four numbers: west,south,east,north.")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError as exc:
        raise MapQueryError("bbox must be four numbers: west,south,east,north.") from exc
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise MapQueryError("bbox values must be finite numbers.")
    if not (-180 <= west < east <= 180 and -85.06 <= south < north <= 85.06):
        raise MapQueryError(
            "bbox must have west < east within -180..180 and south < north within -85..85."
        )
    return west, south, east, north


def parse_zoom(text: str) -> int:
    try:
        zoom = int(text)
    except (TypeError, ValueError) as exc:
        raise MapQueryError(
            f"zoom must be a whole number from {mapshapes.MIN_ZOOM} to {mapshapes.MAX_ZOOM}."
        ) from exc
    if not mapshapes.MIN_ZOOM <= zoom <= mapshapes.MAX_ZOOM:
        raise MapQueryError(f"zoom must be from {mapshapes.MIN_ZOOM} to {mapshapes.MAX_ZOOM}.")
    return zoom


def _cell_range(bbox: BBox, level: int) -> Cells:
    west, south, east, north = bbox
    sw, ne = mapshapes.to_mercator(west, south), mapshapes.to_mercator(east, north)
    cx0, cy0 = mapshapes.cell_of(sw.x, sw.y, level)
    cx1, cy1 = mapshapes.cell_of(ne.x, ne.y, level)
    if cx1 - cx0 + 1 > MAX_CELLS_PER_SIDE or cy1 - cy0 + 1 > MAX_CELLS_PER_SIDE:
        raise MapQueryError("bbox is too large for this zoom: zoom out or send the visible area.")
    return cx0, cy0, cx1, cy1


def _cells_json(rows: list[tuple[int, int, int]], level: int) -> list[dict[str, Any]]:
    cells = []
    for cx, cy, count in rows:
        lon, lat = mapshapes.cell_centre(cx, cy, level)
        cells.append({"lon": round(lon, 6), "lat": round(lat, 6), "count": int(count)})
    return cells


def _stored_cells(
    scope: int, level: int, cells: Cells, filters: MapFilters
) -> list[tuple[int, int, int]]:
    cx0, cy0, cx1, cy1 = cells
    rows = CameraCell.objects.filter(
        scope=scope,
        level=level,
        cx__gte=cx0,
        cx__lte=cx1,
        cy__gte=cy0,
        cy__lte=cy1,
        count__gt=0,
    )
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.participation:
        rows = rows.filter(participation=filters.participation)
    if filters.min_retention_days:
        rows = rows.filter(retention_bucket__gte=_bucket_floor(filters.min_retention_days))
    return list(rows.values_list("cx", "cy").annotate(n=Sum("count")).order_by("cx", "cy"))


def _bucket_floor(min_days: int) -> int:
    return sum(1 for step in RETENTION_STEPS if min_days >= step)


# One statement for both maps: `agency` None means the public map (public cameras only).
_MAP_WHERE = """
WHERE c.location_merc && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 3857)
  AND c.deleted_at IS NULL AND c.paused_at IS NULL
  AND (c.is_public OR %(agency)s::bigint IS NOT NULL)
  AND (%(agency)s::bigint IS NULL OR c.jurisdiction_ids @> ARRAY[%(agency)s]::bigint[])
  AND (%(kind)s = '' OR c.kind = %(kind)s)
  AND (%(participation)s = '' OR c.participation = %(participation)s)
  AND c.retention_days >= %(min_retention)s
"""
_LIVE_CELLS_SQL = (
    """
SELECT floor((ST_X(c.location_merc) + %(half)s) / %(size)s)::int AS cx,
       floor((ST_Y(c.location_merc) + %(half)s) / %(size)s)::int AS cy,
       count(*)
FROM registry_camera c"""
    + _MAP_WHERE
    + "GROUP BY 1, 2 ORDER BY 1, 2"
)
_EXACT_SQL = (
    """
SELECT c.id, c.name, c.kind, c.participation, c.retention_days, c.is_public,
       ST_X(c.location::geometry), ST_Y(c.location::geometry),
       c.direction_deg, c.fov_angle_deg, c.range_m
FROM registry_camera c"""
    + _MAP_WHERE
    + "ORDER BY c.id LIMIT %(limit)s"
)


def _map_params(
    agency_id: int | None, cells: Cells, level: int, filters: MapFilters
) -> dict[str, Any]:
    return {
        "agency": agency_id,
        "kind": filters.kind,
        "participation": filters.participation,
        "min_retention": filters.min_retention_days,
        **_envelope(cells, level),
    }


def _envelope(cells: Cells, level: int) -> dict[str, float]:
    # Whole cells only: a count that changed as the viewport's edge crossed a cell would
    # give away where in the cell a camera is.
    cx0, cy0, cx1, cy1 = cells
    size = mapshapes.cell_size(level)
    half = mapshapes.HALF_WORLD_M
    return {
        "x0": cx0 * size - half,
        "y0": cy0 * size - half,
        "x1": (cx1 + 1) * size - half,
        "y1": (cy1 + 1) * size - half,
        "half": half,
        "size": size,
    }


def _live_cells(
    agency_id: int | None, level: int, cells: Cells, filters: MapFilters
) -> list[tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_CELLS_SQL, _map_params(agency_id, cells, level, filters))
        rows: list[tuple[int, int, int]] = cursor.fetchall()
        return rows


def public_map(*, bbox: BBox, zoom: int) -> dict[str, Any]:
    """Public cameras as counts per grid cell; a cell's centre is the only position given."""
    level = min(mapshapes.level_for_zoom(zoom), mapshapes.PUBLIC_MAX_LEVEL)
    cells = _cell_range(bbox, level)
    if level in mapshapes.STORED_LEVELS:
        rows = _stored_cells(0, level, cells, MapFilters())
    else:
        rows = _live_cells(None, level, cells, MapFilters())
    return {
        "zoom": zoom,
        "cell_size_m": round(mapshapes.cell_size(level), 1),
        "cells": _cells_json(rows, level),
        "cameras": [],
    }


def agency_map(*, actor: User, bbox: BBox, zoom: int, filters: MapFilters) -> dict[str, Any]:
    """The agency's cameras in its jurisdiction: clusters per cell, or each camera when zoomed in."""
    # The policy asks for a police agency; the second test says so to the type checker.
    if not can_view_camera_map(actor) or actor.agency_id is None:
        raise PermissionDenied
    level = mapshapes.level_for_zoom(zoom)
    cells = _cell_range(bbox, level)
    if zoom >= EXACT_ZOOM:
        cameras = _exact_cameras(actor.agency_id, cells, level, filters)
        if cameras is not None:
            return {
                "zoom": zoom,
                "cell_size_m": round(mapshapes.cell_size(level), 1),
                "cells": [],
                "cameras": cameras,
            }
    if level in mapshapes.STORED_LEVELS:
        rows = _stored_cells(actor.agency_id, level, cells, filters)
    else:
        rows = _live_cells(actor.agency_id, level, cells, filters)
    return {
        "zoom": zoom,
        "cell_size_m": round(mapshapes.cell_size(level), 1),
        "cells": _cells_json(rows, level),
        "cameras": [],
    }


def _exact_cameras(
    agency_id: int | None, cells: Cells, level: int, filters: MapFilters
) -> list[dict[str, Any]] | None:
    params = {**_map_params(agency_id, cells, level, filters), "limit": MAX_EXACT + 1}
    with connection.cursor() as cursor:
        cursor.execute(_EXACT_SQL, params)
        rows = cursor.fetchall()
    if len(rows) > MAX_EXACT:
        return None
    return [
        {
            "id": str(r[0]),
            "name": r[1],
            "kind": r[2],
            "participation": r[3],
            "retention_days": r[4],
            "is_public": r[5],
            "lon": r[6],
            "lat": r[7],
            "direction_deg": r[8],
            "fov_angle_deg": r[9],
            "range_m": r[10],
        }
        for r in rows
    ]
