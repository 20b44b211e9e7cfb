"""The device API v1 (docs/device-api.md): what a body camera calls, signed with its
credential (`Authorization: Device <token>`, devices/auth.py), never with a session.

Every error is JSON: `{"detail": ..., "field": ...}`, a 400 naming the first field at fault
(dotted for nested ones, e.g. `trigger_on.at`), with all of them under `errors`.
"""

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import live, tracks
from devices.auth import DeviceAuthentication, IsDevice
from devices.models import Device, DeviceCommand, Recording
from devices.services.heartbeat import (
    Heartbeat,
    Location,
    command_acknowledge,
    commands_wait,
    device_heartbeat,
)
from devices.services.offload import (
    Announced,
    recording_announce,
    recording_get_for_device,
    track_store,
)
from devices.services.triggers import TriggerIn, TriggerRefused, trigger_receive
from evidence import services as evidence_services
from evidence.models import UploadGrant
from portal.api.errors import exception_handler as portal_exception_handler

ONE_SECOND = dt.timedelta(seconds=1)
# Manifest times are the server's (the device's own clock goes in device_clock); a recording
# that stops later than this after we hear of it has an impossible clock behind it.
FUTURE_SLACK = dt.timedelta(minutes=10)
MAX_BOOKMARKS = 1000
MAX_WAIT_SECONDS = 30


# --- errors -----------------------------------------------------------------------------------


def _flatten(errors: Any, prefix: str = "") -> dict[str, str]:
    """{"trigger_on": {"at": ["..."]}} -> {"trigger_on.at": "..."} (lists of items by index)."""
    if isinstance(errors, dict):
        flat: dict[str, str] = {}
        for key, value in errors.items():
            name = prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else key
            flat.update(_flatten(value, str(name)))
        return flat
    if isinstance(errors, list):
        if errors and all(isinstance(e, str) for e in errors):
            return {prefix: " ".join(str(e) for e in errors)}
        flat = {}
        for index, value in enumerate(errors):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix: str(errors)}


def device_exception_handler(exc, context):
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        field, message = next(iter(errors.items()), ("", "The request is not valid."))
        return Response(
            {"detail": message, "field": field or None, "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return portal_exception_handler(exc, context)


class DeviceAPIView(APIView):
    authentication_classes = [DeviceAuthentication]
    permission_classes = [IsDevice]

    def get_exception_handler(self):
        return device_exception_handler

    def device(self) -> Device:
        device = self.request.auth
        if not isinstance(device, Device):  # IsDevice lets no other request in
            raise exceptions.NotAuthenticated
        return device


# --- fields -------------------------------------------------------------------------------


class Rfc3339Field(serializers.DateTimeField):
    """An RFC 3339 time: with its UTC offset, never a wall-clock time we would have to guess."""

    default_error_messages = {
        "no_offset": "Give the time with its UTC offset (RFC 3339), e.g. 2026-12-04T10:00:00Z."
    }

    def to_internal_value(self, value):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is not None and parsed.tzinfo is None:
            self.fail("no_offset")
        return super().to_internal_value(value)


class PointSerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


class HeartbeatLocationSerializer(PointSerializer):
    accuracy_m = serializers.FloatField(min_value=0, allow_null=True, required=False, default=None)
    at = Rfc3339Field()


class HeartbeatSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Device.State.choices)
    battery_percent = serializers.IntegerField(min_value=0, max_value=100)
    storage_free_bytes = serializers.IntegerField(min_value=0)
    firmware = serializers.CharField(max_length=64, allow_blank=True)
    device_time = Rfc3339Field()
    location = HeartbeatLocationSerializer(
        required=False, allow_null=True, help_text="Stored only while state is recording."
    )


class NearSerializer(serializers.Serializer):
    lat = serializers.FloatField(source="y")
    lon = serializers.FloatField(source="x")


class CommandSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=DeviceCommand.Kind.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    near = NearSerializer(
        allow_null=True,
        help_text="Only if the camera is within radius_m of this place (its own GPS decides; "
        "acknowledge with outcome out_of_range otherwise).",
    )
    radius_m = serializers.IntegerField(allow_null=True)
    trigger = serializers.CharField(
        source="trigger_kind",
        help_text="Why: the trigger type (taser_armed…) or dispatch; the camera records it as "
        "its trigger_on source.",
    )


class CommandAckSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["started", "already_recording", "out_of_range", "shown"],
        required=False,
        default="",
    )


class CommandsReplySerializer(serializers.Serializer):
    server_time = serializers.DateTimeField()
    commands = CommandSerializer(many=True)


class AlertSerializer(serializers.Serializer):
    type = serializers.SlugField(max_length=40, help_text="sos, officer_down, watch_me, gunshot…")
    at = Rfc3339Field(help_text="The device's clock when it happened.")
    location = PointSerializer(required=False, allow_null=True, default=None)


class TriggerReplySerializer(serializers.Serializer):
    trigger = serializers.UUIDField()
    alert = serializers.CharField(allow_null=True, help_text="Its priority, or null (off).")
    commands = serializers.IntegerField(help_text="Cameras told to start recording.")


