from django import forms
from django.contrib.gis.geos import Point

from evidence.models import EvidenceItem, MediaKind, RetentionCategory, Source
from portal.text import CleanTextFormMixin
from portal.timefields import AgencyDateTimeField


class ItemFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "File name, source, reference"}
        ),
    )
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

    capture_time = AgencyDateTimeField(required=False, label="Captured at")
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
            changes["capture_time"] = data["capture_time"]
        if data.get("lat") is not None:
            changes["location"] = Point(data["lon"], data["lat"], srid=4326)
        return changes


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
