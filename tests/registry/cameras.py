"""Helpers for registry tests: cameras made through the real service, staff actors past MFA."""

import math

from django.contrib.gis.geos import MultiPolygon, Polygon

from registry import services
from tests.factories import AgencyFactory, PublicUserFactory, UserFactory, add_totp_device

# Riverton: the default factory jurisdiction (-74.0, 40.7, -73.9, 40.8).
INCIDENT = (40.75, -73.95)  # (lat, lon)


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / 111_320.0,
        lon + east_m / (111_320.0 * math.cos(math.radians(lat))),
    )


def camera_data(lat: float, lon: float, **overrides) -> dict:
    data = {
        "name": "Front door",
        "kind": "doorbell",
        "latitude": lat,
        "longitude": lon,
        "direction_deg": 0,
        "fov_angle_deg": 90,
        "range_m": 30,
        "retention_days": 7,
        "records_always": True,
        "records_from": None,
        "records_until": None,
        "placement": "outdoor",
        "participation": "upload_on_request",
        "is_public": False,
        "contact_method": "email",
        "contact_phone": "",
        "quiet_from": None,
        "quiet_until": None,
        "time_zone": "America/New_York",
    }
    data.update(overrides)
    return data


def register(owner, lat, lon, **overrides):
    return services.camera_register(actor=owner, data=camera_data(lat, lon, **overrides))


def verified(user):
    """The user as the OTP middleware hands it to a view after the second factor."""
    user.is_verified = lambda: True
    return user


def investigator(agency):
    user = UserFactory(agency=agency)
    add_totp_device(user)
    return verified(user)


def agency_elsewhere(**kwargs):
    """A second police agency whose jurisdiction does not touch Riverton's."""
    return AgencyFactory(
        jurisdiction=MultiPolygon(Polygon.from_bbox((-80.0, 35.0, -79.9, 35.1)), srid=4326),
        time_zone="America/New_York",
        **kwargs,
    )


def owner(role="resident"):
    return PublicUserFactory(role=role)
