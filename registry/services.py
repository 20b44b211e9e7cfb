"""Registry writes: cameras, CSV imports, searches and the map's cell counts. Each one audits itself."""

import csv
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from portal import geocoding
from portal.audit import audit_record
from portal.models import Agency, User
from registry import audit_actions as actions
from registry import mapshapes, selectors
from registry.forms import CameraForm
from registry.models import (
    RETENTION_STEPS,
    SEARCH_REASON_CHOICES,
    Camera,
    CameraSearch,
    retention_bucket,
)
from registry.policies import can_own_cameras, can_search_cameras
from registry.search import SearchOutcome, SearchQuery, SearchRefused

CAMERA_FIELDS = (
    "kind",
    "name",
    "direction_deg",
    "fov_angle_deg",
    "range_m",
    "retention_days",
    "records_always",
    "records_from",
    "records_until",
    "placement",
    "participation",
    "is_public",
    "contact_method",
    "contact_phone",
    "quiet_from",
    "quiet_until",
    "time_zone",
)

# scope (0 = public, else an agency id), level, cx, cy, kind, participation, retention bucket
_CellKey = tuple[int, int, int, int, str, str, int]


# --- the map's cell counts ----------------------------------------------------------------


def _cell_keys(camera: Camera) -> list[_CellKey]:
    """The CameraCell keys an active camera counts in (none once paused or deleted)."""
    if not camera.is_active:
        return []
    scopes = ([0] if camera.is_public else []) + list(camera.jurisdiction_ids or [])
    x, y = camera.location_merc.x, camera.location_merc.y
    bucket = retention_bucket(camera.retention_days)
    keys: list[_CellKey] = []
    for level in mapshapes.STORED_LEVELS:
        cx, cy = mapshapes.cell_of(x, y, level)
        keys += [(s, level, cx, cy, camera.kind, camera.participation, bucket) for s in scopes]
    return keys


def _cells_apply(changes: Counter[_CellKey]) -> None:
    rows = [(*key, n) for key, n in changes.items() if n]
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO registry_cameracell "
            "(scope, level, cx, cy, kind, participation, retention_bucket, count) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT ON CONSTRAINT cameracell_key "
            "DO UPDATE SET count = registry_cameracell.count + EXCLUDED.count",
            rows,
        )


def _cells_move(before: list[_CellKey], after: list[_CellKey]) -> None:
    changes = Counter(after)
    changes.subtract(Counter(before))
    _cells_apply(changes)


@transaction.atomic
def cells_rebuild() -> int:
    """Recount every stored cell from the cameras (after a bulk load); returns the rows written."""
    finest = max(mapshapes.STORED_LEVELS)
    size = mapshapes.cell_size(finest)
    half = mapshapes.HALF_WORLD_M
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_cameracell")
        cursor.execute(
            """
            INSERT INTO registry_cameracell
                (scope, level, cx, cy, kind, participation, retention_bucket, count)
            SELECT s.scope, %s, floor((ST_X(c.location_merc) + %s) / %s)::int,
                   floor((ST_Y(c.location_merc) + %s) / %s)::int,
                   c.kind, c.participation, width_bucket(c.retention_days, %s::int[]), count(*)
            FROM registry_camera c
            CROSS JOIN LATERAL unnest(
                CASE WHEN c.is_public THEN ARRAY[0]::bigint[] ELSE ARRAY[]::bigint[] END
                || c.jurisdiction_ids) AS s(scope)
            WHERE c.deleted_at IS NULL AND c.paused_at IS NULL
            GROUP BY 1, 2, 3, 4, 5, 6, 7
            """,
            [finest, half, size, half, size, list(RETENTION_STEPS)],
        )
        for level in reversed(mapshapes.STORED_LEVELS[:-1]):
            cursor.execute(
                """
                INSERT INTO registry_cameracell
                    (scope, level, cx, cy, kind, participation, retention_bucket, count)
                SELECT scope, %s, cx >> 1, cy >> 1, kind, participation, retention_bucket,
                       sum(count)
                FROM registry_cameracell WHERE level = %s
                GROUP BY 1, 2, 3, 4, 5, 6, 7
                """,
                [level, level + 1],
            )
        cursor.execute("SELECT count(*) FROM registry_cameracell")
        written: int = cursor.fetchone()[0]
        return written


