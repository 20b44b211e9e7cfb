"""Shares with prosecuting offices, reshare links, and the keys that sign receipts."""

# The many-to-many annotation below names a model defined later in this module.
from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from evidence.models.cases import Case
from evidence.models.items import EvidenceItem
from portal.models import Agency, User


class Share(models.Model):
    """A case (all its items or a subset) handed to a prosecuting office, until expiry or revocation.

    The items shared are listed in ShareItem when the share is made: items added to the case
    later are not disclosed without a new share.
    """

    class Level(models.TextChoices):
        VIEW = "view", "View only"
        DOWNLOAD = "download", "View and download"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="shares")
    recipient_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    # Empty: every prosecutor of the recipient office; otherwise only these.
    recipients = models.ManyToManyField(User, blank=True, related_name="+")
    all_items = models.BooleanField(default=True)
    items: models.ManyToManyField[EvidenceItem, ShareItem] = models.ManyToManyField(
        EvidenceItem, through="ShareItem", through_fields=("share", "item"), related_name="+"
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.VIEW)
    reshare_allowed = models.BooleanField(default=False)
    # Redacted copies only: each item goes out as its releasable redacted copy
    # (evidence.selectors.releasable_redaction) or is withheld; its original never leaves.
    require_redacted = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_by_label = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=300, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient_agency", "expires_at"])]

    def __str__(self) -> str:
        return f"share {self.id} of {self.case_id}"


class ShareItem(models.Model):
    """One item disclosed by a share."""

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="share_items")
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["share", "item"], name="share_item_unique")]

    def __str__(self) -> str:
        return f"{self.item_id} in share {self.share_id}"


class ShareLink(models.Model):
    """A prosecutor's reshare (e.g. to defence counsel): a download link with expiry and a limit.

    Only the SHA-256 of the link's token is kept; the token is shown once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    share = models.ForeignKey(Share, on_delete=models.PROTECT, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    recipient_label = models.CharField(max_length=300)
    expires_at = models.DateTimeField()
    max_downloads = models.PositiveIntegerField()
    download_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="share_link_count_within_limit",
                condition=Q(download_count__lte=models.F("max_downloads")),
            )
        ]

    def __str__(self) -> str:
        return f"link {self.id} for {self.recipient_label}"


class SigningKey(models.Model):
    """An agency's Ed25519 key pair for signing receipts; the private half sealed, never plain."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="signing_keys")
    key_id = models.CharField(max_length=32, unique=True)
    public_key = models.CharField(max_length=64)
    private_key_sealed = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "evidence"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency"],
                condition=Q(retired_at__isnull=True),
                name="signing_key_one_active_per_agency",
            )
        ]

    def __str__(self) -> str:
        return f"signing key {self.key_id} of {self.agency_id}"
