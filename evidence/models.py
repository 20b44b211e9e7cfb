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
    processed_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
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
