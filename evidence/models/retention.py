"""Retention categories and two-person deletion requests."""

import uuid

from django.db import models
from django.db.models import Q

from evidence.models.items import EvidenceItem
from portal.models import Agency, User


class RetentionCategory(models.Model):
    """How long an agency keeps a kind of evidence; no days means indefinitely."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="retention_categories"
    )
    name = models.CharField(max_length=100)
    days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "name"], name="retention_category_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({f'{self.days} days' if self.days is not None else 'indefinite'})"


class DeletionRequest(models.Model):
    """The first of two people asking to delete an item; a different person approves."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(
        EvidenceItem, on_delete=models.PROTECT, related_name="deletion_requests"
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(state="pending"),
                name="deletion_request_one_pending_per_item",
            )
        ]

    def __str__(self) -> str:
        return f"deletion of {self.item_id} ({self.state})"
