"""Cases, their members and the items filed in them."""

# The many-to-many annotations below name models defined later in this module.
from __future__ import annotations

import uuid

from django.contrib.gis.db import models as gis_models
from django.db import models

from evidence.models.items import EvidenceItem
from portal.models import Agency, User


class Case(models.Model):
    """An investigation: evidence from every source, its members, and what was shared of it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="cases")
    number = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    incident_time = models.DateTimeField(null=True, blank=True)
    incident_point = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    incident_area = gis_models.MultiPolygonField(geography=True, srid=4326, null=True, blank=True)
    lead = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    members: models.ManyToManyField[User, CaseMember] = models.ManyToManyField(
        User, through="CaseMember", through_fields=("case", "user"), related_name="cases"
    )
    items: models.ManyToManyField[EvidenceItem, CaseItem] = models.ManyToManyField(
        EvidenceItem, through="CaseItem", through_fields=("case", "item"), related_name="cases"
    )
    created_by_label = models.CharField(max_length=300)
    # The last exhibit number given out in this case: numbers are never reused, so an item
    # taken out and put back gets a new one and no exhibit ever changes its meaning.
    last_exhibit_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "number"], name="case_number_unique_per_agency"
            )
        ]
        # The case list (newest first) and the dashboard's open cases (latest changed first)
        # read the first rows of these instead of sorting every case of the agency.
        indexes = [
            models.Index(fields=["agency", "-created_at"], name="case_agency_created"),
            models.Index(fields=["agency", "status", "-updated_at"], name="case_agency_status_upd"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class CaseMember(models.Model):
    """A staff user of the case's agency who works the case (and so may see it)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    added_by_label = models.CharField(max_length=300)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at"]
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_member_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.case_id}"


class CaseItem(models.Model):
    """An evidence item linked to a case (from any source)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_items")
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="case_items")
    # Given when the item joins the case (1, 2, 3 ... per case) and kept: the name the item
    # goes by in the case page and in the case package's file names.
    exhibit_number = models.PositiveIntegerField(editable=False)
    added_by_label = models.CharField(max_length=300)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["exhibit_number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "item"], name="case_item_unique"),
            models.UniqueConstraint(
                fields=["case", "exhibit_number"], name="case_item_exhibit_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} in {self.case_id}"
