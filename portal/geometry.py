"""Reading a shape a person typed or a map drew (GeoJSON or WKT, WGS84), in one place."""

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry


class BadGeometry(ValueError):
    """The text is not a geometry at all (broken JSON, an unknown type, an open ring...)."""


def geometry_from_text(text: str) -> GEOSGeometry | None:
    """The geometry in `text`, None for empty text; BadGeometry for anything unreadable.

    GEOS, GDAL (GeoJSON goes through OGR) and the parser each raise their own error type;
    callers get one, so a malformed shape is a clear 400 and never a 500.
    """
    text = text.strip()
    if not text:
        return None
    try:
        return GEOSGeometry(text, srid=4326)
    except (ValueError, TypeError, GEOSException, GDALException) as exc:
        raise BadGeometry(str(exc)) from exc
