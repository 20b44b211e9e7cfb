"""Forms of sharing: a share with a prosecuting office, and a reshare link."""

import datetime as dt
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from evidence.disclosure import selectors as share_selectors
from evidence.disclosure import services as share_services
from evidence.models import EvidenceItem, Share
from portal.models import Agency
from portal.roles import AgencyKind
from portal.text import CleanTextFormMixin, visible_controls
from portal.timefields import AgencyDateField


class RecipientIdsField(forms.TypedMultipleChoiceField):
    """User ids, offered as the prosecutors' checkboxes but resolved by the service against
    the chosen office only (share_services.share_recipients_resolve), which audits a refusal."""

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
    copies = forms.ChoiceField(
        choices=[
            ("originals", "Originals"),
            ("redacted", "Redacted copies only (faces covered; items without one are withheld)"),
        ],
        initial="originals",
        # Not sent (an older form, a script): the originals, as before the choice existed.
        required=False,
        widget=forms.RadioSelect,
        label="What the office receives",
    )
    reshare_allowed = forms.BooleanField(
        required=False,
        label="The prosecutor may reshare (e.g. to defence counsel as a limited download link)",
    )
    expires_on = AgencyDateField(label="Expires on")
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, case, shareable, actor, **kwargs):
        super().__init__(*args, **kwargs)

        offices = Agency.objects.filter(kind=AgencyKind.PROSECUTION)
        self.fields["office"].queryset = offices
        self.fields["recipients"].choices = [
            (u.pk, f"{u.label} · {office.name}")
            for office in offices
            for u in share_selectors.prosecutors_of(office)
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
                data["recipients"] = share_services.share_recipients_resolve(
                    actor=self.actor, case=self.case, office=office, ids=data["recipients"]
                )
            except ValidationError as exc:
                self.add_error("recipients", exc.messages)
        if data.get("scope") == "some" and not data.get("items"):
            self.add_error("items", "Tick the items to share, or share every item.")
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        expires_on = cast(AgencyDateField, self.fields["expires_on"])
        return {
            "recipient_agency": data["office"],
            "recipients": list(data["recipients"]),
            "items": list(data["items"]) if data["scope"] == "some" else None,
            "level": data["level"],
            "reshare_allowed": data["reshare_allowed"],
            "require_redacted": data["copies"] == "redacted",
            "expires_at": expires_on.end_of_day(data["expires_on"]),
            "note": data["note"],
        }


class ShareLinkForm(CleanTextFormMixin, forms.Form):
    recipient_label = forms.CharField(
        max_length=300, label="For (name and firm of defence counsel)"
    )
    expires_on = AgencyDateField(label="Link expires on")
    max_downloads = forms.IntegerField(
        min_value=1, max_value=20, initial=3, label="Downloads allowed"
    )

    def expires_at(self):
        return self.fields["expires_on"].end_of_day(self.cleaned_data["expires_on"])
