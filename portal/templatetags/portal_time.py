"""{% load portal_time %}: the two ways Canvass shows a time.

`{{ when|local_and_utc }}` (staff) reads "2026-12-04 09:15 America/New_York (14:15 UTC)": the
agency's wall-clock time with UTC beside it (architecture rule 9). The zone is the signed-in
staff member's agency's (AgencyZoneMiddleware) unless one is given: `|local_and_utc:zone`.

`{{ when|browser_time }}` (owners, tipsters, the public) is a <time> element holding the UTC
instant; static/js/local-time.js rewrites its text in the reader's own zone, and without
JavaScript the server's "2026-12-04 14:15 UTC" stays.

`{{ text|iso_instant|local_and_utc }}` shows an instant kept as ISO 8601 text (a clip's
manifest in an item's metadata) the same way.
"""

import datetime as dt
import zoneinfo

from django import template
from django.utils.html import format_html

from portal.context import current_agency_zone

register = template.Library()


@register.filter
def local_and_utc(value, zone: str | None = None) -> str:
    return _local_and_utc(value, zone, "%H:%M")


@register.filter
def local_and_utc_seconds(value, zone: str | None = None) -> str:
    """local_and_utc to the second (capture times, custody and disclosure entries)."""
    return _local_and_utc(value, zone, "%H:%M:%S")


def _local_and_utc(value, zone: str | None, clock: str) -> str:
    if not isinstance(value, dt.datetime):
        return "—" if value is None else str(value)
    zone = zone or current_agency_zone()
    local = value.astimezone(zoneinfo.ZoneInfo(zone))
    utc = value.astimezone(dt.UTC)
    if zone == "UTC":
        return f"{utc:%Y-%m-%d} {utc.strftime(clock)} UTC"
    day = "" if local.date() == utc.date() else f"{utc:%Y-%m-%d} "
    return f"{local:%Y-%m-%d} {local.strftime(clock)} {zone} ({day}{utc.strftime(clock)} UTC)"


@register.filter
def iso_instant(value):
    """The aware datetime an ISO 8601 text with an offset names; anything else is passed on."""
    if not isinstance(value, str):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed if parsed.tzinfo is not None else value


@register.filter
def browser_time(value) -> str:
    if not isinstance(value, dt.datetime):
        return "—" if value is None else str(value)
    utc = value.astimezone(dt.UTC)
    return format_html(
        '<time datetime="{}" data-local-time>{} UTC</time>',
        utc.isoformat(timespec="seconds").replace("+00:00", "Z"),
        f"{utc:%Y-%m-%d %H:%M}",
    )
