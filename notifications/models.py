from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from notifications.kinds import Kind


class Notification(models.Model):
    """One thing a person should know about: shown in-app, emailed, or both, as they chose."""

    class Email(models.TextChoices):
        NONE = "", "Not emailed"
        PENDING = "pending", "To be emailed"
        SENT = "sent", "Emailed"
        FAILED = "failed", "Emailing failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # Rendered in the recipient's language when it was made: plain text, never HTML.
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=500)
    # Set for a notification that must be sent at most once (a request's "due soon").
    dedupe_key = models.CharField(max_length=120, blank=True)
    in_app = models.BooleanField(default=True)
    email = models.CharField(max_length=10, choices=Email.choices, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                name="notif_unread_idx",
                condition=Q(in_app=True, read_at__isnull=True),
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notif_once_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class NotificationPreferences(models.Model):
    """What one person turned off, and the language their emails are written in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    email_off = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    in_app_off = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    # Blank: the site's default language.
    language = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"
