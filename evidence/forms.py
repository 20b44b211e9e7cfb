import datetime as dt

from django import forms
from django.contrib.gis.geos import MultiPolygon, Point
from django.core.exceptions import ValidationError
from django.utils import timezone

from evidence import selectors, services
from evidence.models import Case, EvidenceItem, MediaKind, RetentionCategory, Share, Source
from portal.geometry import BadGeometry, geometry_from_text
from portal.models import Agency, User
from portal.text import CleanTextFormMixin, visible_controls


class ItemFilterForm(forms.Form):
    source = forms.ChoiceField(choices=[("", "Any source"), *Source.choices], required=False)
    state = forms.ChoiceField(
        choices=[("", "Any state"), *EvidenceItem.State.choices], required=False
    )
    media_kind = forms.ChoiceField(
        choices=[("", "Any type"), *MediaKind.choices], required=False, label="Type"
    )
    date_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Received from"
    )
    date_to = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="to"
    )


class MetadataChangeForm(CleanTextFormMixin, forms.Form):
    """A person's correction of capture time or place; the reason is required and kept."""

    capture_time = forms.DateTimeField(
        required=False,
        label="Captured at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label="Latitude")
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, label="Longitude")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        return data

    def changes(self) -> dict:
        data, changes = self.cleaned_data, {}
        if data.get("capture_time"):
            # The field is labelled UTC: read the typed wall-clock time as UTC, whatever TIME_ZONE is.
            changes["capture_time"] = (
                data["capture_time"].replace(tzinfo=None).replace(tzinfo=dt.UTC)
            )
        if data.get("lat") is not None:
            changes["location"] = Point(data["lon"], data["lat"], srid=4326)
        return changes


def _utc(value):
    # Fields are labelled UTC: read the typed wall-clock time as UTC, whatever TIME_ZONE is.
    return value.replace(tzinfo=None).replace(tzinfo=dt.UTC) if value else value


