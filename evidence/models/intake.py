"""Upload grants and the uploads made under them: how files reach the store."""

import uuid

from django.db import models
from django.db.models import Q

from portal.models import Agency, User


class UploadGrant(models.Model):
    """Permission to write: which flow, how many files, how large, which types, until when."""

    class Flow(models.TextChoices):
        STAFF_UPLOAD = "staff_upload", "Staff upload"
        TIP = "tip", "Tip"
        FOOTAGE_REQUEST = "footage_request", "Footage request"
        BODYCAM = "bodycam", "Body-worn camera"
        LIVE_CLIP = "live_clip", "Live relay clip (secondary)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow = models.CharField(max_length=20, choices=Flow.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    # A staff-session grant is usable only by this user's session; others carry a secret.
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    secret_hash = models.CharField(max_length=64, blank=True)
    source_ref = models.CharField(max_length=64, blank=True)
    max_files = models.PositiveIntegerField()
    max_file_bytes = models.BigIntegerField()
    # MIME prefixes the files may have once their content is inspected, e.g. ["video/", "image/"].
    media_types = models.JSONField(default=list)
    files_started = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_flow_display()} grant {self.id}"


class Upload(models.Model):
    """One tus upload: its state lives here, its bytes in the staging directory."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Complete"
        TERMINATED = "terminated", "Terminated"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(UploadGrant, on_delete=models.PROTECT, related_name="uploads")
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                name="upload_offset_within_length",
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")),
            )
        ]

    def __str__(self) -> str:
        return f"upload {self.id} ({self.offset}/{self.length})"
