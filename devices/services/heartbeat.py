"""What a device says every minute or so, and the commands it is handed in return."""

import datetime as dt
import time
from dataclasses import dataclass
from uuid import UUID

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from redis.exceptions import RedisError

from devices import audit_actions as actions
from devices import hooks, live
from devices.models import Device, DeviceCommand
from devices.selectors import heard_since, location_payload, open_assignment_of
from portal.audit import audit_record


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    at: dt.datetime
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Heartbeat:
    state: str
    battery_percent: int
    storage_free_bytes: int
    firmware: str
    device_time: dt.datetime
    location: Location | None = None


def device_heartbeat(*, device: Device, beat: Heartbeat) -> list[DeviceCommand]:
    """Store the device's state and hand it its new commands (each delivered once).

    The location is kept only while the device is recording, and forgotten when it stops: a
    camera on an officer's chest is not a tracker of where they go between incidents. The
    operations pages of the agency are told at once.
    """
    now = timezone.now()
    fields = {
        "state": beat.state,
        "battery_percent": beat.battery_percent,
        "storage_free_bytes": beat.storage_free_bytes,
        "last_heartbeat_at": now,
    }
    if beat.firmware:
        fields["firmware"] = beat.firmware
    recording = beat.state == Device.State.RECORDING
    if recording and beat.location is not None:
        fields["last_location"] = Point(beat.location.lon, beat.location.lat, srid=4326)
        fields["last_location_at"] = beat.location.at
    elif not recording and device.last_location is not None:
        # Recording stopped: where the officer was is forgotten, not just hidden.
        fields["last_location"] = None
        fields["last_location_at"] = None
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(**fields)
        if beat.firmware and beat.firmware != device.firmware:
            # The same change made on the staff page is audited: so is the device's own.
            audit_record(
                action=actions.DEVICE_CHANGED.name,
                actor_label=f"body camera {device.serial}",
                target=device,
                agency=device.agency,
                details={"firmware": {"old": device.firmware, "new": beat.firmware}},
            )
        commands = commands_take(device, now=now)
        if device.state == Device.State.RECORDING and not recording:
            hooks.recording_stopped(device)  # live feeds cut its stream off at once
        was_located = device.last_location is not None
        for name, value in fields.items():
            setattr(device, name, value)
        if recording and beat.location is not None:
            assignment = open_assignment_of(device)
            live.ops_publish(
                device.agency_id,
                {"type": "location", "location": location_payload(device, assignment)},
            )
        elif was_located and device.last_location is None:
            live.ops_publish(device.agency_id, {"type": "location_gone", "device": str(device.pk)})
    return commands


def commands_take(device: Device, *, now: dt.datetime | None = None) -> list[DeviceCommand]:
    """The device's commands not yet handed to it, marked delivered; one handed over but not
    acknowledged within REDELIVER_AFTER is handed over again (the reply may have been lost on
    the way), so a camera ignores a command id it has already acted on."""
    now = now or timezone.now()
    with transaction.atomic():
        commands = list(
            DeviceCommand.objects.select_for_update(of=("self",))
            .select_related("trigger")
            .filter(device=device, acknowledged_at__isnull=True)
            .filter(Q(delivered_at__isnull=True) | Q(delivered_at__lt=now - REDELIVER_AFTER))
            .order_by("created_at")
        )
        if commands:
            DeviceCommand.objects.filter(pk__in=[c.pk for c in commands]).update(delivered_at=now)
            for command in commands:
                command.delivered_at = now
    return commands


REDELIVER_AFTER = dt.timedelta(seconds=30)


def commands_wait(*, device: Device, timeout: float) -> list[DeviceCommand]:
    """Long-poll: the device's new commands as soon as there are any, or [] after `timeout`
    seconds. A trigger wakes the wait through Redis; with Redis away it looks once a second."""
    try:
        pubsub = live.subscribe(live.device_channel(device.pk))
    except RedisError:
        pubsub = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            # Subscribed before looking: a command made between the look and the wait still
            # wakes it.
            commands = commands_take(device)
            remaining = deadline - time.monotonic()
            if commands or remaining <= 0:
                return commands
            if pubsub is None:
                time.sleep(min(1.0, remaining))
                continue
            try:
                pubsub.get_message(timeout=min(remaining, 5.0))
            except RedisError:
                pubsub = None
    finally:
        if pubsub is not None:
            pubsub.close()


def command_acknowledge(*, device: Device, command_id: UUID, outcome: str = "") -> DeviceCommand:
    """The device did what it was told (or showed it), and says what came of it (a conditional
    start: started, or out of range); another device's command is a 404."""
    with transaction.atomic():
        command = (
            DeviceCommand.objects.select_for_update().filter(pk=command_id, device=device).first()
        )
        if command is None:
            raise Http404("No such command for this device.")
        if command.acknowledged_at is None:
            now = timezone.now()
            command.acknowledged_at = now
            command.delivered_at = command.delivered_at or now
            command.outcome = outcome
            command.save(update_fields=["acknowledged_at", "delivered_at", "outcome"])
            audit_record(
                action=actions.COMMAND_ACKNOWLEDGED.name,
                actor_label=f"body camera {device.serial}",
                target=command,
                agency=device.agency,
                details={"device": str(device.pk), "kind": command.kind, "outcome": outcome},
            )
    return command


def location_forget(device: Device) -> bool:
    """Forget where the device was (it is no longer worn, or no longer heard from) and take
    its officer off the operations pages; whether there was a place to forget."""
    forgotten = Device.objects.filter(pk=device.pk, last_location__isnull=False).update(
        last_location=None, last_location_at=None
    )
    device.last_location = device.last_location_at = None
    if forgotten:
        live.ops_publish(device.agency_id, {"type": "location_gone", "device": str(device.pk)})
    return bool(forgotten)


def locations_forget_stale(*, now: dt.datetime | None = None) -> int:
    """A camera that went silent while recording (a flat battery, no signal) or left service
    keeps no place: forgotten once it has not been heard from for DEVICE_LOCATION_STALE_SECONDS."""
    cutoff = heard_since(now)
    stale = Device.objects.filter(last_location__isnull=False).filter(
        Q(last_heartbeat_at__isnull=True)
        | Q(last_heartbeat_at__lt=cutoff)
        | ~Q(status=Device.Status.IN_SERVICE)
    )
    return sum(location_forget(device) for device in stale)
