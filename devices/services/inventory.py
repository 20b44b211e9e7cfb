"""The inventory: devices and their status, officers' training, check-out and check-in, and
the credential each device calls the API with. Every write carries its audit row."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from devices import audit_actions as actions
from devices import selectors
from devices.auth import stream_key_for
from devices.models import Device, DeviceAssignment, DeviceCredential, TrainingRecord
from devices.policies import can_manage_devices, can_view_device, can_wear_devices
from devices.services.heartbeat import location_forget
from portal.audit import audit_record
from portal.models import Agency, AuditEvent, User
from portal.tokens import token_digest, token_issue


class CheckoutRefused(ValidationError):
    """A check-out the rules forbid (no current training, device not in service or in use)."""


def require_manager(actor: User, device: Device | None = None) -> Agency:
    """The actor's agency, when the actor manages its devices (and `device` is one of them)."""
    agency = actor.agency
    if agency is None or not can_manage_devices(actor):
        raise PermissionDenied
    if device is not None and device.agency_id != agency.pk:
        raise PermissionDenied
    return agency


def _clean(value: str, field: str, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationError({field: "This is needed."})
    if len(value) > 64:
        raise ValidationError({field: "At most 64 characters."})
    return value


@transaction.atomic
def device_add(*, actor: User, serial: str, make: str, model: str, firmware: str = "") -> Device:
    """Add a camera to the actor's agency's inventory (in service, not checked out)."""
    agency = require_manager(actor)
    serial = _clean(serial, "serial")
    if Device.objects.filter(agency=agency, serial__iexact=serial).exists():
        raise ValidationError({"serial": "The agency already has a device with this serial."})
    device = Device.objects.create(
        agency=agency,
        serial=serial,
        make=_clean(make, "make"),
        model=_clean(model, "model"),
        firmware=_clean(firmware, "firmware", required=False),
    )
    audit_record(
        action=actions.DEVICE_ADDED.name,
        actor=actor,
        target=device,
        details={"serial": device.serial, "make": device.make, "model": device.model},
    )
    return device


@transaction.atomic
def device_update(
    *, actor: User, device: Device, status: str | None = None, firmware: str | None = None
) -> Device:
    """Change a device's status (in service, in repair, retired) or firmware version.

    A device out with an officer is checked in before it leaves service; retiring it revokes
    its credential, so a retired camera can no longer call the API."""
    require_manager(actor, device)
    locked = Device.objects.select_for_update().get(pk=device.pk)
    changes: dict[str, list[str]] = {}
    if status is not None and status != locked.status:
        if status not in Device.Status.values:
            raise ValidationError({"status": "Not a device status."})
        if status != Device.Status.IN_SERVICE and selectors.open_assignment_of(locked):
            raise ValidationError({"status": "The device is checked out: check it in first."})
        changes["status"] = [locked.status, status]
        locked.status = status
    if firmware is not None:
        firmware = _clean(firmware, "firmware", required=False)
        if firmware != locked.firmware:
            changes["firmware"] = [locked.firmware, firmware]
            locked.firmware = firmware
    if not changes:
        return locked
    locked.save(update_fields=list(changes))
    audit_record(action=actions.DEVICE_CHANGED.name, actor=actor, target=locked, details=changes)
    if locked.status == Device.Status.RETIRED:
        _revoke_live(actor=actor, device=locked, why="retired")
    return locked


@transaction.atomic
def training_record(
    *, actor: User, officer: User, course: str, completed_on: dt.date, expires_on: dt.date
) -> TrainingRecord:
    """Record that an officer of the actor's agency completed body-camera training."""
    agency = require_manager(actor)
    if officer.agency_id != agency.pk or not can_wear_devices(officer):
        raise PermissionDenied
    course = course.strip()
    if not course:
        raise ValidationError({"course": "Name the course."})
    if completed_on > selectors.agency_today(agency):
        raise ValidationError({"completed_on": "The course cannot be completed in the future."})
    if expires_on < completed_on:
        raise ValidationError({"expires_on": "It cannot expire before it was completed."})
    record = TrainingRecord.objects.create(
        agency=agency,
        officer=officer,
        course=course[:200],
        completed_on=completed_on,
        expires_on=expires_on,
        recorded_by=actor,
    )
    audit_record(
        action=actions.TRAINING_RECORDED.name,
        actor=actor,
        target=officer,
        details={
            "record": record.pk,
            "course": record.course,
            "completed_on": completed_on.isoformat(),
            "expires_on": expires_on.isoformat(),
        },
    )
    return record


def _checkout_refusal(device: Device, officer: User) -> str:
    """Why the device may not go to the officer now ("" when it may)."""
    if device.status != Device.Status.IN_SERVICE:
        return f"The device is {device.get_status_display().lower()}, not in service."
    if selectors.open_assignment_of(device) is not None:
        return "The device is already checked out: check it in first."
    if selectors.current_device_of(officer) is not None:
        return "The officer already has a device checked out."
    if not selectors.training_is_current(officer):
        return "The officer has no current body-camera training."
    return ""


def device_check_out(
    *, actor: User, device: Device, officer: User, unit: str = ""
) -> DeviceAssignment:
    """Check a device out to an officer of the agency, for a shift (riding as CAD `unit`).

    Refused (CheckoutRefused, and audited as such) when the officer has no current training, or
    the device is not in service or already out; the database's one-open-assignment constraints
    back this against two check-outs at once. The refusal's audit row is committed, so it is
    written outside the refused change's savepoint."""
    require_manager(actor, device)
    if officer.agency_id != actor.agency_id or not can_wear_devices(officer):
        raise PermissionDenied
    unit = _clean(unit, "unit", required=False)[:32]
    why = ""
    assignment = None
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        why = _checkout_refusal(locked, officer)
        if not why:
            try:
                with transaction.atomic():
                    assignment = DeviceAssignment.objects.create(
                        device=locked,
                        officer=officer,
                        checked_out_at=timezone.now(),
                        checked_out_by=actor,
                        unit=unit,
                    )
            except IntegrityError:
                why = "The device or the officer was checked out at the same moment."
        if assignment is not None:
            audit_record(
                action=actions.DEVICE_CHECKED_OUT.name,
                actor=actor,
                target=locked,
                details={"officer": officer.pk, "assignment": assignment.pk, "unit": unit},
            )
        else:
            audit_record(
                action=actions.DEVICE_CHECKOUT_REFUSED.name,
                actor=actor,
                target=locked,
                outcome=AuditEvent.Outcome.DENIED,
                details={"officer": officer.pk, "why": why},
            )
    if assignment is None:
        raise CheckoutRefused(why)
    return assignment


@transaction.atomic
def device_check_in(*, actor: User, device: Device) -> DeviceAssignment:
    """End the device's open assignment."""
    require_manager(actor, device)
    locked = Device.objects.select_for_update().get(pk=device.pk)
    assignment = (
        DeviceAssignment.objects.select_for_update()
        .filter(device=locked, checked_in_at__isnull=True)
        .first()
    )
    if assignment is None:
        raise ValidationError("The device is not checked out.")
    assignment.checked_in_at = timezone.now()
    assignment.checked_in_by = actor
    assignment.save(update_fields=["checked_in_at", "checked_in_by"])
    location_forget(locked)  # no longer worn: nobody's place to show
    audit_record(
        action=actions.DEVICE_CHECKED_IN.name,
        actor=actor,
        target=locked,
        details={"officer": assignment.officer_id, "assignment": assignment.pk},
    )
    return assignment


def _revoke_live(*, actor: User, device: Device, why: str) -> DeviceCredential | None:
    live = (
        DeviceCredential.objects.select_for_update()
        .filter(device=device, revoked_at__isnull=True)
        .first()
    )
    if live is None:
        return None
    live.revoked_at = timezone.now()
    live.save(update_fields=["revoked_at"])
    if why != "rotated":
        location_forget(device)  # it can no longer say where it is
    audit_record(
        action=actions.CREDENTIAL_REVOKED.name,
        actor=actor,
        target=device,
        details={"credential": live.pk, "why": why},
    )
    return live


@transaction.atomic
def credential_issue(*, actor: User, device: Device) -> tuple[DeviceCredential, str]:
    """A new credential for the device, and its token, shown once and never stored.

    Any live credential is revoked first (rotation): a device holds one at a time."""
    require_manager(actor, device)
    locked = Device.objects.select_for_update().get(pk=device.pk)
    if locked.status == Device.Status.RETIRED:
        raise ValidationError("A retired device gets no credential.")
    old = _revoke_live(actor=actor, device=locked, why="rotated")
    token, digest = token_issue()
    credential = DeviceCredential.objects.create(
        device=locked,
        token_hash=digest,
        stream_key_hash=token_digest(stream_key_for(token)),
        created_by=actor,
    )
    audit_record(
        action=actions.CREDENTIAL_ISSUED.name,
        actor=actor,
        target=locked,
        details={"credential": credential.pk, "replaces": old.pk if old else None},
    )
    return credential, token


@transaction.atomic
def credential_revoke(*, actor: User, device: Device) -> DeviceCredential:
    """Revoke the device's live credential; its next call is refused."""
    require_manager(actor, device)
    locked = Device.objects.select_for_update().get(pk=device.pk)
    revoked = _revoke_live(actor=actor, device=locked, why="revoked")
    if revoked is None:
        raise ValidationError("The device has no live credential.")
    return revoked


@transaction.atomic
def device_record_view(*, actor: User, device: Device) -> None:
    """Someone opened the device's page (its assignments and credential state)."""
    if not can_view_device(actor, device):
        raise PermissionDenied
    audit_record(action=actions.DEVICE_VIEWED.name, actor=actor, target=device)
