"""Forms of the case pages: the case itself, its members and its items."""

import uuid

from django import forms
from django.contrib.gis.geos import MultiPolygon, Point

from evidence.models import Case
from evidence.policies import VIEW_EVIDENCE
from portal.geometry import BadGeometry, geometry_from_text
from portal.models import User
from portal.roles import Role, capabilities_of
from portal.text import CleanTextFormMixin
from portal.timefields import AgencyDateTimeField


class CaseForm(CleanTextFormMixin, forms.Form):
    """A case's details; the incident place is a point (lat/lon) and optionally an area."""

    number = forms.CharField(max_length=50, label="Case number")
    title = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=Case.Status.choices, initial=Case.Status.OPEN)
    lead = forms.ModelChoiceField(queryset=User.objects.none(), label="Lead investigator")
    incident_time = AgencyDateTimeField(required=False, label="Incident time")
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label="Incident latitude")
    lon = forms.FloatField(
        required=False, min_value=-180, max_value=180, label="Incident longitude"
    )
    area = forms.CharField(
        required=False,
        max_length=20000,
        label="Incident area (optional)",
        help_text="Drawn on the map below, or a GeoJSON Polygon or MultiPolygon (WGS 84) pasted from a GIS tool.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = case_staff_of(agency)

    def clean_area(self):
        try:
            geom = geometry_from_text(self.cleaned_data["area"])
        except BadGeometry as exc:
            raise forms.ValidationError("The area is not valid GeoJSON.") from exc
        if geom is None:
            return None
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=4326)
        if geom.geom_type != "MultiPolygon" or not geom.valid:
            raise forms.ValidationError("The area must be a valid Polygon or MultiPolygon.")
        if geom.num_coords > 5000:
            raise forms.ValidationError("The area has too many points (at most 5000).")
        return geom

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        point = None
        if data.get("lat") is not None:
            point = Point(data["lon"], data["lat"], srid=4326)
        return {
            "number": data["number"],
            "title": data["title"],
            "lead": data["lead"],
            "incident_time": data.get("incident_time"),
            "incident_point": point,
            "incident_area": data.get("area"),
        }

    @classmethod
    def initial_for(cls, case: Case) -> dict:
        return {
            "number": case.number,
            "title": case.title,
            "status": case.status,
            "lead": case.lead_id,
            "incident_time": case.incident_time,
            "lat": case.incident_point.y if case.incident_point else None,
            "lon": case.incident_point.x if case.incident_point else None,
            "area": case.incident_area.geojson if case.incident_area else "",
        }


def case_staff_of(agency):
    """Who may lead or join a case: active police staff of the agency whose role sees evidence."""

    roles = [r for r in Role.values if VIEW_EVIDENCE in capabilities_of(r)]
    return User.objects.filter(agency=agency, is_active=True, role__in=roles).order_by("full_name")


class MemberAddForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Add a member")

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        taken = [case.lead_id, *case.memberships.values_list("user_id", flat=True)]
        self.fields["user"].queryset = case_staff_of(case.agency).exclude(pk__in=taken)


class AddToCaseForm(forms.Form):
    """Items (their ids, from the evidence list's checkboxes or an item page) and a case chosen
    in the autocomplete (its id) or typed (its number, when the page runs without script)."""

    case = forms.UUIDField(required=False)
    case_number = forms.CharField(required=False, max_length=50, label="Case")

    def __init__(self, data, *args, max_items: int, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.raw_items = data.getlist("item") if data is not None else []
        self.max_items = max_items

    def clean(self):
        data = super().clean()
        if not data.get("case") and not (data.get("case_number") or "").strip():
            raise forms.ValidationError("Choose a case.")
        if not self.raw_items:
            raise forms.ValidationError("Select at least one item.")
        if len(self.raw_items) > self.max_items:
            raise forms.ValidationError(f"Select at most {self.max_items} items at a time.")
        try:
            ids = [uuid.UUID(str(raw)) for raw in self.raw_items]
        except ValueError as exc:
            raise forms.ValidationError("That is not an item id.") from exc
        data["items"] = list(dict.fromkeys(ids))
        return data


class ItemAddForm(forms.Form):
    item = forms.UUIDField(
        label="Add an item by its id",
        help_text="The id is in the item's address: /staff/evidence/&lt;id&gt;/",
    )


class ClockShiftForm(CleanTextFormMixin, forms.Form):
    """Shift one video's clock on the case's shared timeline (seconds, + later, - earlier)."""

    seconds = forms.DecimalField(
        label="Shift its clock by (seconds)",
        max_digits=8,
        decimal_places=1,
        min_value=-86400,
        max_value=86400,
        help_text="Positive if the video really started later than its clock says, negative if earlier.",
    )
    reason = forms.CharField(label="Why", max_length=500)
