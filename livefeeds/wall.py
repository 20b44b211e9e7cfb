"""The incident live wall: every permitted CCTV camera and body camera near a CAD incident,
started with one reason and case number (one audited ViewSession per tile)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.measure import D
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from devices.models import CadIncident, Device
from livefeeds import services
from livefeeds.models import ReasonCategory
from livefeeds.policies import can_watch_live
from livefeeds.reasons import view_reason_checked
from livefeeds.watching import CameraRefused, watch_camera
from portal.models import User
from registry.models import Camera

WALL_DISTANCE_M = 300
WALL_MAX_DISTANCE_M = 2000
WALL_MAX_TILES = 24


@dataclass
class Tile:
    """One tile of a live wall: a CCTV camera or a body camera, its view (when permitted) or
    the refusal in words."""

    kind: str  # "cam" or "live"
    label: str
    lat: float | None
    lon: float | None
    view_id: str = ""
    token: str = ""
    refusal: str = ""
    code: str = ""

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "lat": self.lat,
            "lon": self.lon,
            "view_id": self.view_id,
            "token": self.token,
            "refusal": self.refusal,
            "code": self.code,
        }


def wall_cameras(*, incident: CadIncident, agency_id: int, distance_m: int) -> list[Camera]:
    """Cameras within distance_m of the incident whose owner linked a feed or set a policy,
    and which the agency could be shown (its jurisdiction, or named by the owner)."""
    cameras = (
        Camera.objects.filter(
            deleted_at__isnull=True,
            feed__isnull=False,
            location__dwithin=(incident.point, D(m=distance_m)),
        )
        .filter(~Q(feed__source_sealed="") | ~Q(feed__mode="never"))
        # In SQL, before the cap: other agencies' cameras must not fill the wall's places.
        .filter(Q(jurisdiction_ids__contains=[agency_id]) | Q(feed__agency_id=agency_id))
        .select_related("feed")
        .order_by("name", "id")
    )
    return list(cameras[:WALL_MAX_TILES])


def wall_devices(*, incident: CadIncident, agency_id: int, distance_m: int):
    """Body cameras of the agency worn by the incident's units, or recording within
    distance_m of it (the server keeps a place only for cameras that record)."""
    near = Q(
        state=Device.State.RECORDING,
        last_location__isnull=False,
        last_location__dwithin=(incident.point, D(m=distance_m)),
    )
    on_incident = Q(
        assignments__checked_in_at__isnull=True, assignments__unit__in=incident.units or []
    )
    return list(
        Device.objects.filter(agency_id=agency_id, status=Device.Status.IN_SERVICE)
        .filter(near | on_incident)
        .distinct()
        .order_by("serial")[:WALL_MAX_TILES]
    )


def wall_start(
    *,
    actor: User,
    incident: CadIncident,
    reason: str,
    case_ref: str,
    distance_m: int,
    reason_category: str = ReasonCategory.OTHER,
) -> list[Tile]:
    """Open a view of every permitted camera near the incident, with one reason and case
    number (one audited ViewSession per tile); a refused one becomes a tile that says why."""
    if not can_watch_live(actor) or incident.agency_id != actor.agency_id:
        raise PermissionDenied
    view_reason_checked(reason, case_ref, reason_category)
    if incident.point is None:
        raise ValidationError("This incident has no place, so nothing is near it.")
    distance_m = max(10, min(int(distance_m), WALL_MAX_DISTANCE_M))
    tiles: list[Tile] = []
    for camera in wall_cameras(incident=incident, agency_id=actor.agency_id, distance_m=distance_m):
        tile = Tile("cam", camera.name, camera.location.y, camera.location.x)
        try:
            session, token = watch_camera(
                actor=actor,
                camera=camera,
                reason=reason,
                case_ref=case_ref,
                reason_category=reason_category,
            )
        except CameraRefused as exc:
            tile.refusal, tile.code = str(exc), exc.code
        else:
            tile.view_id, tile.token = str(session.pk), token
        tiles.append(tile)
    for device in wall_devices(incident=incident, agency_id=actor.agency_id, distance_m=distance_m):
        place = device.last_location if services.is_recording(device) else None
        tile = Tile("live", device.serial, place.y if place else None, place.x if place else None)
        try:
            session, token = services.view_start(
                actor=actor,
                device=device,
                reason=reason,
                case_ref=case_ref,
                reason_category=reason_category,
            )
        except services.ViewRefused as exc:
            tile.refusal, tile.code = str(exc), "not_recording"
        else:
            tile.view_id, tile.token = str(session.pk), token
        tiles.append(tile)
    return tiles
