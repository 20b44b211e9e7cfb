"""Forms of the live pages."""

from django import forms


class WatchForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why you are watching (audited).")
    case_ref = forms.CharField(
        max_length=64, label="Case or incident number", help_text="The case or CAD incident."
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why the view ends now (audited).")
