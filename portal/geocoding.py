"""The one place Canvass turns an address into a point.

The geocoder is a Nominatim-compatible service at `GEOCODER_URL` (the agency's own, or a
public one it is allowed to use). With no URL configured, or when the service cannot be
reached, callers get `GeocoderUnavailable` and show their fallback (tap the map instead).
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

MAX_ADDRESS_LENGTH = 300


class GeocoderUnavailable(Exception):
    """The address could not be looked up: no geocoder configured, or it did not answer."""


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    label: str


def is_configured() -> bool:
    return bool(settings.GEOCODER_URL)


def _client() -> Nominatim:
    url = urlsplit(settings.GEOCODER_URL)
    return Nominatim(
        domain=url.netloc + url.path.rstrip("/"),
        scheme=url.scheme or "https",
        user_agent=settings.GEOCODER_USER_AGENT,
        timeout=settings.GEOCODER_TIMEOUT_SECONDS,
    )


def geocode(address: str) -> Place | None:
    """The best match for `address`, or None when the geocoder knows no such place."""
    address = " ".join(address.split())
    if not address:
        return None
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"An address is at most {MAX_ADDRESS_LENGTH} characters.")
    if not is_configured():
        raise GeocoderUnavailable("Address search is not configured.")
    try:
        found = _client().geocode(address, exactly_one=True)
    except GeopyError as exc:
        raise GeocoderUnavailable("The address search service did not answer.") from exc
    if found is None:
        return None
    return Place(latitude=found.latitude, longitude=found.longitude, label=found.address)
