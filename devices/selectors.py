"""Body-camera reads, each scoped to the actor's agency: the inventory, the officers who may
wear a camera, the assignment history, and the recordings."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from devices.models import (
    CadLink,
    Device,
    DeviceAssignment,
    DeviceCredential,
    Recording,
    TrainingRecord,
)
from devices.policies import WEAR_DEVICES, can_manage_devices, can_view_devices
from portal.models import Agency, User
from portal.roles import AgencyKind, Role, capabilities_of
from portal.tokens import token_digest, token_matches


def agency_today(agency: Agency) -> dt.date:
    """Today's date where the agency is: a training course expires at its local midnight."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(agency.time_zone))


def current_training(*, agency: Agency) -> QuerySet[TrainingRecord]:
    """Training records of the agency that are current today (completed, not yet expired)."""
    today = agency_today(agency)
    return TrainingRecord.objects.filter(
        agency=agency, completed_on__lte=today, expires_on__gte=today
    )


def _wearer_roles() -> list[str]:
    return [role for role in Role if WEAR_DEVICES in capabilities_of(role)]


@dataclass(frozen=True)
class InventoryFilters:
    """The inventory list's filters; empty strings mean "any"."""

    status: str = ""
    assigned: str = ""  # "yes" | "no"
    training: str = ""  # "current" | "expired": of the officer the device is checked out to


def devices_for(*, actor: User, filters: InventoryFilters | None = None) -> QuerySet[Device]:
    """The agency's devices, each annotated with its current officer and whether that officer's
    training is current (`current_officer_id`, `current_officer_name`, `training_current`)."""
    if not can_view_devices(actor) or actor.agency is None:
        raise PermissionDenied
    open_assignment = DeviceAssignment.objects.filter(
        device=OuterRef("pk"), checked_in_at__isnull=True
    )
    devices = Device.objects.filter(agency=actor.agency_id).annotate(
        current_officer_id=Subquery(open_assignment.values("officer_id")[:1]),
        current_officer_name=Subquery(open_assignment.values("officer__full_name")[:1]),
    )
    devices = devices.annotate(
        training_current=Exists(
            current_training(agency=actor.agency).filter(officer=OuterRef("current_officer_id"))
        )
    )
    filters = filters or InventoryFilters()
    if filters.status:
        devices = devices.filter(status=filters.status)
    if filters.assigned == "yes":
        devices = devices.filter(current_officer_id__isnull=False)
    elif filters.assigned == "no":
        devices = devices.filter(current_officer_id__isnull=True)
    if filters.training == "current":
        devices = devices.filter(current_officer_id__isnull=False, training_current=True)
    elif filters.training == "expired":
        devices = devices.filter(current_officer_id__isnull=False, training_current=False)
    return devices.order_by("serial")


def device_get_for(*, actor: User, id: UUID | str, write: bool = False) -> Device:
    """One device of the actor's agency: 404 for anyone else, 403 to write without managing."""
    try:
        device = devices_for(actor=actor).get(pk=id)
    except (Device.DoesNotExist, ValueError, ValidationError, PermissionDenied) as exc:
        raise Http404("No such device.") from exc
    if write and not can_manage_devices(actor):
        raise PermissionDenied
    return device


def officers_for(*, actor: User) -> QuerySet[User]:
    """The agency's active officers who may wear a camera (their role allows it), annotated with
    `training_current`; training decides whether a check-out is allowed."""
    if not can_view_devices(actor) or actor.agency is None:
        raise PermissionDenied
    if actor.agency.kind != AgencyKind.POLICE:
        return User.objects.none()
    return (
        User.objects.filter(agency=actor.agency_id, is_active=True, role__in=_wearer_roles())
        .annotate(
            training_current=Exists(
                current_training(agency=actor.agency).filter(officer=OuterRef("pk"))
            )
        )
        .order_by("full_name", "pk")
    )


def officer_get_for(*, actor: User, id: int | str, write: bool = False) -> User:
    """One officer of the actor's agency: 404 for anyone else, 403 to write without managing."""
    try:
        officer = officers_for(actor=actor).get(pk=id)
    except (User.DoesNotExist, ValueError, PermissionDenied) as exc:
        raise Http404("No such officer.") from exc
    if write and not can_manage_devices(actor):
        raise PermissionDenied
    return officer


def training_of(officer: User) -> QuerySet[TrainingRecord]:
    return TrainingRecord.objects.filter(officer=officer).order_by("-expires_on", "-pk")


def training_is_current(officer: User) -> bool:
    """Whether the officer holds a training record current today in their agency."""
    if officer.agency is None:
        return False
    return current_training(agency=officer.agency).filter(officer=officer).exists()


def assignments_of(device: Device) -> QuerySet[DeviceAssignment]:
    """The device's check-outs, newest first."""
    return DeviceAssignment.objects.filter(device=device).select_related(
        "officer", "checked_out_by", "checked_in_by"
    )


def open_assignment_of(device: Device) -> DeviceAssignment | None:
    return assignments_of(device).filter(checked_in_at__isnull=True).first()


def current_device_of(officer: User) -> Device | None:
    """The device checked out to the officer now, if any."""
    assignment = (
        DeviceAssignment.objects.filter(officer=officer, checked_in_at__isnull=True)
        .select_related("device")
        .first()
    )
    return assignment.device if assignment else None


def officer_at(device: Device, when: dt.datetime) -> User | None:
    """Who wore the device at `when`, from the assignment history (None: nobody had it)."""
    assignment = (
        DeviceAssignment.objects.filter(device=device, checked_out_at__lte=when)
        .filter(Q(checked_in_at__isnull=True) | Q(checked_in_at__gt=when))
        .select_related("officer")
        .order_by("-checked_out_at")
        .first()
    )
    return assignment.officer if assignment else None


def live_credential_of(device: Device) -> DeviceCredential | None:
    return DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).first()


def credential_for_token(token: str) -> DeviceCredential | None:
    """The live credential a device's bearer token is, or None (revoked, unknown, empty)."""
    if not token:
        return None
    credential = (
        DeviceCredential.objects.filter(token_hash=token_digest(token), revoked_at__isnull=True)
        .select_related("device")
        .first()
    )
    if credential is None or not token_matches(token, credential.token_hash):
        return None
    return credential


def recordings_for(
    *, actor: User, officer: User | None = None, device: Device | None = None
) -> QuerySet[Recording]:
    """The agency's recordings, newest first, optionally of one officer or one device."""
    if not can_view_devices(actor) or actor.agency is None:
        raise PermissionDenied
    recordings = Recording.objects.filter(agency=actor.agency_id).select_related(
        "device", "officer", "item"
    )
    if officer is not None:
        recordings = recordings.filter(officer=officer)
    if device is not None:
        recordings = recordings.filter(device=device)
    return recordings.order_by("-started_at")


def cad_link_for(*, actor: User) -> CadLink | None:
    """The actor's agency's CAD link, if it has one (its secret stays sealed)."""
    if actor.agency_id is None:
        return None
    return CadLink.objects.filter(agency_id=actor.agency_id).select_related("rotated_by").first()
