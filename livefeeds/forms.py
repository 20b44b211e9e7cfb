"""Forms of the live pages."""

from django import forms

from livefeeds.models import REASON_CATEGORIES_OFFERED


class WatchForm(forms.Form):
    reason_category = forms.ChoiceField(
        label="Category",
        choices=[("", "Choose…"), *REASON_CATEGORIES_OFFERED],
        help_text="What kind of need (the transparency page counts each kind monthly).",
    )
    reason = forms.CharField(max_length=300, help_text="Why you are watching (audited).")
    case_ref = forms.CharField(
        max_length=64, label="Case or incident number", help_text="The case or CAD incident."
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why the view ends now (audited).")


class WallForm(WatchForm):
    distance_m = forms.IntegerField(
        min_value=10,
        max_value=2000,
        initial=300,
        label="Distance (metres)",
        help_text="Cameras and recording body cameras within this distance of the incident.",
    )
