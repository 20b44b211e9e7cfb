import uuid

from django.contrib.gis.db import models as gis_models
from django.db import models
from django.db.models import Q

from portal.models import Agency, User


class Source(models.TextChoices):
    TIP = "tip", "Tip"
    FOOTAGE_REQUEST = "footage_request", "Footage request"
    BODYCAM = "bodycam", "Body-worn camera"
    LIVE_CLIP = "live_clip", "Live clip"
    STAFF_UPLOAD = "staff_upload", "Staff upload"


class MediaKind(models.TextChoices):
    VIDEO = "video", "Video"
    IMAGE = "image", "Image"
    AUDIO = "audio", "Audio"
    OTHER = "other", "Other"


class ValueSource(models.TextChoices):
    """Where a capture time or a location came from, most to least trustworthy."""

    DEVICE_METADATA = "device_metadata", "Device metadata"
    FILE_METADATA = "file_metadata", "File metadata"
    UPLOADER_CLAIM = "uploader_claim", "Uploader's claim"
    TIME_RECEIVED = "time_received", "Time received"


class ProvenanceStatus(models.TextChoices):
    """What the file's C2PA manifest says; "valid" means unaltered since signing, not trusted."""

    VALID = "valid", "Valid"
    INVALID = "invalid", "Invalid"
    NONE = "none", "None"
    UNCHECKED = "unchecked", "Unchecked"


class Confidence(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class UploadGrant(models.Model):
    """Permission to write: which flow, how many files, how large, which types, until when."""

    class Flow(models.TextChoices):
        STAFF_UPLOAD = "staff_upload", "Staff upload"
        TIP = "tip", "Tip"
        FOOTAGE_REQUEST = "footage_request", "Footage request"
        BODYCAM = "bodycam", "Body-worn camera"

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


class EvidenceItem(models.Model):
    """One piece of evidence: an immutable original plus what we learned about it."""

    class State(models.TextChoices):
        RECEIVING = "receiving", "Receiving"
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        UNPLAYABLE = "unplayable", "Unplayable"
        REJECTED = "rejected", "Rejected"
        # Processing kept failing (MEDIA_MAX_ATTEMPTS runs); the original is kept, the reason says why.
        FAILED = "failed", "Failed"
        # A tombstone: original and derivatives removed from storage; hash, size and custody kept.
        DELETED = "deleted", "Deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="evidence")
    source = models.CharField(max_length=20, choices=Source.choices)
    source_ref = models.CharField(max_length=64, blank=True)
    upload = models.OneToOneField(
        Upload, null=True, blank=True, on_delete=models.PROTECT, related_name="item"
    )
    original_key = models.CharField(max_length=300, unique=True)
    original_filename = models.CharField(max_length=255, blank=True)
    declared_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    declared_checksum = models.CharField(max_length=120, blank=True)
    media_type = models.CharField(max_length=100, blank=True)
    media_kind = models.CharField(max_length=10, choices=MediaKind.choices, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    state_reason = models.TextField(blank=True)
    capture_time = models.DateTimeField(null=True, blank=True)
    capture_time_source = models.CharField(max_length=20, choices=ValueSource.choices, blank=True)
    capture_time_confidence = models.CharField(
        max_length=10, choices=Confidence.choices, blank=True
    )
    # The metadata tag the capture time was read from (e.g. "DateTimeDigitized" when a photo
    # has no DateTimeOriginal); empty for an uploader's claim or the time received.
    capture_time_tag = models.CharField(max_length=40, blank=True)
    location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    location_source = models.CharField(max_length=20, choices=ValueSource.choices, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    provenance_status = models.CharField(
        max_length=10, choices=ProvenanceStatus.choices, default=ProvenanceStatus.UNCHECKED
    )
    # Signer, claim generator, trust, validation errors or why no check ran (evidence/provenance.py).
    provenance_details = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=300)
    received_at = models.DateTimeField()
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # Runs of the pipeline started for this item; past MEDIA_MAX_ATTEMPTS it ends `failed`.
    processing_attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The claim of the run processing the item lasts until then; the run renews it while it
    # works, so a claim left to run out belongs to a dead worker (see pipeline.requeue_stalled).
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    # Never handed to a prosecuting office (e.g. an informant's identity); the reason says why.
    do_not_disclose = models.BooleanField(default=False)
    do_not_disclose_reason = models.TextField(blank=True)
    retention_category = models.ForeignKey(
        "RetentionCategory", null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    legal_hold = models.BooleanField(default=False)
    legal_hold_reason = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["agency", "-received_at"]),
            models.Index(fields=["agency", "state"]),
            models.Index(fields=["last_verified_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_media_kind_display() or 'Item'} {self.id}"


class Derivative(models.Model):
    """A copy made from an original (proxy, HLS, poster, preview), with how it was made."""

    class Kind(models.TextChoices):
        PROXY_MP4 = "proxy_mp4", "Proxy MP4"
        HLS_PLAYLIST = "hls_playlist", "HLS playlist"
        HLS_SEGMENT = "hls_segment", "HLS segment"
        POSTER = "poster", "Poster"
        IMAGE_PREVIEW = "image_preview", "Image preview"
        AUDIO_PROXY = "audio_proxy", "Audio proxy"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="derivatives")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=300, unique=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    media_type = models.CharField(max_length=100)
    command = models.JSONField(default=list)
    tool_versions = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["item", "kind", "name"], name="derivative_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} of {self.item_id}"


class IntegrityCheck(models.Model):
    """One re-hash of an original and what it found."""

    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="checks")
    checked_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    sha256_found = models.CharField(max_length=64, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"check of {self.item_id}: {'ok' if self.ok else 'MISMATCH'}"


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
    members = models.ManyToManyField(
        User, through="CaseMember", through_fields=("case", "user"), related_name="cases"
    )
    items = models.ManyToManyField(
        EvidenceItem, through="CaseItem", through_fields=("case", "item"), related_name="cases"
    )
    created_by_label = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "number"], name="case_number_unique_per_agency"
            )
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
    added_by_label = models.CharField(max_length=300)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at"]
        constraints = [models.UniqueConstraint(fields=["case", "item"], name="case_item_unique")]

    def __str__(self) -> str:
        return f"{self.item_id} in {self.case_id}"


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
    items = models.ManyToManyField(
        EvidenceItem, through="ShareItem", through_fields=("share", "item"), related_name="+"
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.VIEW)
    reshare_allowed = models.BooleanField(default=False)
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


# Receipt signing keys live in their own module; imported here so Django registers the model.
# The audit log's Merkle leaves (custody proofs); imported here so Django registers the model.
from evidence.custody_leaves import AuditLeaf  # noqa: E402, F401
from evidence.signing import SigningKey  # noqa: E402, F401
