"""The one date-and-time field of staff forms: typed on the agency's wall clock, kept in UTC.

A browser's datetime-local input sends a wall-clock time with no zone. Django reads such a
value in the *active* time zone, which in Canvass is UTC, so 18:00 typed by an officer in New
York was stored as 18:00 UTC (13:00 local): footage asked for five hours late. This field reads
it in the agency's zone (portal.context.current_agency_zone, set per request by
AgencyZoneMiddleware, or a zone given to the form), refuses a time the zone skips or repeats
at a DST change, and shows a stored value back in that zone.
"""

import datetime as dt
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from portal.context import current_agency_zone

INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class LocalDateTimeInput(forms.DateTimeInput):
    """<input type="datetime-local">, its zone in data-zone (static/js/local-time.js adds the
    UTC equivalent beside it as the officer types)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None, format="%Y-%m-%dT%H:%M"):  # noqa: A002 - Django's name
        super().__init__(attrs, format)


class _AgencyZone(forms.Field):
    """What both agency fields share: a zone fixed by the form or, when the form is made, the
    request's agency zone, named in the label."""

    def __init__(self, *, zone: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.fixed_zone = zone
        self.plain_label = self.label
        self.zone_bind(zone or "UTC")

    def __deepcopy__(self, memo):
        # Forms deep-copy their fields when they are made: that is the moment the request's
        # zone is known (the template renders later, inside base.html's UTC block).
        copied = super().__deepcopy__(memo)
        copied.zone_bind(self.fixed_zone or current_agency_zone())
        return copied

    def zone_bind(self, name: str) -> None:
        self.zone_name = name
        self.zone = zoneinfo.ZoneInfo(name)
        if self.plain_label:
            self.label = f"{self.plain_label} ({name})"


class AgencyDateTimeField(_AgencyZone, forms.DateTimeField):
    """A date and time typed in the agency's zone (label suffixed with the zone), cleaned to
    an aware datetime in UTC. `zone` fixes the zone; otherwise the request's agency zone."""

    widget = LocalDateTimeInput
    default_error_messages = {
        "zone_gap": _(
            "%(value)s does not exist in %(zone)s or happens twice there (the clocks change "
            "that night). Choose a time outside the change."
        ),
    }

    def __init__(self, *, zone: str | None = None, **kwargs):
        kwargs.setdefault("input_formats", INPUT_FORMATS)
        super().__init__(zone=zone, **kwargs)

    def zone_bind(self, name: str) -> None:
        super().zone_bind(name)
        self.widget.attrs["data-zone"] = name

    def prepare_value(self, value):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            return value.astimezone(self.zone).replace(tzinfo=None)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if timezone.is_aware(value) else self.wall_clock_in_zone(value)
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if parsed is None:
            parsed = forms.BaseTemporalField.to_python(self, value)  # the input formats
        # A value with its own offset means exactly that instant.
        return parsed if timezone.is_aware(parsed) else self.wall_clock_in_zone(parsed)

    def wall_clock_in_zone(self, wall: dt.datetime) -> dt.datetime:
        """`wall` read on the zone's clock; refused if DST skips it or repeats it."""
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        # A skipped time round-trips to another wall time; a repeated one has two offsets.
        skipped = first.astimezone(dt.UTC).astimezone(self.zone).replace(tzinfo=None) != wall
        if skipped or first.utcoffset() != second.utcoffset():
            raise ValidationError(
                self.error_messages["zone_gap"],
                code="zone_gap",
                params={"value": wall.strftime("%Y-%m-%d %H:%M"), "zone": self.zone_name},
            )
        return first.astimezone(dt.UTC)


class AgencyDateField(_AgencyZone, forms.DateField):
    """A calendar day on the agency's calendar (a date input; the label names the zone).
    `end_of_day` is that day's last second there, as an instant in UTC."""

    widget = forms.DateInput

    def __init__(self, *, zone: str | None = None, **kwargs):
        super().__init__(zone=zone, **kwargs)
        self.widget.input_type = "date"

    def end_of_day(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=self.zone).astimezone(dt.UTC)


def day_start(day: dt.date, zone: str) -> dt.datetime:
    """Midnight starting `day` on `zone`'s calendar, as an instant: list filters by date
    mean the agency's days ([day_start(from), day_start(to + 1 day)) on an indexed column)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)
