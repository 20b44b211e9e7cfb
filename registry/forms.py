"""Camera and search forms. The camera form also validates every CSV row and API payload."""

import json
import zoneinfo
from typing import Any

from django import forms
from django.contrib.gis.geos import Polygon
from django.utils.translation import gettext_lazy as _

from portal.geometry import BadGeometry, geometry_from_text
from portal.text import CleanTextFormMixin
from portal.timefields import AgencyDateTimeField
from registry.models import (
    SEARCH_REASON_CHOICES,
    CameraKind,
    ContactMethod,
    Participation,
    Placement,
)
from registry.search import SearchQuery

TIME_ZONES = sorted(zoneinfo.available_timezones())
# A cell starting with one of these is run as a formula by spreadsheet programs (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_SEARCH_RADIUS_M = 2000
MAX_AREA_M2 = 5_000_000
MAX_WINDOW_DAYS = 31


def refuse_formula(value: str) -> str:
    if value.startswith(FORMULA_PREFIXES):
        raise forms.ValidationError(
            _("Text may not start with =, +, -, @ or a control character (spreadsheet formula).")
        )
    if "\x00" in value:
        raise forms.ValidationError(_("Text may not contain NUL characters."))
    return value


# One line per participation level, shown under its choice on the camera form.
PARTICIPATION_HELP = {
    Participation.LOCATION_ONLY: _(
        "Investigators only learn that a camera is here; nobody contacts you."
    ),
    Participation.CONTACT_ME: _("Investigators may contact you to ask what your camera saw."),
    Participation.UPLOAD_ON_REQUEST: _(
        "You get an email when footage is needed and choose to upload it, say you have none, or decline."
    ),
    Participation.LIVE_FEED_LINKABLE: _(
        "As above, and you may link a live feed that agencies watch only as your settings allow."
    ),
}

# Typical cameras: one tap fills the kind, the field of view and the range (the owner then aims
# the cone on the map).
CAMERA_PRESETS = (
    (_("Doorbell camera"), {"id_kind": "doorbell", "id_fov_angle_deg": 160, "id_range_m": 8}),
    (_("Driveway camera"), {"id_kind": "fixed", "id_fov_angle_deg": 90, "id_range_m": 20}),
    (_("Shop front camera"), {"id_kind": "fixed", "id_fov_angle_deg": 110, "id_range_m": 15}),
)

TIME_ERRORS = {"invalid": _("Enter a time such as 07:30 or 22:00.")}


def _time_field(label) -> forms.TimeField:
    return forms.TimeField(
        required=False,
        label=label,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages=TIME_ERRORS,
    )


class CameraForm(CleanTextFormMixin, forms.Form):
    """Everything an owner says about one camera."""

    name = forms.CharField(
        max_length=120, label=_("Name"), widget=forms.TextInput(attrs={"id": "id_name"})
    )
    kind = forms.ChoiceField(choices=CameraKind.choices, label=_("Kind"))
    latitude = forms.FloatField(min_value=-85, max_value=85, widget=forms.HiddenInput)
    longitude = forms.FloatField(min_value=-180, max_value=180, widget=forms.HiddenInput)
    direction_deg = forms.IntegerField(
        min_value=0, max_value=359, initial=0, label=_("Direction (degrees, 0 = north)")
    )
    fov_angle_deg = forms.IntegerField(
        min_value=1, max_value=360, initial=90, label=_("Field of view (degrees)")
    )
    range_m = forms.IntegerField(
        min_value=1,
        max_value=500,
        initial=15,
        label=_("Range (metres)"),
        error_messages={
            "min_value": _("The range is at least 1 metre."),
            "max_value": _("The range is at most 500 metres."),
        },
    )
    retention_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=7, label=_("Footage kept for (days)")
    )
    records_always = forms.BooleanField(required=False, initial=True, label=_("Records all day"))
    records_from = _time_field(_("Records from"))
    records_until = _time_field(_("Records until"))
    placement = forms.ChoiceField(
        choices=Placement.choices, initial=Placement.OUTDOOR, label=_("Placement")
    )
    participation = forms.ChoiceField(
        choices=Participation.choices, widget=forms.RadioSelect, label=_("Participation")
    )
    is_public = forms.BooleanField(
        required=False,
        label=_("Show on the public map (as a count per area, never the exact spot)"),
    )
    contact_method = forms.ChoiceField(
        choices=ContactMethod.choices, initial=ContactMethod.EMAIL, label=_("Contact method")
    )
    contact_phone = forms.CharField(max_length=40, required=False, label=_("Contact phone"))
    quiet_from = _time_field(_("Do not contact me from"))
    quiet_until = _time_field(_("until"))
    time_zone = forms.ChoiceField(
        choices=[(z, z) for z in TIME_ZONES], initial="UTC", label=_("Time zone")
    )

    def participation_options(self) -> list[tuple[Any, Any]]:
        """Each participation radio with its one-line explanation."""
        return [(radio, PARTICIPATION_HELP[radio.data["value"]]) for radio in self["participation"]]

    @staticmethod
    def presets() -> list[dict[str, Any]]:
        return [{"label": label, "fields": json.dumps(fields)} for label, fields in CAMERA_PRESETS]

    def clean_name(self):
        return refuse_formula(self.cleaned_data["name"].strip())

    def clean_contact_phone(self):
        return refuse_formula(self.cleaned_data["contact_phone"].strip())

    def clean(self):
        data = super().clean()
        if not data.get("records_always") and (
            data.get("records_from") is None or data.get("records_until") is None
        ):
            self.add_error(
                "records_from", _("Give the hours it records, or tick 'Records all day'.")
            )
        elif (
            not data.get("records_always")
            and data.get("records_from") is not None
            and data["records_from"] == data.get("records_until")
        ):
            self.add_error(
                "records_until",
                _("Recording cannot start and end at the same time: tick 'Records all day'."),
            )
        if data.get("records_always"):
            data["records_from"] = data["records_until"] = None
        if data.get("contact_method") == ContactMethod.PHONE and not data.get("contact_phone"):
            self.add_error("contact_phone", _("Give a phone number, or choose another way."))
        if (data.get("quiet_from") is None) != (data.get("quiet_until") is None):
            self.add_error("quiet_until", _("Give both ends of the quiet hours, or neither."))
        elif data.get("quiet_from") is not None and data["quiet_from"] == data.get("quiet_until"):
            self.add_error("quiet_until", _("Quiet hours cannot start and end at the same time."))
        return data


