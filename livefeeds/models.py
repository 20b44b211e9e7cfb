"""Live feeds: what the relay carries (publishes) and who watches it (viewing sessions)."""

import uuid

from django.db import models
from django.db.models import Q

from devices.models import Alert, Device
from portal.models import Agency, User
from registry.models import Camera


class Publish(models.Model):
    """One stream pushed into the relay and accepted by on_publish: a body camera going live,
    or the relay manager remuxing a CCTV camera; open until on_publish_done (or a refusal)."""

    class App(models.TextChoices):
        LIVE = "live", "Body camera"
        CAM = "cam", "CCTV camera"

    app = models.CharField(max_length=8, choices=App.choices)
    stream = models.CharField(max_length=64)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="publishes"
    )
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # nginx-rtmp's id of the connection, so a late on_publish_done closes only its own row.
    client_id = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # done (the publisher stopped), refused (on_update said no: recording stopped).
    end_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["app", "stream", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.app}/{self.stream} since {self.started_at.isoformat()}"


class ReasonCategory(models.TextChoices):
    """Why a live view was opened, from a fixed list (the transparency page counts them);
    the free-text reason says the rest."""

    OFFICER_SAFETY = "officer_safety", "Officer safety"
    INCIDENT = "incident", "Incident in progress"
    INVESTIGATION = "investigation", "Investigation of a case"
    MISSING_PERSON = "missing_person", "Missing or vulnerable person"
    OFFICER_REQUESTED = "officer_requested", "Officer asked to be watched (Watch me)"
    OTHER = "other", "Other"
    # Views opened before the category existed; never offered.
    UNSPECIFIED = "unspecified", "Not recorded"


# What a viewer may choose.
REASON_CATEGORIES_OFFERED = [c for c in ReasonCategory.choices if c[0] != "unspecified"]


class ViewSession(models.Model):
    """Someone watching one feed: why, for which case, until when. Its token (kept as a digest)
    opens the feed's HLS path while the session is neither ended, revoked nor expired."""

    class End(models.TextChoices):
        STOPPED = "stopped", "Stopped by the viewer"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    viewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="live_views")
    app = models.CharField(max_length=8, choices=Publish.App.choices)
    stream = models.CharField(max_length=64)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="view_sessions"
    )
    # Or a resident's or business's camera (app "cam"): exactly one of device and camera.
    camera = models.ForeignKey(
        Camera, null=True, blank=True, on_delete=models.PROTECT, related_name="view_sessions"
    )
    # Who wore the body camera when the session started: their page lists who watched.
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="watched_by"
    )
    # The officer's "Watch me" alert that opened it, if one did.
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.PROTECT, related_name="view_sessions"
    )
    reason = models.CharField(max_length=300)
    reason_category = models.CharField(
        max_length=20, choices=ReasonCategory.choices, default=ReasonCategory.UNSPECIFIED
    )
    case_ref = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end = models.CharField(max_length=10, choices=End.choices, blank=True)
    ended_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["app", "stream", "ended_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("started_at")),
                name="view_session_expires_after_it_starts",
            ),
            models.CheckConstraint(
                condition=(Q(device__isnull=False) & Q(camera__isnull=True))
                | (Q(device__isnull=True) & Q(camera__isnull=False)),
                name="view_session_of_a_device_or_a_camera",
            ),
        ]

    def __str__(self) -> str:
        return f"view of {self.app}/{self.stream} by user {self.viewer_id}"

    @property
    def path_prefix(self) -> str:
        return f"{self.app}/{self.stream}"
