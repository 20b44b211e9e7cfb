"""Activation triggers and the alerts they raise.

A trigger (a TASER armed, a holster drawn, a gunshot heard, an officer's SOS) arrives from a
trigger source's signed webhook or from the camera itself. The agency's rule for its type
says what follows: a "start recording" command for the officer's camera, conditional ones for
the cameras of the same unit nearby, and an alert of high or general priority (or none) on the
operations page. Everything is audited, and the page and the cameras are told at once.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from devices import audit_actions as actions
from devices import live, webhooks
from devices.models import (
    Alert,
    AlertPriority,
    AlertRule,
    Device,
    DeviceAssignment,
    DeviceCommand,
    Trigger,
    TriggerKind,
    TriggerNonce,
    TriggerSource,
)
from devices.policies import can_operate
from devices.selectors import alert_payload, heard_since, rule_for
from devices.services.inventory import require_manager
from portal.audit import audit_record
from portal.models import Agency, User

ALERT_SHOWN_FOR = dt.timedelta(hours=4)
MAX_NEARBY_RADIUS_M = 5000
_SEAL_INFO = b"canvass trigger source secret seal v1"


class TriggerRefused(ValueError):
    """The trigger cannot be acted on; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NonceReplayed(Exception):
    """The webhook's nonce was already used within the freshness window."""


@dataclass(frozen=True)
class TriggerIn:
    """A trigger as sent. It names the camera (serial), or the unit (call sign), or only a
    place (a gunshot detector knows no camera)."""

    kind: str
    occurred_at: dt.datetime
    device_serial: str = ""
    unit: str = ""
    lat: float | None = None
    lon: float | None = None
    external_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


# --- sources -------------------------------------------------------------------------------


def _seal(source: TriggerSource, secret: str) -> str:
    return webhooks.secret_seal(secret, info=_SEAL_INFO, context=str(source.pk))


def trigger_source_secret(source: TriggerSource) -> str:
    """The source's webhook secret, unsealed, for checking a signature."""
    return webhooks.secret_unseal(source.secret_sealed, info=_SEAL_INFO, context=str(source.pk))


