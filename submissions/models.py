"""Anonymous tips: what a resident sent, how investigators work it, and nothing about who sent it.

No model here has a field for an address, a user agent, a cookie or any other identifier of
the tipster; the receipt is kept only as an Argon2id hash (see submissions/receipts.py).
"""

import uuid

from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import Agency

DEFAULT_MAX_FILE_BYTES = 4 * 1024**3
DEFAULT_CONVERSATION_DAYS = 90
MAX_TEMPLATE_TITLE = 100
MAX_TEMPLATE_BODY = 2_000


class ReceiptStyle(models.TextChoices):
    DIGITS = "digits", _("16 digits in groups of four")
    PASSPHRASE = "passphrase", _("Six words")


class SubmissionSettings(models.Model):
    """An agency's choices for its tips line (limits, receipt style, who is told of new tips)."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="tip_settings")
    accepting_tips = models.BooleanField(default=True)
    receipt_style = models.CharField(
        max_length=12, choices=ReceiptStyle.choices, default=ReceiptStyle.DIGITS
    )
    max_file_bytes = models.BigIntegerField(default=DEFAULT_MAX_FILE_BYTES)
    max_files = models.PositiveIntegerField(default=20)
    # Empty: investigators and supervisors of the agency are emailed about new tips.
    reviewer_role = models.CharField(max_length=20, blank=True)
    # A tip's conversation closes this many days after its last message (or the tip, if none).
    conversation_days = models.PositiveIntegerField(default=DEFAULT_CONVERSATION_DAYS)

    class Meta:
        verbose_name_plural = "submission settings"

    def __str__(self) -> str:
        return f"Tip settings of {self.agency}"


class TipCategory(models.Model):
    """One entry of an agency's list of what a tip can be about."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="tip_categories")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "tip categories"
        constraints = [
            models.UniqueConstraint(fields=["agency", "slug"], name="tipcategory_unique_slug")
        ]

    def __str__(self) -> str:
        # The default categories (submissions/demo.py) have Spanish in the catalogue; a name
        # an agency typed itself has none and shows as typed.
        return gettext(self.name)


class TipStatus(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    ACTIONABLE = "actionable", _("Actionable")
    NOT_ACTIONABLE = "not_actionable", _("Not actionable")
    DUPLICATE = "duplicate", _("Duplicate")
    CLOSED = "closed", _("Closed")


class Disposition(models.TextChoices):
    ACTION_TAKEN = "action_taken", _("Action taken")
    REFERRED = "referred", _("Referred to another agency")
    NO_FURTHER_ACTION = "no_further_action", _("No further action")
    DUPLICATE = "duplicate", _("Duplicate of another tip")
    UNFOUNDED = "unfounded", _("Unfounded")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Tip(models.Model):
    """A resident's anonymous report to one agency, and the agency's work on it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The public id: on the tipster's screen, in audit rows and as evidence items' source_ref.
    reference = models.CharField(max_length=16, unique=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="tips")
    category = models.ForeignKey(TipCategory, on_delete=models.PROTECT, related_name="tips")
    description = models.TextField()
    occurred_at = models.DateTimeField()
    location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    # What the tipster chose to leave (optional); used only to tell them a question is waiting.
    contact = models.CharField(max_length=300, blank=True)
    # The tipster's choice: may investigators beyond the assigned one see time and place in files?
    share_file_metadata = models.BooleanField(default=False)
    receipt_hash = models.CharField(max_length=80, unique=True)
    receipt_style = models.CharField(max_length=12, choices=ReceiptStyle.choices)
    status = models.CharField(max_length=20, choices=TipStatus.choices, default=TipStatus.NEW)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tips",
    )
    case_number = models.CharField(max_length=60, blank=True, db_index=True)
    # Shown to the tipster on return, beside the status.
    public_message = models.TextField(blank=True)
    received_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["agency", "-received_at"]),
            models.Index(fields=["agency", "status"]),
            # The case page finds a case's tips by number, case-insensitively
            # (case_number__iexact: UPPER(case_number) = UPPER(%s)); the plain index on
            # case_number cannot answer that, and the page read every tip (107 ms at 60,000).
            models.Index("agency", Upper("case_number"), name="tip_agency_case_number_upper"),
        ]

    def __str__(self) -> str:
        return self.reference


class TipMessage(models.Model):
    """One message between investigators and the anonymous tipster."""

    class Direction(models.TextChoices):
        TO_TIPSTER = "to_tipster", _("From investigators")
        FROM_TIPSTER = "from_tipster", _("From the tipster")

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=15, choices=Direction.choices)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the tipster was emailed about this question: the task sends at most once.
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} on {self.tip_id}"


class TipNote(models.Model):
    """An investigators-only note on a tip; never shown to the tipster."""

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on {self.tip_id}"


class QuestionTemplate(models.Model):
    """A question the agency asks tipsters often, kept by supervisors to fill the reply box."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="tip_templates")
    title = models.CharField(max_length=MAX_TEMPLATE_TITLE)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title
