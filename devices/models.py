"""Body-worn cameras: the devices, who carries them, the training that allows it, their
credentials, the recordings they announce and offload, the GPS tracks of those recordings, and
the commands waiting for them."""

import uuid

from django.contrib.gis.db import models as gis_models
from django.db import models
from django.db.models import Q

from evidence.models import EvidenceItem
from portal.models import Agency, User


class Device(models.Model):
    """One body-worn camera of an agency."""

    class Status(models.TextChoices):
        IN_SERVICE = "in_service", "In service"
        IN_REPAIR = "in_repair", "In repair"
        RETIRED = "retired", "Retired"

    class State(models.TextChoices):
        IDLE = "idle", "Idle"
        BUFFERING = "buffering", "Buffering"
        RECORDING = "recording", "Recording"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="devices")
    serial = models.CharField(max_length=64)
    make = models.CharField(max_length=64)
    model = models.CharField(max_length=64)
    firmware = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_SERVICE)
    # What the last heartbeat said; the location only while recording (the privacy rule).
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    battery_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    storage_free_bytes = models.BigIntegerField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    last_location_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "serial"], name="device_serial_per_agency")
        ]
        ordering = ["serial"]

    def __str__(self) -> str:
        return f"{self.make} {self.model} {self.serial}"


class TrainingRecord(models.Model):
    """An officer completed body-camera training; current until it expires."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="bwc_training")
    course = models.CharField(max_length=200)
    completed_on = models.DateField()
    expires_on = models.DateField()
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-expires_on"]

    def __str__(self) -> str:
        return f"{self.course} (until {self.expires_on})"


class DeviceAssignment(models.Model):
    """A device checked out to an officer for a shift, and checked in again: the history that
    says who wore the camera when a recording started."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="assignments")
    officer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="bwc_assignments")
    checked_out_at = models.DateTimeField()
    checked_out_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The CAD unit (call sign) the officer rides as this shift: how a dispatch finds the camera.
    unit = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-checked_out_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(checked_in_at__isnull=True),
                name="one_open_assignment_per_device",
            ),
            models.UniqueConstraint(
                fields=["officer"],
                condition=Q(checked_in_at__isnull=True),
                name="one_open_assignment_per_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"device {self.device_id} to user {self.officer_id}"


class DeviceCredential(models.Model):
    """The bearer credential a device calls the device API with; only its digest is kept.
    A device has at most one live credential: rotating revokes the old one."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="credentials")
    token_hash = models.CharField(max_length=64, unique=True)
    # The digest of the live stream key derived from the token (devices.auth.stream_key_for):
    # it rotates and is revoked with the credential. Empty for credentials issued before it.
    stream_key_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_credential_per_device",
            )
        ]

    def __str__(self) -> str:
        return f"credential {self.pk} of device {self.device_id}"


class Recording(models.Model):
    """A recording a device announced by its manifest, then offloads; its evidence item comes
    when the last byte arrives. Times are the server's; the device's clock at each event is
    kept beside them in `device_clock`, so skew is visible, never corrected away."""

    class Status(models.TextChoices):
        ANNOUNCED = "announced", "Announced"
        TRANSFERRING = "transferring", "Transferring"
        COMPLETE = "complete", "Complete"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="recordings")
    device_recording_id = models.CharField(max_length=128)
    # Who wore the camera when the recording was triggered (from the assignment history).
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="bwc_recordings"
    )
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField()
    pre_event_seconds = models.PositiveSmallIntegerField(default=0)
    pre_event_audio = models.BooleanField(default=False)
    trigger_on_source = models.CharField(max_length=64)
    trigger_on_at = models.DateTimeField()
    trigger_on_location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    trigger_off_source = models.CharField(max_length=64, blank=True)
    trigger_off_at = models.DateTimeField(null=True, blank=True)
    trigger_off_location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    bookmarks = models.JSONField(default=list, blank=True)
    device_sha256 = models.CharField(max_length=64)
    device_clock = models.JSONField(default=dict, blank=True)
    cad_event_id = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ANNOUNCED)
    item = models.OneToOneField(
        EvidenceItem, null=True, blank=True, on_delete=models.PROTECT, related_name="recording"
    )
    # The device's SHA-256 and ours differ: the item is kept and the recording flagged.
    hash_mismatch = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "device_recording_id"], name="recording_id_per_device"
            ),
            models.CheckConstraint(
                condition=Q(stopped_at__gte=models.F("started_at")),
                name="recording_stops_after_it_starts",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "-started_at"]),
            # A device's and an officer's recordings, newest first (their pages, the list's
            # filters): the newest rows read first, however many years of recordings there are.
            models.Index(fields=["device", "-started_at"], name="recording_device_newest"),
            models.Index(fields=["officer", "-started_at"], name="recording_officer_newest"),
            # The list's filter by CAD incident.
            models.Index(fields=["agency", "cad_event_id"], name="recording_agency_incident"),
        ]

    def __str__(self) -> str:
        return f"recording {self.device_recording_id} of device {self.device_id}"


class TrackPoint(models.Model):
    """One timestamped GPS fix of a recording, whatever format the device sent it in."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="track")
    t = models.DateTimeField()
    point = gis_models.PointField(geography=True, srid=4326)
    accuracy_m = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["t"]
        indexes = [models.Index(fields=["recording", "t"])]

    def __str__(self) -> str:
        return f"{self.t.isoformat()} {self.point.y:.6f},{self.point.x:.6f}"


class DeviceCommand(models.Model):
    """Something a device is told on its next heartbeat: start recording, or that it is being
    watched live. Delivered once, then acknowledged by the device."""

    class Kind(models.TextChoices):
        START_RECORDING = "start_recording", "Start recording"
        BEING_WATCHED = "being_watched", "Someone is watching"
        WATCH_ENDED = "watch_ended", "Someone stopped watching"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="commands")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.CharField(max_length=200)
    # The trigger that asked for it, if one did.
    trigger = models.ForeignKey(
        "Trigger", null=True, blank=True, on_delete=models.PROTECT, related_name="commands"
    )
    # "Only if you are within radius_m of near": the device decides from its own GPS, so the
    # server never needs to know where an officer who is not recording is.
    near = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    # What the device said came of it: started, already recording, out of range.
    outcome = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["device", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for device {self.device_id}"

    @property
    def trigger_kind(self) -> str:
        """What the camera records as its trigger-on source: the trigger's type, or `dispatch`
        for a CAD dispatch (the only command without a trigger)."""
        return self.trigger.kind if self.trigger_id and self.trigger else "dispatch"


class CadLink(models.Model):
    """An agency's link to its CAD: the webhook secret (sealed, shown once on rotation) and
    whether CAD may one day start cameras remotely (off until the agency's lawyers agree)."""

    agency = models.OneToOneField(Agency, on_delete=models.PROTECT, related_name="cad_link")
    # AES-GCM under a key derived from SECRET_KEY (devices.cad.secret_seal): HMAC needs the
    # secret itself, so a digest would not do, and a database dump alone does not give it away.
    secret_sealed = models.TextField()
    rotated_at = models.DateTimeField()
    # Who set the link up; CAD-opened cases name them lead until someone reassigns the case.
    rotated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    remote_activation = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"CAD link of agency {self.agency_id}"


class CadNonce(models.Model):
    """A webhook nonce already used: kept for the freshness window, so a replay is refused."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "nonce"], name="cad_nonce_once_per_agency")
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return self.nonce


class CadIncident(models.Model):
    """A CAD incident as last sent: its units and dispatched-to-cleared window decide which
    recordings are filed into the case of the same number (auto-tagging)."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    incident_id = models.CharField(max_length=50)
    incident_type = models.CharField(max_length=200, blank=True)
    point = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    units = models.JSONField(default=list)
    dispatched_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    last_update_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "incident_id"], name="cad_incident_id_per_agency"
            )
        ]

    def __str__(self) -> str:
        return f"CAD incident {self.incident_id}"


