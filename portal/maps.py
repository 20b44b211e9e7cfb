"""The one place Canvass decides what its maps draw under the data: the basemap and the outline.

The basemap is the agency's own PMTiles file (MAP_PMTILES_PATH), served by Canvass itself with
HTTP Range (portal.map_views.basemap) and drawn in the browser by protomaps-leaflet; or, if an
operator sets MAP_TILE_URL, raster tiles from their own tile server. Either way no page asks a
third party for anything. Every map also centres on, and outlines, the agency's jurisdiction.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from portal import geocoding
from portal.models import Agency
from portal.roles import AgencyKind

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in the Content-Range header

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class UnsatisfiableRange(ValueError):
    """The Range header names no bytes of the file (answered with 416)."""


def pmtiles_path() -> Path | None:
    """The basemap file, or None when the install has none (then maps draw no basemap)."""
    path = Path(settings.MAP_PMTILES_PATH) if settings.MAP_PMTILES_PATH else None
    return path if path and path.is_file() else None


def byte_range(header: str, size: int) -> ByteRange | None:
    """The one range a `Range` header asks for, None for the whole file.

    Only single ranges are served (PMTiles readers ask for one at a time); a header we do not
    understand is ignored, as RFC 9110 allows, and the whole file is sent.
    """
    match = _RANGE.match(header.strip().replace(" ", "")) if header else None
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise UnsatisfiableRange(header)
        return ByteRange(max(size - count, 0), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise UnsatisfiableRange(header)
    return ByteRange(start, end)


def _outlines(user, agency: Agency | None) -> list[dict]:
    if agency is None and getattr(user, "is_authenticated", False):
        agency = getattr(user, "agency", None)
    if agency is not None and agency.jurisdiction is not None:
        agencies = [agency]
    else:
        agencies = list(
            Agency.objects.filter(kind=AgencyKind.POLICE, jurisdiction__isnull=False).order_by("id")
        )
    return [
        {"name": a.name, "geometry": json.loads(a.jurisdiction.geojson)}
        for a in agencies
        if a.jurisdiction is not None
    ]


def map_config(user, *, agency: Agency | None = None) -> dict:
    """What the shared browser module (static/src/basemap.js) needs, for json_script."""
    basemap: dict = {}
    if settings.MAP_TILE_URL:
        basemap = {
            "kind": "raster",
            "url": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "maxZoom": settings.MAP_MAX_ZOOM,
        }
    elif pmtiles_path() is not None:
        basemap = {
            "kind": "pmtiles",
            "url": reverse("portal:basemap"),
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "maxDataZoom": settings.MAP_PMTILES_MAX_ZOOM,
            "maxZoom": settings.MAP_MAX_ZOOM,
        }
    return {
        "basemap": basemap,
        "outlines": _outlines(user, agency),
        "geocode": reverse("portal:geocode") if geocoding.is_configured() else "",
        "words": {
            "area": _("Agency area"),
            "legend": _("Legend"),
            "search": _("Find an address"),
            "searchButton": _("Go"),
            "searching": _("Looking up…"),
            "notFound": _("No place matches that address."),
            "unavailable": _("Address search is not available right now."),
        },
    }
