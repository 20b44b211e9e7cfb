import uuid

from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from portal.models import Agency, User, validate_time_zone


class CameraKind(models.TextChoices):
    DOORBELL = "doorbell", _("Doorbell")
    FIXED = "fixed", _("Fixed CCTV")
    PTZ = "ptz", _("PTZ (pan-tilt-zoom)")
    OTHER = "other", _("Other")


class Participation(models.TextChoices):
    """How far an owner takes part, least to most."""

    LOCATION_ONLY = "location_only", _("Location only")
    CONTACT_ME = "contact_me", _("Contact me")
    UPLOAD_ON_REQUEST = "upload_on_request", _("Will upload on request")
    LIVE_FEED_LINKABLE = "live_feed_linkable", _("Live feed linkable")


class Placement(models.TextChoices):
    OUTDOOR = "outdoor", _("Outdoor")
    INDOOR = "indoor", _("Indoor")


class ContactMethod(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    NONE = "none", _("Do not contact me")


# "Footage kept at least N days" filter steps; the map's cell counts are kept per step.
RETENTION_STEPS = (1, 3, 7, 14, 30)


def retention_bucket(retention_days: int) -> int:
    """How many RETENTION_STEPS a camera's retention reaches (0..len(RETENTION_STEPS))."""
    return sum(1 for step in RETENTION_STEPS if retention_days >= step)


class Camera(models.Model):
    """A camera a resident or business registered: where it is, what it sees, how long it keeps footage."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="cameras")
    kind = models.CharField(max_length=20, choices=CameraKind.choices)
    name = models.CharField(max_length=120)
    location = gis_models.PointField(geography=True, srid=4326)
    # The same point in Web Mercator, kept at write time so map clustering is a plain index scan.
    location_merc = gis_models.PointField(srid=3857)
    direction_deg = models.PositiveSmallIntegerField(help_text="0 = north, clockwise")
    fov_angle_deg = models.PositiveSmallIntegerField()
    range_m = models.PositiveSmallIntegerField()
    # The field-of-view cone, computed by the service from location, direction, angle and range.
    fov = gis_models.PolygonField(geography=True, srid=4326)
    retention_days = models.PositiveSmallIntegerField()
    records_always = models.BooleanField(default=True)
    records_from = models.TimeField(null=True, blank=True)
    records_until = models.TimeField(null=True, blank=True)
    placement = models.CharField(
        max_length=10, choices=Placement.choices, default=Placement.OUTDOOR
    )
    participation = models.CharField(max_length=20, choices=Participation.choices)
    is_public = models.BooleanField(default=False)
    contact_method = models.CharField(
        max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    contact_phone = models.CharField(max_length=40, blank=True)
    quiet_from = models.TimeField(null=True, blank=True)
    quiet_until = models.TimeField(null=True, blank=True)
    # Retention ends at a local wall-clock time: "7 days" crosses DST changes in this zone.
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # Agencies whose jurisdiction covers the camera (private cameras are visible to these only).
    jurisdiction_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Soft delete: the row stays so past requests and evidence keep their link.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            GinIndex(fields=["jurisdiction_ids"], name="camera_jurisdictions_gin"),
            models.Index(fields=["owner", "deleted_at"], name="camera_owner_live"),
        ]
        constraints = [
            models.CheckConstraint(
                name="camera_direction_range", condition=Q(direction_deg__lte=359)
            ),
            models.CheckConstraint(
                name="camera_fov_angle_range",
                condition=Q(fov_angle_deg__gte=1, fov_angle_deg__lte=360),
            ),
            models.CheckConstraint(
                name="camera_range_m_range", condition=Q(range_m__gte=1, range_m__lte=500)
            ),
            models.CheckConstraint(
                name="camera_retention_range",
                condition=Q(retention_days__gte=1, retention_days__lte=3650),
            ),
            models.CheckConstraint(
                name="camera_hours_when_not_always",
                condition=Q(records_always=True)
                | Q(records_from__isnull=False, records_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.paused_at is None and self.deleted_at is None

    @property
    def contactable(self) -> bool:
        return (
            self.participation != Participation.LOCATION_ONLY
            and self.contact_method != ContactMethod.NONE
        )


class SearchReasonCategory(models.TextChoices):
    """Why a registry search was run, from a fixed list (counted on the transparency page)."""

    VIOLENT_CRIME = "violent_crime", _("Violent crime")
    PROPERTY_CRIME = "property_crime", _("Property crime")
    MISSING_PERSON = "missing_person", _("Missing person")
    TRAFFIC_COLLISION = "traffic_collision", _("Traffic collision")
    OTHER = "other", _("Other")
    # Only searches run before categories existed: never offered, never accepted.
    UNSPECIFIED = "unspecified", _("Not recorded (searches before categories)")


# The categories a searcher chooses from (every one but UNSPECIFIED).
SEARCH_REASON_CHOICES = [
    (value, label)
    for value, label in SearchReasonCategory.choices
    if value != SearchReasonCategory.UNSPECIFIED
]


class CameraSearch(models.Model):
    """One "cameras near an incident" search by an investigator: what was asked and what it returned."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=300)
    case_number = models.CharField(max_length=100)
    reason_category = models.CharField(
        max_length=20,
        choices=SearchReasonCategory.choices,
        default=SearchReasonCategory.UNSPECIFIED,
    )
    reason = models.TextField(max_length=2000)
    incident = gis_models.PointField(geography=True, srid=4326)
    address = models.CharField(max_length=300, blank=True)
    area = gis_models.PolygonField(geography=True, srid=4326, null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    radius_m = models.PositiveIntegerField(default=300)
    created_at = models.DateTimeField(auto_now_add=True)
    # Every camera the search returned, best first (also in the audit row's details).
    camera_ids = ArrayField(models.UUIDField(), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # No index on camera_ids: "who looked" reads the audit log, and a GIN index here cost
        # up to 500 entries written by every search for a question nobody asks.
        indexes = [
            models.Index(fields=["agency", "created_at"], name="camerasearch_agency_at"),
        ]
        constraints = [
            models.CheckConstraint(
                name="camerasearch_window_order",
                condition=Q(window_end__gt=models.F("window_start")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_number} at {self.created_at:%Y-%m-%d %H:%M}"


class CameraCell(models.Model):
    """Pre-counted active cameras per map grid cell, so low-zoom maps never scan every camera.

    `scope` 0 counts public cameras (the public map); an agency id counts every camera in that
    agency's jurisdiction (the investigators' map). Kept by the camera services in the same
    transaction as the camera change; `cells_rebuild` recomputes them after bulk loads.
    """

    scope = models.BigIntegerField()
    level = models.PositiveSmallIntegerField()
    cx = models.IntegerField()
    cy = models.IntegerField()
    kind = models.CharField(max_length=20, choices=CameraKind.choices)
    participation = models.CharField(max_length=20, choices=Participation.choices)
    retention_bucket = models.PositiveSmallIntegerField()
    count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "scope",
                    "level",
                    "cx",
                    "cy",
                    "kind",
                    "participation",
                    "retention_bucket",
                ],
                name="cameracell_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.level}/{self.cx}/{self.cy}: {self.count}"


# --- footage requests (asking owners for footage; answered through a no-account link) -----


class RegistryPolicy(models.Model):
    """An agency's registry settings: the footage window cap and what owners see of officers."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="registry_policy")
    show_officer_names_to_owners = models.BooleanField(default=False)
    max_window_minutes = models.PositiveIntegerField(default=120)

    class Meta:
        verbose_name_plural = "registry policies"

    def __str__(self) -> str:
        return f"Registry policy of {self.agency}"


class FootageRequest(models.Model):
    """An investigator's request to camera owners for footage of one time window."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting a supervisor's approval"
        REFUSED = "refused", "Refused by a supervisor"
        SENT = "sent", _("Sent")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    search = models.ForeignKey(
        CameraSearch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The case is referred to by number until the cases app links requests to Case objects.
    case_number = models.CharField(max_length=100, db_index=True)
    reason = models.TextField()
    message = models.TextField(blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    deadline = models.DateTimeField()
    max_files = models.PositiveIntegerField(default=20)
    max_file_bytes = models.BigIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["agency", "-created_at"]),
            # The public footage log's newest sent requests (transparency).
            models.Index(fields=["agency", "status", "-sent_at"], name="footagerequest_sent"),
            # Requests still waiting for answers (the dashboard's card and the header's badge).
            models.Index(fields=["agency", "status", "deadline"], name="footagerequest_due"),
            # The case page finds a case's requests by number, case-insensitively
            # (case_number__iexact), which reads every request without it.
            models.Index("agency", Upper("case_number"), name="footage_req_agency_case_upper"),
        ]
        constraints = [
            models.CheckConstraint(
                name="footage_request_window_ordered",
                condition=Q(window_end__gt=models.F("window_start")),
            )
        ]

    def __str__(self) -> str:
        return f"Footage request {self.case_number} ({self.id})"


class FootageRequestRecipient(models.Model):
    """One owner asked in one request: one email, one link, the reminders sent to them."""

    class EmailStatus(models.TextChoices):
        PENDING = "pending", _("Not sent yet")
        SENT = "sent", _("Sent")
        FAILED = "failed", "Sending failed"

    request = models.ForeignKey(FootageRequest, on_delete=models.CASCADE, related_name="recipients")
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(null=True, blank=True)
    # The last email to this owner (request, reminder or resend): a failure is shown to the
    # agency with a resend button instead of being lost.
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_error = models.CharField(max_length=200, blank=True)
    email_at = models.DateTimeField(null=True, blank=True)
    deadline_reminder_at = models.DateTimeField(null=True, blank=True)
    overwrite_reminder_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "owner"], name="footage_recipient_once")
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} in {self.request_id}"


class FootageRequestLink(models.Model):
    """A link token emailed to a recipient; only its SHA-256 is kept. Reminders add another."""

    recipient = models.ForeignKey(
        FootageRequestRecipient, on_delete=models.CASCADE, related_name="links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"link of {self.recipient_id}"


class FootageRequestCamera(models.Model):
    """One camera in a request and what its owner answered for it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not sent yet")
        SENT = "sent", _("Sent")
        OPENED = "opened", _("Opened")
        UPLOADED = "uploaded", _("Uploaded")
        NO_FOOTAGE = "no_footage", _("No footage")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired (no answer)")

    ANSWERED = (Status.UPLOADED, Status.NO_FOOTAGE, Status.DECLINED)

    request = models.ForeignKey(FootageRequest, on_delete=models.CASCADE, related_name="cameras")
    recipient = models.ForeignKey(
        FootageRequestRecipient, on_delete=models.CASCADE, related_name="cameras"
    )
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="footage_requests")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "camera"], name="footage_camera_once")
        ]

    def __str__(self) -> str:
        return f"camera {self.camera_id} in {self.request_id}: {self.status}"


class LiveMode(models.TextChoices):
    """When an owner lets an agency watch their camera live."""

    NEVER = "never", _("Never")
    ASK = "ask", _("Ask me each time")
    INCIDENT = "incident", _("During an incident near my camera")
    ALWAYS = "always", _("Always, for this agency")


class FeedTest(models.TextChoices):
    """The outcome of the owner's last "Test connection"."""

    OK = "ok", _("Connected")
    UNREACHABLE = "unreachable", _("Camera unreachable")
    WRONG_CREDENTIALS = "wrong_credentials", _("Wrong user name or password")
    NOT_H264 = "not_h264", _("Not H.264")
    FAILED = "failed", _("Failed")


class CameraFeed(models.Model):
    """A camera's live stream as its owner linked it, and the owner's live policy for it.

    The RTSP address and credentials are sealed (portal.sealing, the camera's id as context):
    only the relay and the owner's test use them, and no page shows the credentials back.
    """

    camera = models.OneToOneField(
        Camera, on_delete=models.CASCADE, primary_key=True, related_name="feed"
    )
    source_sealed = models.TextField(blank=True)
    has_credentials = models.BooleanField(default=False)
    video_codec = models.CharField(max_length=20, blank=True)
    audio_codec = models.CharField(max_length=20, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_state = models.CharField(max_length=20, choices=FeedTest.choices, blank=True)
    test_detail = models.CharField(max_length=300, blank=True)
    mode = models.CharField(max_length=10, choices=LiveMode.choices, default=LiveMode.NEVER)
    # "Always" names one agency; the other modes serve the agencies covering the camera.
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    incident_distance_m = models.PositiveIntegerField(default=200)
    paused_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="camerafeed_incident_distance_range",
                condition=Q(incident_distance_m__gte=10, incident_distance_m__lte=5000),
            ),
            models.CheckConstraint(
                name="camerafeed_always_names_agency",
                condition=~Q(mode="always") | Q(agency__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Live feed of {self.camera_id}"

    @property
    def has_source(self) -> bool:
        return bool(self.source_sealed)


class LiveAsk(models.Model):
    """An agency asked to watch a camera live; its owner allows it for a time, or declines,
    through the emailed link (only the token's SHA-256 is kept)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the owner")
        ALLOWED = "allowed", _("Allowed")
        DECLINED = "declined", _("Declined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="live_asks")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    requested_by_label = models.CharField(max_length=300)
    reason = models.TextField(max_length=2000)
    case_number = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The link answers until then; a later answer is refused (the agency asks again).
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    allowed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["camera", "agency", "status"], name="liveask_camera_agency"),
        ]
        constraints = [
            models.CheckConstraint(
                name="liveask_allowed_has_until",
                condition=~Q(status="allowed") | Q(allowed_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Live ask for {self.camera_id} ({self.status})"