def jurisdictions_refresh() -> int:
    """Recompute which agencies' jurisdictions cover each camera (after a jurisdiction changes)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE registry_camera c SET jurisdiction_ids = coalesce((
                SELECT array_agg(a.id ORDER BY a.id) FROM portal_agency a
                WHERE a.jurisdiction IS NOT NULL
                  AND ST_Covers(a.jurisdiction, c.location::geometry)), '{}')
            """
        )
        changed: int = cursor.rowcount
    cells_rebuild()
    return changed


# --- cameras --------------------------------------------------------------------------------


def _jurisdictions_at(point: Point) -> list[int]:
    return sorted(Agency.objects.filter(jurisdiction__covers=point).values_list("id", flat=True))


def default_time_zone(*, latitude: float, longitude: float) -> str:
    """The time zone of the agency whose jurisdiction covers the point, else UTC."""
    agency = (
        Agency.objects.filter(jurisdiction__covers=Point(longitude, latitude, srid=4326))
        .order_by("id")
        .first()
    )
    return agency.time_zone if agency else "UTC"


def default_time_zone_text(latitude: str, longitude: str) -> str:
    """default_time_zone for unchecked text (a CSV row); UTC when it is not a position."""
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        return "UTC"
    if not (-85 <= lat <= 85 and -180 <= lon <= 180):
        return "UTC"
    return default_time_zone(latitude=lat, longitude=lon)


def _place(camera: Camera, *, latitude: float, longitude: float) -> None:
    camera.location = Point(longitude, latitude, srid=4326)
    camera.location_merc = mapshapes.to_mercator(longitude, latitude)
    camera.fov = mapshapes.fov_polygon(
        longitude=longitude,
        latitude=latitude,
        direction_deg=camera.direction_deg,
        angle_deg=camera.fov_angle_deg,
        range_m=camera.range_m,
    )
    camera.jurisdiction_ids = _jurisdictions_at(camera.location)


def _build(camera: Camera, data: dict[str, Any]) -> Camera:
    for name in CAMERA_FIELDS:
        if name in data:
            setattr(camera, name, data[name])
    _place(camera, latitude=data["latitude"], longitude=data["longitude"])
    camera.full_clean(exclude=["owner"])
    return camera


def _require_owner(actor: User) -> None:
    if not can_own_cameras(actor):
        raise PermissionDenied(
            "Only residents and businesses with a confirmed email register cameras."
        )


@transaction.atomic
def camera_register(*, actor: User, data: dict[str, Any]) -> Camera:
    """A resident or business registers one camera (data as cleaned by CameraForm)."""
    _require_owner(actor)
    camera = _build(Camera(owner=actor), data)
    camera.save(force_insert=True)
    _cells_move([], _cell_keys(camera))
    audit_record(
        action=actions.CAMERA_REGISTERED.name,
        actor=actor,
        target=camera,
        details={"kind": camera.kind, "participation": camera.participation},
    )
    return camera


@transaction.atomic
def camera_update(*, actor: User, camera_id: UUID | str, data: dict[str, Any]) -> Camera:
    """The owner changes a camera's details; its map counts move with it."""
    camera = selectors.camera_get_for(actor=actor, id=camera_id, write=True, lock=True)
    before = _cell_keys(camera)
    old = {name: getattr(camera, name) for name in CAMERA_FIELDS}
    _build(camera, data)
    camera.save()
    _cells_move(before, _cell_keys(camera))
    changed = sorted(n for n in CAMERA_FIELDS if old[n] != getattr(camera, n))
    audit_record(
        action=actions.CAMERA_CHANGED.name,
        actor=actor,
        target=camera,
        details={"fields": changed + ["location"]},
    )
    return camera


def _set_state(
    *, actor: User, camera_id: UUID | str, paused: bool | None = None, delete: bool = False
) -> Camera:
    camera = selectors.camera_get_for(actor=actor, id=camera_id, write=True, lock=True)
    before = _cell_keys(camera)
    now = timezone.now()
    if delete:
        camera.deleted_at = now
        action = actions.CAMERA_DELETED
    elif paused:
        camera.paused_at = camera.paused_at or now
        action = actions.CAMERA_PAUSED
    else:
        camera.paused_at = None
        action = actions.CAMERA_RESUMED
    camera.save(update_fields=["paused_at", "deleted_at", "updated_at"])
    _cells_move(before, _cell_keys(camera))
    audit_record(action=action.name, actor=actor, target=camera)
    return camera


@transaction.atomic
def camera_pause(*, actor: User, camera_id: UUID | str) -> Camera:
    """The owner pauses participation: the camera leaves maps and searches until resumed."""
    return _set_state(actor=actor, camera_id=camera_id, paused=True)