class AddressForm(forms.Form):
    address = forms.CharField(max_length=300)


class SearchForm(forms.Form):
    """An incident: where (point or address, optional area), when, and why (case, a reason
    category from a fixed list, and the reason in words)."""

    case_number = forms.CharField(
        max_length=100,
        error_messages={"required": "A case number is required for every registry search."},
    )
    reason_category = forms.ChoiceField(
        label="Reason category",
        choices=[("", "Choose a category…"), *SEARCH_REASON_CHOICES],
        error_messages={
            "required": "Choose a reason category for every registry search.",
            "invalid_choice": "Choose a reason category from the list.",
        },
    )
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "A reason is required for every registry search."},
    )
    # Set by tapping the map (hidden), or typed through the address field.
    latitude = forms.FloatField(
        min_value=-85, max_value=85, required=False, widget=forms.HiddenInput
    )
    longitude = forms.FloatField(
        min_value=-180, max_value=180, required=False, widget=forms.HiddenInput
    )
    address = forms.CharField(max_length=300, required=False)
    area = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.HiddenInput,
        help_text="Optional polygon (GeoJSON or WKT, WGS84).",
    )
    window_start = AgencyDateTimeField(label="From")
    window_end = AgencyDateTimeField(label="Until")
    radius_m = forms.IntegerField(
        min_value=10, max_value=MAX_SEARCH_RADIUS_M, initial=300, required=False
    )

    def clean_radius_m(self):
        return self.cleaned_data["radius_m"] or 300

    def clean_case_number(self):
        return refuse_formula(self.cleaned_data["case_number"].strip())

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError("A reason is required for every registry search.")
        return value

    def query(self):
        """The cleaned form as the search service takes it (the page and the API alike)."""
        data = self.cleaned_data
        return SearchQuery(
            case_number=data["case_number"],
            reason=data["reason"],
            reason_category=data["reason_category"],
            window_start=data["window_start"],
            window_end=data["window_end"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            address=data["address"],
            area=data["area"],
            radius_m=data["radius_m"] or 300,
        )

    def clean_area(self):
        try:
            geom = geometry_from_text(self.cleaned_data["area"])
        except BadGeometry as exc:
            raise forms.ValidationError("The area is not a polygon (GeoJSON or WKT).") from exc
        if geom is None:
            return None
        if not isinstance(geom, Polygon) or not geom.valid or geom.num_coords > 500:
            raise forms.ValidationError(
                "The area must be one simple polygon of at most 500 points."
            )
        if geom.transform(3857, clone=True).area > MAX_AREA_M2 * 4:
            # Mercator inflates areas; at these latitudes this bounds the true area generously.
            raise forms.ValidationError("The area is too large (at most about 5 square km).")
        return geom

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end:
            if end <= start:
                self.add_error("window_end", "The window must end after it starts.")
            elif (end - start).days >= MAX_WINDOW_DAYS:
                self.add_error("window_end", f"The window is at most {MAX_WINDOW_DAYS} days.")
        has_point = data.get("latitude") is not None and data.get("longitude") is not None
        if not has_point and not data.get("address"):
            self.add_error("address", "Give the incident's address or pick it on the map.")
        return data