class HeartbeatReplySerializer(serializers.Serializer):
    server_time = serializers.DateTimeField()
    commands = CommandSerializer(many=True)


# `source` and `label` are the contract's names; DRF's metaclass takes declared fields off the
# class, so they shadow nothing of Field at run time (the stubs cannot tell).


class TriggerSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64)  # type: ignore[assignment]
    at = Rfc3339Field()
    location = PointSerializer(required=False, allow_null=True, default=None)


class BookmarkSerializer(serializers.Serializer):
    at = Rfc3339Field()
    label = serializers.CharField(max_length=200, allow_blank=True)  # type: ignore[assignment]


class ManifestSerializer(serializers.Serializer):
    recording_id = serializers.CharField(max_length=128)
    started_at = Rfc3339Field()
    stopped_at = Rfc3339Field()
    pre_event_seconds = serializers.IntegerField(min_value=0, max_value=600)
    pre_event_audio = serializers.BooleanField()
    trigger_on = TriggerSerializer()
    trigger_off = TriggerSerializer(required=False, allow_null=True, default=None)
    bookmarks = BookmarkSerializer(many=True, required=False, default=list)
    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        error_messages={"invalid": "The SHA-256 is 64 hexadecimal characters."},
    )
    size = serializers.IntegerField(
        min_value=1, max_value=evidence_services.upload_flow_max_bytes(UploadGrant.Flow.BODYCAM)
    )
    filename = serializers.CharField(max_length=255)
    media_type = serializers.RegexField(
        r"^video/[a-z0-9.+-]+$",
        error_messages={"invalid": "A recording is a video type, e.g. video/mp4."},
    )
    device_clock = serializers.DictField(
        child=serializers.CharField(max_length=64), required=False, default=dict
    )

    def validate_bookmarks(self, value):
        if len(value) > MAX_BOOKMARKS:
            raise serializers.ValidationError(f"At most {MAX_BOOKMARKS} bookmarks.")
        return value

    def validate_device_clock(self, value):
        if len(value) > 16:
            raise serializers.ValidationError("The device clock has at most 16 entries.")
        return value

    cad_event_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs):
        started, stopped = attrs["started_at"], attrs["stopped_at"]
        trigger_on, trigger_off = attrs["trigger_on"], attrs.get("trigger_off")
        if stopped < started:
            raise serializers.ValidationError(
                {"stopped_at": "The recording stops before it starts."}
            )
        if stopped > timezone.now() + FUTURE_SLACK:
            raise serializers.ValidationError({"stopped_at": "The recording stops in the future."})
        if not started - ONE_SECOND <= trigger_on["at"] <= stopped:
            raise serializers.ValidationError(
                {
                    "trigger_on.at": "The trigger is outside the recording (started_at to stopped_at)."
                }
            )
        if trigger_off and not trigger_on["at"] <= trigger_off["at"] <= stopped + ONE_SECOND:
            raise serializers.ValidationError(
                {
                    "trigger_off.at": "The recording stops being triggered outside trigger_on.at to "
                    "stopped_at."
                }  # fmt: skip
            )
        buffered = (trigger_on["at"] - started).total_seconds() + 1
        if attrs["pre_event_seconds"] > buffered:
            raise serializers.ValidationError(
                {
                    "pre_event_seconds": "The pre-event buffer is longer than the time between "
                    "started_at and trigger_on.at."
                }  # fmt: skip
            )
        return attrs


class UploadOfferSerializer(serializers.Serializer):
    endpoint = serializers.CharField()
    header = serializers.CharField()
    value = serializers.CharField()
    max_files = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()
    media_types = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()


class TrackReplySerializer(serializers.Serializer):
    points = serializers.IntegerField(help_text="How many timestamped positions were kept.")


class RecordingReplySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Recording.Status.choices)
    officer = serializers.CharField(allow_null=True)
    upload = UploadOfferSerializer(allow_null=True)


def _recording_reply(recording: Recording, upload: dict[str, Any] | None) -> dict[str, Any]:
    offer = None
    if upload is not None:
        offer = {
            "endpoint": evidence_services.UPLOAD_ENDPOINT,
            **{k: v for k, v in upload.items() if k != "id"},
        }
    return RecordingReplySerializer(
        {
            "id": recording.pk,
            "status": recording.status,
            "officer": recording.officer.label if recording.officer else None,
            "upload": offer,
        }
    ).data


# --- views ---------------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="`detail` and the `field` at fault"),
    401: OpenApiResponse(OpenApiTypes.OBJECT, description="Unknown or revoked credential"),
}


class HeartbeatView(DeviceAPIView):
    """The device's state; the reply carries the commands it has not been handed yet."""

    @extend_schema(request=HeartbeatSerializer, responses={200: HeartbeatReplySerializer, **ERRORS})
    def post(self, request):
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        where = data.get("location")
        beat = Heartbeat(
            state=data["state"],
            battery_percent=data["battery_percent"],
            storage_free_bytes=data["storage_free_bytes"],
            firmware=data["firmware"],
            device_time=data["device_time"],
            location=Location(**where) if where else None,
        )
        commands = device_heartbeat(device=self.device(), beat=beat)
        return Response(
            HeartbeatReplySerializer({"server_time": timezone.now(), "commands": commands}).data
        )