@transaction.atomic
def camera_resume(*, actor: User, camera_id: UUID | str) -> Camera:
    """The owner takes part again."""
    return _set_state(actor=actor, camera_id=camera_id, paused=False)


@transaction.atomic
def camera_delete(*, actor: User, camera_id: UUID | str) -> Camera:
    """Soft delete: gone from every map and search at once; the row stays for past requests."""
    return _set_state(actor=actor, camera_id=camera_id, delete=True)


# --- CSV import -------------------------------------------------------------------------------

CSV_MAX_BYTES = 1024 * 1024
CSV_MAX_ROWS = 2000
CSV_MAX_FIELD = 200
CSV_REQUIRED = (
    "name",
    "kind",
    "latitude",
    "longitude",
    "direction_deg",
    "fov_angle_deg",
    "range_m",
    "retention_days",
    "participation",
)
CSV_OPTIONAL = ("is_public", "placement", "records_from", "records_until", "time_zone")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


@dataclass
class CsvImportError(Exception):
    """The file was refused: each error names its line (1 = the header)."""

    errors: list[tuple[int, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"line {line}: {msg}" for line, msg in self.errors)


def _csv_rows(raw: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if len(raw) > CSV_MAX_BYTES:
        raise CsvImportError([(0, f"The file is larger than {CSV_MAX_BYTES // 1024} KB.")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            [(0, f"The file is not UTF-8 text (bad byte at position {exc.start}).")]
        ) from exc
    if "\x00" in text:
        raise CsvImportError([(0, "The file contains NUL bytes: it is not a CSV text file.")])
    # No csv.field_size_limit(): it is process-wide. The 1 MB cap bounds every field, and
    # _csv_form refuses a field over CSV_MAX_FIELD with its line and column.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration as exc:
        raise CsvImportError([(1, "The file is empty.")]) from exc
    except csv.Error as exc:
        raise CsvImportError([(1, f"Unreadable header: {exc}")]) from exc
    missing = [c for c in CSV_REQUIRED if c not in header]
    unknown = [c for c in header if c not in CSV_REQUIRED + CSV_OPTIONAL]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown[:10]))
        raise CsvImportError([(1, "; ".join(parts))])
    rows: list[tuple[int, list[str]]] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= CSV_MAX_ROWS:
                raise CsvImportError([(reader.line_num, f"More than {CSV_MAX_ROWS} cameras.")])
            rows.append((reader.line_num, values))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            # The csv module's own (default 128 KB) limit: say what matters to the sender.
            raise CsvImportError(
                [(reader.line_num, f"a field is longer than {CSV_MAX_FIELD} characters")]
            ) from exc
        raise CsvImportError([(reader.line_num, f"Unreadable line: {exc}")]) from exc
    return header, rows


def _csv_form(
    header: list[str], values: list[str], line: int
) -> tuple[dict[str, Any] | None, list[tuple[int, str]]]:
    if len(values) != len(header):
        return None, [(line, f"expected {len(header)} fields, found {len(values)}")]
    row = dict(zip(header, (v.strip() for v in values), strict=True))
    errors = [
        (line, f"{name}: longer than {CSV_MAX_FIELD} characters")
        for name, value in row.items()
        if len(value) > CSV_MAX_FIELD
    ]
    if errors:
        return None, errors
    public = row.get("is_public", "").lower()
    if public not in _TRUE | _FALSE:
        return None, [(line, "is_public: use true or false")]
    form = CameraForm(
        data={
            **row,
            "is_public": "on" if public in _TRUE else "",
            "records_always": "" if row.get("records_from") or row.get("records_until") else "on",
            "placement": row.get("placement") or "outdoor",
            "contact_method": "email",
            "time_zone": row.get("time_zone")
            or default_time_zone_text(row.get("latitude", ""), row.get("longitude", "")),
        }
    )
    if not form.is_valid():
        return None, [
            (
                line,
                f"{name}: {' '.join(map(str, msgs))}"
                if name != "__all__"
                else " ".join(map(str, msgs)),
            )
            for name, msgs in form.errors.items()
        ]
    return form.cleaned_data, []


def cameras_import_csv(*, actor: User, raw: bytes) -> list[Camera]:
    """Import a business's cameras: every row is checked first, then all or none are saved."""
    _require_owner(actor)
    header, rows = _csv_rows(raw)
    if not rows:
        raise CsvImportError([(2, "The file has a header but no cameras.")])
    cleaned: list[tuple[int, dict[str, Any]]] = []
    errors: list[tuple[int, str]] = []
    for line, values in rows:
        data, row_errors = _csv_form(header, values, line)
        errors += row_errors
        if data is not None:
            cleaned.append((line, data))
    if errors:
        raise CsvImportError(errors)
    with transaction.atomic():
        cameras = []
        changes: Counter[_CellKey] = Counter()
        for line, data in cleaned:
            try:
                camera = _build(Camera(owner=actor), data)
            except ValidationError as exc:
                raise CsvImportError([(line, "; ".join(exc.messages))]) from exc
            cameras.append(camera)
            changes.update(_cell_keys(camera))
        Camera.objects.bulk_create(cameras)
        _cells_apply(changes)
        audit_record(
            action=actions.CAMERAS_IMPORTED.name,
            actor=actor,
            details={"count": len(cameras), "camera_ids": [str(c.id) for c in cameras]},
        )
    return cameras


# --- cameras near an incident ---------------------------------------------------------------


def _incident_point(query: SearchQuery) -> tuple[Point, str]:
    if query.latitude is not None and query.longitude is not None:
        return Point(query.longitude, query.latitude, srid=4326), query.address
    try:
        place = geocoding.geocode(query.address)
    except geocoding.GeocoderUnavailable as exc:
        raise SearchRefused(
            "Address search is not available right now: pick the incident on the map instead."
        ) from exc
    except ValueError as exc:
        raise SearchRefused(str(exc)) from exc
    if place is None:
        raise SearchRefused("No place matches that address: check it, or pick the spot on the map.")
    return Point(place.longitude, place.latitude, srid=4326), place.label


def camera_search(
    *, actor: User, query: SearchQuery, now: dt.datetime | None = None
) -> SearchOutcome:
    """Cameras that may have seen an incident, best first; one audit row names every camera returned.

    The geocoder (network) runs before the transaction; the search row and its audit row
    commit together.
    """
    # The policy asks for a police agency; the second test says so to the type checker.
    if not can_search_cameras(actor) or actor.agency_id is None:
        raise PermissionDenied
    if not query.case_number.strip():
        raise SearchRefused("A case number is required for every registry search.")
    if not query.reason.strip():
        raise SearchRefused("A reason is required for every registry search.")
    if query.reason_category not in dict(SEARCH_REASON_CHOICES):
        raise SearchRefused("Choose a reason category for every registry search.")
    if query.window_end <= query.window_start:
        raise SearchRefused("The time window must end after it starts.")
    point, address = _incident_point(query)
    now = now or timezone.now()
    results = selectors.cameras_near(
        agency_id=actor.agency_id,
        point=point,
        area=query.area,
        radius_m=query.radius_m,
        window_start=query.window_start,
        window_end=query.window_end,
        now=now,
    )
    camera_ids = [str(r.id) for r in results]
    with transaction.atomic():
        search = CameraSearch.objects.create(
            agency_id=actor.agency_id,
            actor=actor,
            actor_label=actor.label,
            case_number=query.case_number.strip(),
            reason_category=query.reason_category,
            reason=query.reason.strip(),
            incident=point,
            address=address[:300],
            area=query.area,
            window_start=query.window_start,
            window_end=query.window_end,
            radius_m=query.radius_m,
            camera_ids=[r.id for r in results],
        )
        audit_record(
            action=actions.CAMERA_SEARCH.name,
            actor=actor,
            target=search,
            reason=search.reason,
            case_ref=search.case_number,
            details={
                "case_number": search.case_number,
                "reason_category": search.reason_category,
                "reason": search.reason,
                "camera_ids": camera_ids,
                "radius_m": search.radius_m,
                "window": [search.window_start.isoformat(), search.window_end.isoformat()],
            },
        )
    return SearchOutcome(search=search, results=results)


def camera_search_view(
    *, actor: User, search: CameraSearch, now: dt.datetime | None = None
) -> SearchOutcome:
    """Show a stored search's answer again (its results page, reloaded or revisited): audited
    as a view of that search, with its case number and reason, not as a new search."""
    if not can_search_cameras(actor) or search.agency_id != actor.agency_id:
        raise PermissionDenied
    now = now or timezone.now()
    results = selectors.camera_search_hits(search=search, now=now)
    audit_record(
        action=actions.CAMERA_SEARCH_VIEWED.name,
        actor=actor,
        target=search,
        reason=search.reason,
        case_ref=search.case_number,
        details={
            "search_id": str(search.pk),
            "reason_category": search.reason_category,
            "camera_count": len(results),
        },
    )
    return SearchOutcome(search=search, results=results)
