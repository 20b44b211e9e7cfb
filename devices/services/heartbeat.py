"""What a device says every minute or so, and the commands it is handed in return."""

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from django.contrib.gis.geos import Point
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from devices import audit_actions as actions
from devices.models import Device, DeviceCommand
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

    The location is kept only while the device is recording: a camera on an officer's chest
    is not a tracker of where they go between incidents.
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
    if beat.state == Device.State.RECORDING and beat.location is not None:
        fields["last_location"] = Point(beat.location.lon, beat.location.lat, srid=4326)
        fields["last_location_at"] = beat.location.at
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
        commands = list(
            DeviceCommand.objects.select_for_update()
            .filter(device=device, delivered_at__isnull=True, acknowledged_at__isnull=True)
            .order_by("created_at")
        )
        if commands:
            DeviceCommand.objects.filter(pk__in=[c.pk for c in commands]).update(delivered_at=now)
            for command in commands:
                command.delivered_at = now
    for name, value in fields.items():
        setattr(device, name, value)
    return commands


def command_acknowledge(*, device: Device, command_id: UUID) -> DeviceCommand:
    """The device did what it was told (or showed it); another device's command is a 404."""
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
            command.save(update_fields=["acknowledged_at", "delivered_at"])
            audit_record(
                action=actions.COMMAND_ACKNOWLEDGED.name,
                actor_label=f"body camera {device.serial}",
                target=command,
                agency=device.agency,
                details={"device": str(device.pk), "kind": command.kind},
            )
    return command
