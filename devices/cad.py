"""CAD intake, the parts that touch no database: the sealing of each agency's CAD secret and
reading the EIDO subset a CAD sends (NENA-STA-021, leniently). The webhook's signature,
timestamp and nonce are the ones every signed webhook of the app uses (devices/webhooks.py).
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime

from devices import webhooks

# What the CAD signs with, and how (shared with the trigger webhook): devices/webhooks.py.
_SEAL_INFO = b"canvass cad webhook secret seal v1"


class CadInvalid(ValueError):
    """The message is not a usable incident; `field` names the part that is missing or wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def secret_seal(secret: str, *, agency_id: int) -> str:
    return webhooks.secret_seal(secret, info=_SEAL_INFO, context=str(agency_id))


def secret_unseal(value: str, *, agency_id: int) -> str:
    return webhooks.secret_unseal(value, info=_SEAL_INFO, context=str(agency_id))


@dataclass(frozen=True)
class Incident:
    """The EIDO subset Canvass keeps."""

    incident_id: str
    incident_type: str
    dispatched_at: dt.datetime
    cleared_at: dt.datetime | None
    units: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    last_update_at: dt.datetime | None = None


def _get(obj: Any, *names: str) -> Any:
    """The first of `names` present, any key casing (the EIDO drafts differ: 2020 capitalises)."""
    if not isinstance(obj, dict):
        return None
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value not in (None, "", []):
            return value
    return None


def _list(obj: Any, *names: str) -> list[Any]:
    value = _get(obj, *names)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _time(value: Any, field_name: str) -> dt.datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(str(value)) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise CadInvalid(field_name, f"{field_name} must be an ISO 8601 time with its offset.")
    return parsed


def _incident_id(payload: dict[str, Any], component: Any) -> str:
    internal = _get(component, "internalIncidentId", "incidentTrackingIdentifier")
    if internal:
        return str(internal).strip()[:50]
    urn = _get(payload, "$id", "incidentTrackingIdentifier")
    if not urn:
        return ""
    # urn:emergency:uid:incidentid:<id>:<host>: the id is the part before the host.
    parts = str(urn).split(":")
    if len(parts) >= 6 and parts[3].lower() == "incidentid":
        return parts[4][:50]
    return str(urn)[:50]


_GML_POS = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?pos(?:\s[^>]*)?>\s*([^<]*?)\s*</", re.S)


def _pidf_point(xml: str) -> tuple[float, float] | None:
    """The first gml:pos (a Point, or a Circle's centre: "lat lon") in a PIDF-LO string.

    Read with a pattern, not an XML parser: nothing else of the document is needed, and no
    parser means no entity expansion to defuse (defusedxml is not a dependency)."""
    match = _GML_POS.search(xml)
    if match is None:
        return None
    numbers = match.group(1).split()
    try:
        return float(numbers[0]), float(numbers[1])
    except (IndexError, ValueError) as exc:
        raise CadInvalid(
            "locationComponent.locationByValue", "gml:pos is not two numbers."
        ) from exc


def _location(payload: dict[str, Any]) -> tuple[float | None, float | None]:
    locations = _list(payload, "locationComponent", "locationInformationComponent")
    # The place the units were sent to comes first; the caller's place only failing that.
    locations.sort(
        key=lambda loc: _get(loc, "locationTypeDescriptionRegistryText") != "RoutingLocation"
    )
    for loc in locations:
        lat, lon = _get(loc, "latitude", "lat"), _get(loc, "longitude", "lon")
        if lat is None and isinstance(_get(loc, "point"), dict):
            lat, lon = _get(loc["point"], "latitude", "lat"), _get(loc["point"], "longitude", "lon")
        if lat is None and isinstance(_get(loc, "locationByValue"), str):
            point = _pidf_point(loc["locationByValue"])
            if point is not None:
                lat, lon = point
        if lat is None or lon is None:
            continue
        try:
            flat, flon = float(lat), float(lon)
        except (TypeError, ValueError) as exc:
            raise CadInvalid(
                "locationComponent", "Latitude and longitude must be numbers."
            ) from exc
        if not (-90 <= flat <= 90 and -180 <= flon <= 180):
            raise CadInvalid("locationComponent", "Latitude or longitude out of range.")
        return flat, flon
    return None, None


def incident_parse(payload: Any) -> Incident:
    """The incident in an EIDO JSON message (or the Canvass subset of one); CadInvalid naming
    the field when a required part is missing."""
    if not isinstance(payload, dict):
        raise CadInvalid("body", "The body must be a JSON object (an EIDO).")
    components = _list(payload, "incidentComponent")
    component = components[0] if components else {}
    incident_id = _incident_id(payload, component)
    if not incident_id:
        raise CadInvalid("$id", "Name the incident: $id or incidentComponent.internalIncidentId.")
    incident_type = str(
        _get(component, "incidentTypeCommonRegistryText", "incidentTypeInternalText")
        or _get(component, "incidentTypeInternalCode")
        or ""
    )[:200]
    if not incident_type:
        raise CadInvalid(
            "incidentComponent.incidentTypeCommonRegistryText",
            "Give the incident type (incidentTypeCommonRegistryText or incidentTypeInternalCode).",
        )
    resources = _list(payload, "emergencyResourceComponent")
    units: list[str] = []
    dispatched: list[dt.datetime] = []
    cleared: list[dt.datetime | None] = []
    for resource in resources:
        name = _get(resource, "emergencyResourceName", "unitId", "emergencyResourceIdentifier")
        if not name:
            raise CadInvalid(
                "emergencyResourceComponent.emergencyResourceName", "Each unit needs its name."
            )
        units.append(str(name).strip()[:32])
        at = _time(_get(resource, "dispatchedTimeStamp", "dispatchedAt"), "dispatchedTimeStamp")
        if at is not None:
            dispatched.append(at)
        cleared.append(_time(_get(resource, "clearedTimeStamp", "clearedAt"), "clearedTimeStamp"))
    if not units:
        raise CadInvalid("emergencyResourceComponent", "Name at least one assigned unit.")
    top = _time(
        _get(component, "dispatchedTimeStamp", "dispatchedAt")
        or _get(payload, "dispatchedTimeStamp", "dispatchedAt"),
        "dispatchedTimeStamp",
    )
    if top is not None:
        dispatched.append(top)
    if not dispatched:
        raise CadInvalid("dispatchedTimeStamp", "Give the time the units were dispatched.")
    top_cleared = _time(
        _get(component, "clearedTimeStamp", "clearedAt")
        or _get(payload, "clearedTimeStamp", "clearedAt"),
        "clearedTimeStamp",
    )
    # The incident is cleared when every unit is (or when it says so itself).
    cleared_at = top_cleared
    if cleared_at is None and cleared and all(c is not None for c in cleared):
        cleared_at = max(c for c in cleared if c is not None)
    dispatched_at = min(dispatched)
    if cleared_at is not None and cleared_at < dispatched_at:
        raise CadInvalid("clearedTimeStamp", "Cleared before it was dispatched.")
    lat, lon = _location(payload)
    return Incident(
        incident_id=incident_id,
        incident_type=incident_type,
        dispatched_at=dispatched_at,
        cleared_at=cleared_at,
        units=sorted(set(units)),
        lat=lat,
        lon=lon,
        last_update_at=_time(_get(payload, "lastUpdateTimeStamp"), "lastUpdateTimeStamp"),
    )