class TriggerKind(models.TextChoices):
    """What starts a camera or raises an alert; an agency may name more (AlertRule.label)."""

    TASER_ARMED = "taser_armed", "TASER armed"
    HOLSTER_DRAW = "holster_draw", "Holster drawn"
    LIGHT_BAR = "light_bar", "Light bar on"
    GUNSHOT = "gunshot", "Gunshot detected"
    SOS = "sos", "SOS"
    OFFICER_DOWN = "officer_down", "Officer down"
    WATCH_ME = "watch_me", "Watch me"


class AlertPriority(models.TextChoices):
    """Axon Respond's three choices: a banner (and a sound), a line in the activity, nothing."""

    HIGH = "high", "High priority"
    GENERAL = "general", "General activity"
    OFF = "off", "Off"


class TriggerSource(models.Model):
    """A system that sends activation triggers (a TASER or holster-sensor hub, a gunshot
    detector, a light-bar controller), with its own webhook secret, sealed like the CAD's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="trigger_sources")
    name = models.CharField(max_length=100)
    secret_sealed = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField()
    rotated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "name"], name="trigger_source_name_per_agency"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TriggerNonce(models.Model):
    """A trigger webhook nonce already used: kept for the freshness window."""

    source = models.ForeignKey(TriggerSource, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "nonce"], name="trigger_nonce_once_per_source"
            )
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return self.nonce


class AlertRule(models.Model):
    """The agency's policy for one trigger type: how loud its alert is, whether it starts the
    officer's camera, and how far around it other cameras are asked to start (0: none)."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="alert_rules")
    kind = models.SlugField(max_length=40)
    # The name shown for a type the agency added itself (built-in types have their own).
    label = models.CharField(max_length=100, blank=True)
    priority = models.CharField(max_length=8, choices=AlertPriority.choices)
    start_recording = models.BooleanField(default=True)
    nearby_radius_m = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "kind"], name="alert_rule_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.priority}"


class Trigger(models.Model):
    """One activation event, from a trigger source's webhook or from the camera itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    kind = models.SlugField(max_length=40)
    # None: the camera itself raised it (its own button or sensor).
    source = models.ForeignKey(
        TriggerSource, null=True, blank=True, on_delete=models.PROTECT, related_name="triggers"
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="triggers"
    )
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="bwc_triggers"
    )
    unit = models.CharField(max_length=32, blank=True)
    # The sender's clock, and ours: both kept, skew visible.
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    external_id = models.CharField(max_length=128, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["agency", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.received_at.isoformat()}"


class Alert(models.Model):
    """An alert on the operations page: shown for four hours, or until someone resolves it or
    marks it false with a reason (Axon Respond's model)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        FALSE = "false", "False alarm"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    trigger = models.OneToOneField(Trigger, on_delete=models.PROTECT, related_name="alert")
    kind = models.SlugField(max_length=40)
    priority = models.CharField(max_length=8, choices=AlertPriority.choices)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    officer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="bwc_alerts"
    )
    location = gis_models.PointField(geography=True, srid=4326, null=True, blank=True)
    raised_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["agency", "state", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.kind} alert ({self.state})"
