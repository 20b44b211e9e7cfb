from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from notifications.kinds import Kind


class PreferencesForm(forms.Form):
    """Ticked = on. What is unticked is stored as turned off."""

    email_on = forms.MultipleChoiceField(
        label=_("Email me when"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    in_app_on = forms.MultipleChoiceField(
        label=_("Show in Canvass when"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(
        label=_("Language of my emails"),
        choices=[("", _("The site's default"))] + list(settings.LANGUAGES),
        required=False,
    )
