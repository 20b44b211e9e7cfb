import zoneinfo
from typing import cast

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit_labels import PERIODS, action_choices, period_dates, target_type_choices
from portal.roles import Role
from portal.text import CleanTextFormMixin


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=12,
        label=_("6-digit code from your authenticator app"),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
    )


class SignupForm(CleanTextFormMixin, forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Role.RESIDENT, _("I am a resident")),
            (Role.BUSINESS, _("I represent a business")),
        ],
        widget=forms.RadioSelect,
        initial=Role.RESIDENT,
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class AuditFilterForm(forms.Form):
    """The audit log's filters: each narrows the rows; the period presets fill the dates."""

    actor = forms.CharField(max_length=200, required=False, label=_("Actor contains"))
    action = forms.ChoiceField(required=False, label=_("Action"))
    target_type = forms.ChoiceField(required=False, label=_("Target type"))
    target_id = forms.CharField(max_length=64, required=False, label=_("Target id"))
    period = forms.ChoiceField(choices=PERIODS, required=False, label=_("When"))
    date_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("From")
    )
    date_to = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("To")
    )

    def __init__(self, *args, zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        cast(forms.ChoiceField, self.fields["action"]).choices = action_choices()
        current = self.data.get("target_type", "") if self.is_bound else ""
        kinds = target_type_choices(str(current)[:80])
        cast(forms.ChoiceField, self.fields["target_type"]).choices = kinds

    def clean(self):
        data = super().clean()
        period = data.pop("period", "")
        if period:
            today = timezone.now().astimezone(zoneinfo.ZoneInfo(self.zone)).date()
            data["date_from"], data["date_to"] = period_dates(period, today)
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data