class CommandsView(DeviceAPIView):
    """Long-poll: the commands not yet handed over, as soon as one is made (within a second
    of a trigger), or none after `wait` seconds (0 to 30; 0 answers at once)."""

    @extend_schema(
        parameters=[OpenApiParameter("wait", int, description="Seconds to wait, 0 to 30.")],
        responses={200: CommandsReplySerializer, **ERRORS},
    )
    def get(self, request):
        try:
            wait = float(request.query_params.get("wait", "0"))
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= MAX_WAIT_SECONDS:
            raise serializers.ValidationError({"wait": "Seconds to wait, from 0 to 30."})
        with live.thread_held() as may_wait:
            # With every thread this process lends to waiting taken, answer at once.
            commands = commands_wait(device=self.device(), timeout=wait if may_wait else 0)
        return Response(
            CommandsReplySerializer({"server_time": timezone.now(), "commands": commands}).data
        )


class CommandAckView(DeviceAPIView):
    """The device acted on a command (audited), saying what came of it; another device's
    command is a 404."""

    @extend_schema(
        request=CommandAckSerializer,
        responses={204: None, **ERRORS, 404: OpenApiTypes.OBJECT},
    )
    def post(self, request, command_id):
        serializer = CommandAckSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        command_acknowledge(
            device=self.device(),
            command_id=command_id,
            outcome=serializer.validated_data["outcome"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertsView(DeviceAPIView):
    """The camera raises an alert itself (its SOS or Watch Me button, its gunshot detector):
    handled like a trigger, under the agency's rule for the type."""

    @extend_schema(request=AlertSerializer, responses={201: TriggerReplySerializer, **ERRORS})
    def post(self, request):
        serializer = AlertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        device = self.device()
        where = data["location"] or {}
        try:
            trigger = trigger_receive(
                agency=device.agency,
                device=device,
                event=TriggerIn(
                    kind=data["type"],
                    occurred_at=data["at"],
                    lat=where.get("lat"),
                    lon=where.get("lon"),
                    # What was validated, not the raw body: nothing else of it is kept.
                    payload={
                        "type": data["type"],
                        "at": data["at"].isoformat(),
                        "location": data["location"],
                    },
                ),
            )
        except TriggerRefused as exc:
            raise serializers.ValidationError({exc.field: str(exc)}) from None
        return Response(trigger_reply(trigger), status=status.HTTP_201_CREATED)


def trigger_reply(trigger) -> dict[str, Any]:
    alert = getattr(trigger, "alert", None)
    return TriggerReplySerializer(
        {
            "trigger": trigger.pk,
            "alert": alert.priority if alert is not None else None,
            "commands": trigger.commands.count(),
        }
    ).data


class RecordingsView(DeviceAPIView):
    """Announce a recording by its manifest: 201 with an upload grant bound to it, or 200 for a
    recording_id announced before (a new grant only if the one before is gone)."""

    @extend_schema(
        request=ManifestSerializer,
        responses={201: RecordingReplySerializer, 200: RecordingReplySerializer, **ERRORS},
    )
    def post(self, request):
        serializer = ManifestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        announced: Announced = recording_announce(
            device=self.device(), manifest=serializer.validated_data
        )
        return Response(
            _recording_reply(announced.recording, announced.upload),
            status=status.HTTP_201_CREATED if announced.created else status.HTTP_200_OK,
        )


class RecordingView(DeviceAPIView):
    """One of the device's own recordings."""

    @extend_schema(responses={200: RecordingReplySerializer, 401: ERRORS[401]})
    def get(self, request, recording_id):
        recording = recording_get_for_device(device=self.device(), id=recording_id)
        return Response(_recording_reply(recording, None))


class TrackView(DeviceAPIView):
    """The recording's GPS track: the body is the file, its Content-Type says the format."""

    parser_classes: list = []  # the body is read raw, whatever its type

    @extend_schema(
        request=dict.fromkeys(tracks.CONTENT_TYPES, OpenApiTypes.BINARY),
        responses={
            201: TrackReplySerializer,
            **ERRORS,
            404: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request, recording_id):
        device = self.device()
        recording = recording_get_for_device(device=device, id=recording_id)
        fmt = tracks.format_of(request.content_type or "")
        if fmt is None:
            raise serializers.ValidationError(
                {
                    "Content-Type": "Send application/gpx+xml, application/geo+json, "
                    "application/x-nmea (or text/plain) or application/json (Axis gpstrail)."
                }  # fmt: skip
            )
        try:
            fixes = tracks.parse(fmt, request.body, started_at=recording.started_at)
        except tracks.TrackInvalid as exc:
            raise serializers.ValidationError({"track": str(exc)}) from None
        points = track_store(device=device, recording=recording, fmt=fmt, fixes=fixes)
        return Response({"points": points}, status=status.HTTP_201_CREATED)
