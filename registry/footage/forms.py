"""Forms of the footage request pages."""

from django import forms

from portal.text import CleanTextFormMixin
from portal.timefields import AgencyDateTimeField
from registry.forms import refuse_formula


class FootageRequestForm(CleanTextFormMixin, forms.Form):
    """What an investigator asks the owners of the chosen cameras."""

    cameras = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one camera from the search results."},
    )
    case_number = forms.CharField(
        max_length=100, error_messages={"required": "A case number is required."}
    )
    reason = forms.CharField(
        label="Legal basis or reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "State the legal basis or reason for the request."},
    )
    message = forms.CharField(
        label="Message to the owners",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    window_start = AgencyDateTimeField(label="Footage from")
    window_end = AgencyDateTimeField(label="Footage until")
    deadline = AgencyDateTimeField(label="Answer by")
    ask_approval = forms.BooleanField(
        required=False,
        label="The window is longer than our limit: ask a supervisor to approve it",
    )

    def __init__(self, *args, camera_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cameras"].choices = camera_choices

    def clean_case_number(self):
        return refuse_formula(self.cleaned_data["case_number"].strip())


class RefuseForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why it is refused",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the request is refused."},
    )
