"""Forms of the public tip pages and the inbox. Every label a tipster reads is translatable."""

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import User
from portal.text import CleanTextFormMixin
from submissions import services
from submissions.models import (
    MAX_TEMPLATE_BODY,
    MAX_TEMPLATE_TITLE,
    Disposition,
    Priority,
    TipCategory,
    TipStatus,
)
from submissions.policies import REVIEWER_ROLES

if TYPE_CHECKING:
    from portal.models import User

SHARE_CHOICES = [
    (
        "no",
        _("No: keep the time and place stored in my photos and videos from other investigators"),
    ),
    ("yes", _("Yes: investigators may see the time and place stored in my photos and videos")),
]


# Each required field says what to do, in plain words (the tip page's script shows the same
# words before sending; see views._js_strings).
CHOOSE_CATEGORY = _("Choose what it's about.")
SAY_WHAT_HAPPENED = _("Tell us what happened.")
SAY_WHEN = _("Say when it happened.")
WHEN_FORMAT = _("Give the date and time it happened, for example 2025-05-01 14:30.")


class TipForm(CleanTextFormMixin, forms.Form):
    category = forms.ModelChoiceField(
        queryset=TipCategory.objects.none(),
        to_field_name="slug",
        label=_("What is it about?"),
        empty_label=_("Choose one"),
        error_messages={"required": CHOOSE_CATEGORY, "invalid_choice": CHOOSE_CATEGORY},
    )
    description = forms.CharField(
        label=_("What happened?"),
        max_length=services.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Describe what you saw or know. Do not include your own name unless you want to."
        ),
        error_messages={"required": SAY_WHAT_HAPPENED},
    )
    occurred_at = forms.DateTimeField(
        label=_("When did it happen?"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": SAY_WHEN, "invalid": WHEN_FORMAT},
    )
    latitude = forms.FloatField(
        required=False, min_value=-90, max_value=90, widget=forms.HiddenInput
    )
    longitude = forms.FloatField(
        required=False, min_value=-180, max_value=180, widget=forms.HiddenInput
    )
    address = forms.CharField(
        label=_("Where? (an address or a description of the place)"),
        required=False,
        max_length=services.MAX_ADDRESS,
    )
    contact = forms.CharField(
        label=_("Contact details (optional)"),
        required=False,
        max_length=services.MAX_CONTACT,
        help_text=_(
            "Optional. Leave this empty to stay anonymous. If you give an email address, we "
            "only use it to tell you that investigators have a question."
        ),
    )
    share_file_metadata = forms.TypedChoiceField(
        label=_(
            "Photos and videos often store when and where they were taken. May investigators see that?"
        ),
        choices=SHARE_CHOICES,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        initial="no",
        help_text=_("The investigator assigned to your tip always sees the full files."),
    )

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = TipCategory.objects.filter(agency=agency, active=True)

    def clean_occurred_at(self):
        return services.occurred_at_checked(self.cleaned_data["occurred_at"])


class ReceiptForm(forms.Form):
    receipt = forms.CharField(
        label=_("Your receipt"),
        max_length=200,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class TipsterMessageForm(CleanTextFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Your answer or anything to add"),
        max_length=services.MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


# --- inbox ------------------------------------------------------------------------------


class InboxFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *TipStatus.choices]
    )
    category = forms.ChoiceField(label="Category", required=False, choices=[("", "Any")])
    priority = forms.TypedChoiceField(
        label="Priority", required=False, coerce=int, empty_value=None,
        choices=[("", "Any"), *Priority.choices],
    )  # fmt: skip
    assigned = forms.ChoiceField(
        label="Assigned", required=False,
        choices=[("", "Anyone"), ("me", "To me"), ("none", "Unassigned")],
    )  # fmt: skip

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "Any")] + [
            (c.slug, c.name) for c in TipCategory.objects.filter(agency=agency)
        ]


class TransitionForm(CleanTextFormMixin, forms.Form):
    to = forms.ChoiceField(label="Move to", choices=TipStatus.choices)
    disposition = forms.ChoiceField(
        label="Disposition (when closing)",
        required=False,
        choices=[("", "—"), *Disposition.choices],
    )


class AssignForm(forms.Form):
    # The queryset is the agency's reviewers, set per form in __init__.
    assignee: "forms.ModelChoiceField[User]" = forms.ModelChoiceField(
        label="Assign to", queryset=None
    )

    def __init__(self, *args, agency, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            agency=agency, role__in=REVIEWER_ROLES, is_active=True
        ).order_by("full_name")


class TipDetailsForm(CleanTextFormMixin, forms.Form):
    priority = forms.TypedChoiceField(label="Priority", coerce=int, choices=Priority.choices)
    case_number = forms.CharField(
        label="Case number",
        required=False,
        max_length=60,
        # tip-work.js fills the list from the cases the user may see as they type.
        widget=forms.TextInput(attrs={"list": "case-suggestions", "autocomplete": "off"}),
        help_text="Type part of a case's number or title to pick one of your cases.",
    )
    public_message = forms.CharField(
        label="Message the tipster sees with the status",
        required=False,
        max_length=services.MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class NoteForm(CleanTextFormMixin, forms.Form):
    body = forms.CharField(
        label="Internal note",
        max_length=services.MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class QuestionForm(CleanTextFormMixin, forms.Form):
    body = forms.CharField(
        label="Question to the tipster",
        max_length=services.MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown when they come back with their receipt; emailed only as a notice, and only if they left an address.",
    )


class QuestionTemplateForm(CleanTextFormMixin, forms.Form):
    title = forms.CharField(
        label="Title (for you: which question it is)", max_length=MAX_TEMPLATE_TITLE
    )
    body = forms.CharField(
        label="The question, as the tipster reads it",
        max_length=MAX_TEMPLATE_BODY,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ConversationDaysForm(forms.Form):
    conversation_days = forms.IntegerField(
        label="Conversations with tipsters close after (days without a message)",
        min_value=1,
        max_value=services.MAX_CONVERSATION_DAYS,
    )