class CaseForm(CleanTextFormMixin, forms.Form):
    """A case's details; the incident place is a point (lat/lon) and optionally an area."""

    number = forms.CharField(max_length=50, label="Case number")
    title = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=Case.Status.choices, initial=Case.Status.OPEN)
    lead = forms.ModelChoiceField(queryset=User.objects.none(), label="Lead investigator")
    incident_time = forms.DateTimeField(
        required=False,
        label="Incident time (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label="Incident latitude")
    lon = forms.FloatField(
        required=False, min_value=-180, max_value=180, label="Incident longitude"
    )
    area = forms.CharField(
        required=False,
        max_length=20000,
        label="Incident area (optional)",
        help_text="A GeoJSON Polygon or MultiPolygon in WGS 84, e.g. drawn in a GIS tool.",
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
            "incident_time": _utc(data.get("incident_time")),
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
            "incident_time": case.incident_time.replace(tzinfo=None)
            if case.incident_time
            else None,
            "lat": case.incident_point.y if case.incident_point else None,
            "lon": case.incident_point.x if case.incident_point else None,
            "area": case.incident_area.geojson if case.incident_area else "",
        }


def case_staff_of(agency):
    """Who may lead or join a case: active police staff of the agency whose role sees evidence."""
    from evidence.policies import VIEW_EVIDENCE
    from portal.roles import Role, capabilities_of

    roles = [r for r in Role.values if VIEW_EVIDENCE in capabilities_of(r)]
    return User.objects.filter(agency=agency, is_active=True, role__in=roles).order_by("full_name")


class MemberAddForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Add a member")

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        taken = [case.lead_id, *case.memberships.values_list("user_id", flat=True)]
        self.fields["user"].queryset = case_staff_of(case.agency).exclude(pk__in=taken)


class ItemAddForm(forms.Form):
    item = forms.UUIDField(
        label="Add an item by its id",
        help_text="The id is in the item's address: /staff/evidence/&lt;id&gt;/",
    )


class RecipientIdsField(forms.TypedMultipleChoiceField):
    """User ids, offered as the prosecutors' checkboxes but resolved by the service against
    the chosen office only (services.share_recipients_resolve), which audits a refusal."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value):
        return str(value).isdigit()


class ShareForm(CleanTextFormMixin, forms.Form):
    """Share a case with a prosecuting office: everything shareable, or the items ticked."""

    office = forms.ModelChoiceField(queryset=Agency.objects.none(), label="Prosecuting office")
    recipients = RecipientIdsField(
        required=False,
        label="Only these prosecutors",
        help_text="Leave empty to share with every prosecutor of the office.",
        widget=forms.CheckboxSelectMultiple,
    )
    scope = forms.ChoiceField(
        choices=[("all", "Every item that may be shared"), ("some", "Only the items ticked below")],
        initial="all",
        widget=forms.RadioSelect,
        label="Items",
    )
    items = forms.ModelMultipleChoiceField(
        queryset=EvidenceItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Items to share",
    )
    level = forms.ChoiceField(
        choices=Share.Level.choices, initial=Share.Level.VIEW, widget=forms.RadioSelect
    )
    reshare_allowed = forms.BooleanField(
        required=False,
        label="The prosecutor may reshare (e.g. to defence counsel as a limited download link)",
    )
    expires_on = forms.DateField(
        label="Expires on (UTC)", widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, case, shareable, actor, **kwargs):
        super().__init__(*args, **kwargs)
        from portal.roles import AgencyKind

        offices = Agency.objects.filter(kind=AgencyKind.PROSECUTION)
        self.fields["office"].queryset = offices
        self.fields["recipients"].choices = [
            (u.pk, f"{u.label} · {office.name}")
            for office in offices
            for u in selectors.prosecutors_of(office)
        ]
        self.case = case
        self.actor = actor
        # Every item of the case is a choice, so a withheld one is refused by the service with its reason.
        self.fields["items"].queryset = case.items.all()
        self.fields["items"].label_from_instance = lambda i: (
            f"{visible_controls(i.original_filename) or i.pk} ({i.get_media_kind_display() or 'item'})"
        )
        self.shareable = shareable
        if not self.is_bound:
            self.initial["expires_on"] = (timezone.now() + dt.timedelta(days=90)).date()

    def clean(self):
        data = super().clean()
        office = data.get("office")
        if office and "recipients" in data:
            try:
                data["recipients"] = services.share_recipients_resolve(
                    actor=self.actor, case=self.case, office=office, ids=data["recipients"]
                )
            except ValidationError as exc:
                self.add_error("recipients", exc.messages)
        if data.get("scope") == "some" and not data.get("items"):
            self.add_error("items", "Tick the items to share, or share every item.")
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "recipient_agency": data["office"],
            "recipients": list(data["recipients"]),
            "items": list(data["items"]) if data["scope"] == "some" else None,
            "level": data["level"],
            "reshare_allowed": data["reshare_allowed"],
            "expires_at": dt.datetime.combine(data["expires_on"], dt.time(23, 59, 59), dt.UTC),
            "note": data["note"],
        }


class ShareLinkForm(CleanTextFormMixin, forms.Form):
    recipient_label = forms.CharField(
        max_length=300, label="For (name and firm of defence counsel)"
    )
    expires_on = forms.DateField(
        label="Link expires on (UTC)", widget=forms.DateInput(attrs={"type": "date"})
    )
    max_downloads = forms.IntegerField(
        min_value=1, max_value=20, initial=3, label="Downloads allowed"
    )

    def expires_at(self):
        return dt.datetime.combine(self.cleaned_data["expires_on"], dt.time(23, 59, 59), dt.UTC)


class ReasonForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class FlagForm(ReasonForm):
    """Set or lift a flag (legal hold, do not disclose) with the reason."""

    on = forms.BooleanField(required=False)


class RetentionCategoryForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(max_length=100)
    days = forms.IntegerField(
        required=False, min_value=1, max_value=36500, help_text="Empty keeps items indefinitely."
    )


class ItemRetentionForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=RetentionCategory.objects.none(), required=False, label="Retention category"
    )

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = RetentionCategory.objects.filter(agency=agency)
