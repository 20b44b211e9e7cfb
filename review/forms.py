from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from portal.text import CleanTextFormMixin
from review.models import Outcome


class FindingForm(CleanTextFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("Finding"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label=_("What you found"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Needed for a concern. Plain text; it is never shown to the public."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = int(settings.REVIEW_FINDING_MAX_CHARS)
        self.fields["text"].max_length = limit
        self.fields["text"].validators.append(MaxLengthValidator(limit))
        self.fields["text"].widget.attrs["maxlength"] = str(limit)

    def clean(self):
        data = super().clean()
        if (
            data.get("outcome") not in (None, Outcome.WITHIN_POLICY)
            and not (data.get("text") or "").strip()
        ):
            self.add_error("text", _("Say what the concern is."))
        return data
