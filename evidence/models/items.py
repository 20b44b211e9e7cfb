"""Evidence items, the copies made from them, and their integrity checks."""

import uuid

from django.contrib.gis.db import models as gis_models
from django.db import models

from evidence.models.intake import Upload
from portal.models import Agency, User


class Source(models.TextChoices):
    TIP = "tip", "Tip"
    FOOTAGE_REQUEST = "footage_request", "Footage request"
    BODYCAM = "bodycam", "Body-worn camera"
    LIVE_CLIP = "live_clip", "Live relay clip (secondary)"
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
    # Signer, claim generator, trust, validation errors or why no check ran (evidence/processing/provenance.py).
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
            # A tip's or a footage request's files (source_ref is the tip's reference or the
            # request's id): the tip inbox counts them for each row it shows.
            models.Index(fields=["source", "source_ref"], name="evidence_source_ref"),
            # The evidence list's search (icontains, i.e. UPPER(col::text) LIKE) has trigram
            # indexes on those expressions, made by SQL in migration 0012: Django writes an
            # OpClass over a function without the parentheses PostgreSQL needs.
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
        # Face redaction (portal/redact.py): the masked copy and its recipe (the JSON sidecar).
        REDACTED_VIDEO = "redacted_video", "Redacted video"
        REDACTED_IMAGE = "redacted_image", "Redacted image"
        REDACTION_RECIPE = "redaction_recipe", "Redaction recipe"

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
    # SHA-256 of the decoded pictures (ffmpeg's hash muxer over the video stream; an image's
    # RGB pixels): unlike `sha256` it survives a container rewrite. Redacted copies only.
    frame_sha256 = models.CharField(max_length=64, blank=True)
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


class Redaction(models.Model):
    """One face-redaction job on an item: asked for by a person, run on the media queue.

    Two phases: the analysis (queued -> running -> review) leaves a draft recipe in `draft`
    for a person to review in the editor; once someone allowed to redact approves it, the job
    is queued again and the render (queued -> running -> done) makes the copy from the
    original and that recipe. A job started already approved (`approved_by` given to
    redaction_start) runs both phases in one go.

    Nothing of it is recorded as a derivative until the end: the redacted copy and its recipe
    are stored, and their Derivative rows and custody events written, in one transaction.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        REVIEW = "review", "Waiting for review"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Fill(models.TextChoices):
        BLUR = "blur", "Blur (internal use only)"
        SOLID = "solid", "Solid (for anything released)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="redactions")
    fill = models.CharField(max_length=10, choices=Fill.choices)
    manual_boxes = models.JSONField(default=list, blank=True)
    mute_ranges = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    state_reason = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    cancel_requested = models.BooleanField(default=False)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The draft recipe (portal/redact.py, RECIPE_VERSION 2) between the analysis and the
    # approval, with the reviewer's edits; who last saved edits to it, and when it was approved.
    draft = models.JSONField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # The copy and its recipe go with the item's other derivatives when it is deleted (retention
    # or a two-person deletion); the job stays as the record that a copy was made.
    output = models.OneToOneField(
        Derivative, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipe = models.OneToOneField(
        Derivative, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"redaction {self.id} of {self.item_id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED, self.State.CANCELLED)
