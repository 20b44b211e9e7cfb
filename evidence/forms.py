from django import forms

from evidence.models import EvidenceItem, MediaKind, Source


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
