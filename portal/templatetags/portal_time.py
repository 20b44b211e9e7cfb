"""{% load portal_time %}: the two ways Canvass shows a time.

`{{ when|local_and_utc }}` (staff) reads "2026-12-04 09:15 America/New_York (14:15 UTC)": the
agency's wall-clock time with UTC beside it (architecture rule 9). The zone is the signed-in
staff member's agency's (AgencyZoneMiddleware) unless one is given: `|local_and_utc:zone`.

`{{ when|browser_time }}` (owners, tipsters, the public) is a <time> element holding the UTC
instant; static/js/local-time.js rewrites its text in the reader's own zone, and without
JavaScript the server's "2026-12-04 14:15 UTC" stays.
"""

import datetime as dt
import zoneinfo

from django import template
from django.utils.html import format_html

from portal.context import current_agency_zone

register = template.Library()


@register.filter
def local_and_utc(value, zone: str | None = None) -> str:
    if not isinstance(value, dt.datetime):
        return "—" if value is None else str(value)
    zone = zone or current_agency_zone()
    local = value.astimezone(zoneinfo.ZoneInfo(zone))
    utc = value.astimezone(dt.UTC)
    if zone == "UTC":
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    day = "" if local.date() == utc.date() else f"{utc:%Y-%m-%d} "
    return f"{local:%Y-%m-%d %H:%M} {zone} ({day}{utc:%H:%M} UTC)"


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
