import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.gis.db import models as gis_models
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from portal.roles import PUBLIC_ROLES, STAFF_ROLES, AgencyKind, Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


class Agency(models.Model):
    """A police force or a prosecuting office: the tenant everything else is scoped to."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=AgencyKind.choices)
    jurisdiction = gis_models.MultiPolygonField(srid=4326, null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=Role.AGENCY_ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractUser):
    """A person: staff of one agency, or a resident/business owner who belongs to none."""

    # Removing inherited fields is how Django's docs drop them; the stubs type them as str.
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    email_verified_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    # Failed logins before this instant no longer count toward a lockout.
    failures_reset_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    # Email-based, so not a subclass of auth's username-based UserManager the stubs expect.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                name="user_staff_has_agency_public_has_none",
                condition=(
                    Q(role__in=sorted(STAFF_ROLES), agency__isnull=False)
                    | Q(role__in=sorted(PUBLIC_ROLES), agency__isnull=True)
                    | Q(is_superuser=True)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        # AbstractUser's joins first_name and last_name, which this model drops ("None None").
        return self.full_name

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def label(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email


class AuditEvent(models.Model):
    """One append-only, hash-chained record of something done (or refused) in Canvass."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"

    seq = models.BigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(db_index=True, editable=False)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=300)
    actor_role = models.CharField(max_length=20, blank=True)
    actor_agency = models.CharField(max_length=200, blank=True)
    # The tenant the event belongs to: who may read it in the audit log.
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    case_ref = models.CharField(max_length=100, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "action", "at"]),
            models.Index(fields=["agency", "at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"


class AuditCheckpoint(models.Model):
    """The audit chain's head (sequence, hash, time) on a day, signed with an agency's key.

    The chain is one log for the whole deployment, so every agency signs the same head; each
    agency publishes its own checkpoints (portal.checkpoints) for outsiders to keep.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    # The UTC day it stands for: the daily job takes one per agency and day.
    day = models.DateField()
    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    head_at = models.DateTimeField()
    signed_at = models.DateTimeField()
    # The agency's Ed25519 key (evidence.disclosure.signing: the key its receipts are signed
    # with), as published at receipts:public_key.
    key_id = models.CharField(max_length=64)
    public_key = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    # The exact statement signed (its canonical JSON is what the signature covers), kept as
    # signed: an agency renamed later must not change what an old checkpoint says.
    body = models.JSONField()

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "day"], name="audit_checkpoint_one_per_agency_and_day"
            )
        ]

    def __str__(self) -> str:
        return f"checkpoint of {self.agency_id} at seq {self.seq}"
