"""{% load portal_time %}: `{{ when|local_and_utc:zone }}` reads "2026-12-04 09:15 America/New_York
(14:15 UTC)": the agency's wall-clock time with UTC beside it (architecture rule 9)."""

import datetime as dt
import zoneinfo

from django import template

register = template.Library()


@register.filter
def local_and_utc(value, zone: str = "UTC") -> str:
    if not isinstance(value, dt.datetime):
        return "—" if value is None else str(value)
    local = value.astimezone(zoneinfo.ZoneInfo(zone or "UTC"))
    utc = value.astimezone(dt.UTC)
    if zone in ("", "UTC"):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    day = "" if local.date() == utc.date() else f"{utc:%Y-%m-%d} "
    return f"{local:%Y-%m-%d %H:%M} {zone} ({day}{utc:%H:%M} UTC)"