@transaction.atomic
def trigger_source_add(*, actor: User, name: str) -> tuple[TriggerSource, str]:
    """A new trigger source of the actor's agency; its secret is returned once."""
    agency = require_manager(actor)
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Name the source, e.g. “TASER hub” or “ShotSpotter”."})
    if len(name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    if TriggerSource.objects.filter(agency=agency, name__iexact=name).exists():
        raise ValidationError({"name": "The agency already has a source of that name."})
    secret = webhooks.secret_new()
    source = TriggerSource(agency=agency, name=name, rotated_at=timezone.now(), rotated_by=actor)
    source.secret_sealed = _seal(source, secret)
    source.save()
    audit_record(
        action=actions.TRIGGER_SOURCE_ADDED.name,
        actor=actor,
        target=source,
        details={"name": name},
    )
    return source, secret


def _source_for_manager(actor: User, source_id: UUID | str) -> TriggerSource:
    agency = require_manager(actor)
    source = (
        TriggerSource.objects.select_for_update()
        .filter(pk=source_id, agency=agency, revoked_at__isnull=True)
        .first()
    )
    if source is None:
        raise PermissionDenied
    return source


@transaction.atomic
def trigger_source_rotate(*, actor: User, source_id: UUID | str) -> tuple[TriggerSource, str]:
    """A new secret for the source, returned once; the old one stops working at once."""
    source = _source_for_manager(actor, source_id)
    secret = webhooks.secret_new()
    source.secret_sealed = _seal(source, secret)
    source.rotated_at = timezone.now()
    source.rotated_by = actor
    source.save(update_fields=["secret_sealed", "rotated_at", "rotated_by"])
    audit_record(action=actions.TRIGGER_SOURCE_ROTATED.name, actor=actor, target=source)
    return source, secret


@transaction.atomic
def trigger_source_revoke(*, actor: User, source_id: UUID | str) -> TriggerSource:
    source = _source_for_manager(actor, source_id)
    source.revoked_at = timezone.now()
    source.save(update_fields=["revoked_at"])
    audit_record(action=actions.TRIGGER_SOURCE_REVOKED.name, actor=actor, target=source)
    return source


@transaction.atomic
def trigger_nonce_use(*, source: TriggerSource, nonce: str, now: dt.datetime) -> None:
    """Spend a nonce; NonceReplayed when it was spent within the freshness window."""
    nonce = nonce.strip()
    if not webhooks.nonce_valid(nonce):
        raise ValidationError({webhooks.NONCE_HEADER: "Send a nonce of 1 to 128 characters."})
    TriggerNonce.objects.filter(received_at__lt=now - 2 * webhooks.FRESHNESS).delete()
    try:
        with transaction.atomic():
            TriggerNonce.objects.create(source=source, nonce=nonce, received_at=now)
    except IntegrityError as exc:
        raise NonceReplayed(nonce) from exc


# --- rules ---------------------------------------------------------------------------------


@transaction.atomic
def alert_rule_set(
    *,
    actor: User,
    kind: str,
    priority: str,
    start_recording: bool,
    nearby_radius_m: int,
    label: str = "",
) -> AlertRule:
    """Set the agency's policy for a trigger type (a type of its own needs a label)."""
    agency = require_manager(actor)
    kind = kind.strip().lower()
    label = " ".join(label.split())
    errors: dict[str, str] = {}
    if not kind or len(kind) > 40 or not kind.replace("_", "").isalnum() or not kind.isascii():
        errors["kind"] = "Use 1 to 40 lower-case letters, digits or underscores."
    if kind not in TriggerKind.values and not label:
        errors["label"] = "Name the new trigger type (how the operations page shows it)."
    if len(label) > 100:
        errors["label"] = "At most 100 characters."
    if priority not in AlertPriority.values:
        errors["priority"] = "Choose high priority, general activity or off."
    if not 0 <= nearby_radius_m <= MAX_NEARBY_RADIUS_M:
        errors["nearby_radius_m"] = f"From 0 (none) to {MAX_NEARBY_RADIUS_M} metres."
    if errors:
        raise ValidationError(errors)
    rule, made = AlertRule.objects.select_for_update().update_or_create(
        agency=agency,
        kind=kind,
        defaults={
            "label": label if kind not in TriggerKind.values else "",
            "priority": priority,
            "start_recording": start_recording,
            "nearby_radius_m": nearby_radius_m,
            "updated_by": actor,
        },
    )
    audit_record(
        action=actions.ALERT_RULE_SET.name,
        actor=actor,
        target=rule,
        details={
            "kind": kind,
            "priority": priority,
            "start_recording": start_recording,
            "nearby_radius_m": nearby_radius_m,
            "new": made,
        },
    )
    return rule


# --- triggers ------------------------------------------------------------------------------


def _heard_lately(device: Device) -> bool:
    return device.last_heartbeat_at is not None and device.last_heartbeat_at >= heard_since()


def _open_assignments(agency: Agency) -> QuerySet[DeviceAssignment]:
    return DeviceAssignment.objects.filter(
        checked_in_at__isnull=True,
        device__agency=agency,
        device__status=Device.Status.IN_SERVICE,
    ).select_related("device", "officer")


def _command(
    *,
    device: Device,
    trigger: Trigger,
    reason: str,
    near: Point | None = None,
    radius_m: int | None = None,
) -> DeviceCommand:
    return DeviceCommand(
        device=device,
        kind=DeviceCommand.Kind.START_RECORDING,
        reason=reason[:200],
        trigger=trigger,
        near=near,
        radius_m=radius_m,
    )


@transaction.atomic
def trigger_receive(
    *,
    agency: Agency,
    event: TriggerIn,
    source: TriggerSource | None = None,
    device: Device | None = None,
) -> Trigger:
    """Act on one trigger: record it, tell the cameras its rule says to start, raise its alert.

    `device` is the camera that raised it itself (the device API); a source's trigger names
    its camera by serial, or its unit, or only a place.
    """
    rule = rule_for(agency, event.kind)
    if rule is None:
        raise TriggerRefused(
            "type", f"Unknown trigger type {event.kind!r}: the agency has no rule for it."
        )
    assignments = list(_open_assignments(agency))
    by_device = {a.device_id: a for a in assignments}
    if device is None and event.device_serial:
        device = Device.objects.filter(
            agency=agency, serial=event.device_serial, status=Device.Status.IN_SERVICE
        ).first()
        if device is None:
            raise TriggerRefused("device", "No camera in service has that serial.")
    assignment = by_device.get(device.pk) if device is not None else None
    unit = assignment.unit if assignment else event.unit.strip()[:32]
    if device is None and not unit and event.lat is None:
        raise TriggerRefused("device", "Name the camera (device), the unit, or the location.")
    location = None
    if event.lat is not None and event.lon is not None:
        location = Point(event.lon, event.lat, srid=4326)
    elif device is not None and device.state == Device.State.RECORDING and _heard_lately(device):
        location = device.last_location
    now = timezone.now()
    trigger = Trigger.objects.create(
        agency=agency,
        kind=rule.kind,
        source=source,
        device=device,
        officer=assignment.officer if assignment else None,
        unit=unit,
        occurred_at=event.occurred_at,
        received_at=now,
        location=location,
        external_id=event.external_id[:128],
        payload=event.payload,
    )
    reason = f"{rule.label} ({source.name if source else 'this camera'})"
    commands: list[DeviceCommand] = []
    if rule.start_recording:
        # The named camera, unless it raised the trigger itself (it started on its own), and
        # every camera of a unit named without a camera (a light bar belongs to the car).
        if device is not None and source is not None:
            commands.append(_command(device=device, trigger=trigger, reason=reason))
        if device is None and unit:
            commands.extend(
                _command(device=a.device, trigger=trigger, reason=reason)
                for a in assignments
                if a.unit == unit
            )
        if rule.nearby_radius_m and location is not None:
            asked = {c.device_id for c in commands} | {device.pk if device else None}
            # The same unit's cameras; every camera, for a trigger that only has a place.
            nearby = [
                a
                for a in assignments
                if a.device_id not in asked and (a.unit == unit if unit else device is None)
            ]
            commands.extend(
                _command(
                    device=a.device,
                    trigger=trigger,
                    reason=f"{reason}, within {rule.nearby_radius_m} m",
                    near=location,
                    radius_m=rule.nearby_radius_m,
                )
                for a in nearby
            )
    DeviceCommand.objects.bulk_create(commands)
    alert = None
    if rule.priority != AlertPriority.OFF:
        alert = Alert.objects.create(
            agency=agency,
            trigger=trigger,
            kind=rule.kind,
            priority=rule.priority,
            device=device,
            officer=trigger.officer,
            location=location,
            raised_at=now,
            expires_at=now + ALERT_SHOWN_FOR,
        )
    audit_record(
        action=actions.TRIGGER_RECEIVED.name,
        actor_label=f"trigger source {source.name}" if source else f"body camera {device}",
        target=trigger,
        agency=agency,
        details={
            "kind": rule.kind,
            "source": str(source.pk) if source else None,
            "device": str(device.pk) if device else None,
            "unit": unit,
            "occurred_at": event.occurred_at.isoformat(),
            "commands": [str(c.device_id) for c in commands],
            "alert": rule.priority,
        },
    )
    for command in commands:
        live.device_wake(command.device_id)
    if alert is not None:
        audit_record(
            action=actions.ALERT_RAISED.name,
            actor_label="Canvass",
            target=alert,
            agency=agency,
            details={"kind": alert.kind, "priority": alert.priority, "trigger": str(trigger.pk)},
        )
        live.ops_publish(agency.pk, {"type": "alert", "alert": alert_payload(alert)})
    return trigger


# --- alerts --------------------------------------------------------------------------------


@transaction.atomic
def alert_close(*, actor: User, alert_id: UUID | str, state: str, reason: str) -> Alert:
    """Resolve an open alert, or mark it false, with a reason; both audited and pushed."""
    if not can_operate(actor):
        raise PermissionDenied
    alert = Alert.objects.select_for_update().filter(pk=alert_id, agency=actor.agency).first()
    if alert is None:
        raise PermissionDenied
    if state not in (Alert.State.RESOLVED, Alert.State.FALSE):
        raise ValidationError({"state": "Resolve the alert or mark it false."})
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": "Say why (it goes into the audit log)."})
    if len(reason) > 500:
        raise ValidationError({"reason": "At most 500 characters."})
    if alert.state != Alert.State.OPEN:
        raise ValidationError({"state": "This alert is already closed."})
    if alert.expires_at <= timezone.now():
        raise ValidationError({"state": "This alert expired (alerts show for four hours)."})
    alert.state = state
    alert.reason = reason
    alert.closed_at = timezone.now()
    alert.closed_by = actor
    alert.save(update_fields=["state", "reason", "closed_at", "closed_by"])
    action = actions.ALERT_RESOLVED if state == Alert.State.RESOLVED else actions.ALERT_MARKED_FALSE
    audit_record(
        action=action.name,
        actor=actor,
        target=alert,
        reason=reason,
        details={"kind": alert.kind, "priority": alert.priority},
    )
    live.ops_publish(
        alert.agency_id,
        {"type": "alert_closed", "id": str(alert.pk), "state": state},
    )
    return alert
