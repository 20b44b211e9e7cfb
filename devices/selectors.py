"""Body-camera reads, each scoped to the actor's agency: the inventory, the officers who may
wear a camera, the assignment history, the recordings, the operations page (alerts and
where recording officers are), and for the evidence store the GPS track of a recording's item."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from devices.models import (
    Alert,
    AlertPriority,
    AlertRule,
    CadLink,
    Device,
    DeviceAssignment,
    DeviceCredential,
    Recording,
    TrainingRecord,
    TriggerKind,
    TriggerSource,
)
from devices.policies import WEAR_DEVICES, can_manage_devices, can_operate, can_view_devices
from devices.tracks import Fix, geojson_of
from evidence.models import EvidenceItem
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


def device_choices_for(*, actor: User) -> QuerySet[Device]:
    """The agency's devices, bare (no current officer): what a filter checks an id against."""
    if not can_view_devices(actor) or actor.agency is None:
        raise PermissionDenied
    return Device.objects.filter(agency=actor.agency_id)


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


def officers_free_for(*, actor: User) -> QuerySet[User]:
    """The officers a device may be checked out to now: those of officers_for not holding
    another device (an officer holds one at a time)."""
    holding = DeviceAssignment.objects.filter(officer=OuterRef("pk"), checked_in_at__isnull=True)
    return officers_for(actor=actor).exclude(Exists(holding))


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
    *,
    actor: User,
    officer: User | None = None,
    device: Device | None = None,
    incident: str = "",
    serial: str = "",
    wearer: str = "",
) -> QuerySet[Recording]:
    """The agency's recordings, newest first, optionally of one officer, one device or one CAD
    incident (the number the recording is tagged with), of the device with a serial (any case)
    or of the officers whose name holds `wearer` or whose email it is."""
    if not can_view_devices(actor) or actor.agency is None:
        raise PermissionDenied
    recordings = Recording.objects.filter(agency=actor.agency_id).select_related(
        "device", "officer", "item"
    )
    if officer is not None:
        recordings = recordings.filter(officer=officer)
    if device is not None:
        recordings = recordings.filter(device=device)
    if incident:
        recordings = recordings.filter(cad_event_id=incident)
    if serial:
        recordings = recordings.filter(
            device__in=Device.objects.filter(agency=actor.agency_id, serial__iexact=serial)
        )
    if wearer:
        recordings = recordings.filter(
            officer__in=User.objects.filter(agency=actor.agency_id).filter(
                Q(full_name__icontains=wearer) | Q(email__iexact=wearer)
            )
        )
    return recordings.order_by("-started_at")


def item_track(item: EvidenceItem) -> dict[str, Any] | None:
    """The GPS track of the recording a body-camera item came from, as GeoJSON (tracks.geojson_of);
    None when the camera sent none. The store asks this (SourceHooks.item_track) only for an
    item it has already scoped to the reader, so it is not scoped again here."""
    recording = Recording.objects.filter(item=item, agency_id=item.agency_id).first()
    if recording is None:
        return None
    fixes = [
        Fix(t=p.t, lat=p.point.y, lon=p.point.x, accuracy_m=p.accuracy_m)
        for p in recording.track.order_by("t")
    ]
    if not fixes:
        return None
    return geojson_of(
        fixes,
        video_started_at=recording.started_at,
        properties={"recording": str(recording.pk)},
    )


def cad_link_for(*, actor: User) -> CadLink | None:
    """The actor's agency's CAD link, if it has one (its secret stays sealed)."""
    if actor.agency_id is None:
        return None
    return CadLink.objects.filter(agency_id=actor.agency_id).select_related("rotated_by").first()


# --- triggers and operations ---------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    """The agency's policy for one trigger type, its own row or the built-in default."""

    kind: str
    label: str
    priority: str
    start_recording: bool
    nearby_radius_m: int
    custom: bool = False
    set_by_agency: bool = False


# Out of the box every type starts the officer's camera; alarms about the officer's safety are
# high priority, equipment events are activity. Nobody else's camera starts until the agency
# sets a distance.
_HIGH = {
    TriggerKind.TASER_ARMED,
    TriggerKind.GUNSHOT,
    TriggerKind.SOS,
    TriggerKind.OFFICER_DOWN,
    TriggerKind.WATCH_ME,
}


def _default_rule(kind: str) -> RuleView:
    return RuleView(
        kind=kind,
        label=str(TriggerKind(kind).label),
        priority=AlertPriority.HIGH if kind in _HIGH else AlertPriority.GENERAL,
        start_recording=True,
        nearby_radius_m=0,
    )


def _rule_view(row: AlertRule) -> RuleView:
    custom = row.kind not in TriggerKind.values
    return RuleView(
        kind=row.kind,
        label=row.label if custom else str(TriggerKind(row.kind).label),
        priority=row.priority,
        start_recording=row.start_recording,
        nearby_radius_m=row.nearby_radius_m,
        custom=custom,
        set_by_agency=True,
    )


def rule_for(agency: Agency, kind: str) -> RuleView | None:
    """The rule for `kind` in the agency; None for a type it never named."""
    row = AlertRule.objects.filter(agency=agency, kind=kind).first()
    if row is not None:
        return _rule_view(row)
    return _default_rule(kind) if kind in TriggerKind.values else None


def rules_for(*, actor: User) -> list[RuleView]:
    """Every built-in type and each the agency added, with the agency's choices."""
    if not can_manage_devices(actor) or actor.agency_id is None:
        raise PermissionDenied
    rows = {r.kind: r for r in AlertRule.objects.filter(agency_id=actor.agency_id)}
    rules = [_rule_view(rows.pop(k)) if k in rows else _default_rule(k) for k in TriggerKind]
    return rules + [_rule_view(row) for row in rows.values()]


def trigger_sources_for(*, actor: User) -> QuerySet[TriggerSource]:
    if not can_manage_devices(actor) or actor.agency_id is None:
        raise PermissionDenied
    return TriggerSource.objects.filter(agency_id=actor.agency_id, revoked_at__isnull=True)


def _label_of(kind: str, custom_labels: dict[str, str]) -> str:
    if kind in TriggerKind.values:
        return str(TriggerKind(kind).label)
    return custom_labels.get(kind, kind)


def alert_payload(alert: Alert, custom_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """An alert as the operations page draws it (text only; the page builds no HTML from it)."""
    if custom_labels is None:
        custom_labels = dict(
            AlertRule.objects.filter(agency_id=alert.agency_id, kind=alert.kind).values_list(
                "kind", "label"
            )
        )
    return {
        "id": str(alert.pk),
        "kind": alert.kind,
        "label": _label_of(alert.kind, custom_labels),
        "priority": alert.priority,
        "state": alert.state,
        "officer": alert.officer.label if alert.officer else None,
        "device": alert.device.serial if alert.device else None,
        "unit": alert.trigger.unit if alert.trigger_id else "",
        "lat": alert.location.y if alert.location else None,
        "lon": alert.location.x if alert.location else None,
        "raised_at": alert.raised_at.isoformat(),
        "expires_at": alert.expires_at.isoformat(),
    }


def location_payload(device: Device, assignment: DeviceAssignment | None) -> dict[str, Any]:
    """A recording officer's last known place, as the operations map draws it."""
    point = device.last_location
    return {
        "device": str(device.pk),
        "serial": device.serial,
        "officer": assignment.officer.label if assignment else None,
        "unit": assignment.unit if assignment else "",
        "lat": point.y if point else None,
        "lon": point.x if point else None,
        "at": device.last_location_at.isoformat() if device.last_location_at else None,
    }


def alerts_shown_for(*, actor: User) -> QuerySet[Alert]:
    """Open alerts of the actor's agency raised in the last four hours, newest first."""
    if not can_operate(actor) or actor.agency_id is None:
        raise PermissionDenied
    return (
        Alert.objects.filter(
            agency_id=actor.agency_id, state=Alert.State.OPEN, expires_at__gt=timezone.now()
        )
        .select_related("officer", "device", "trigger")
        .order_by("-raised_at")
    )


def heard_since(now: dt.datetime | None = None) -> dt.datetime:
    """A camera last heard from before this has gone silent: its place is not shown (and is
    forgotten) after DEVICE_LOCATION_STALE_SECONDS."""
    return (now or timezone.now()) - dt.timedelta(seconds=settings.DEVICE_LOCATION_STALE_SECONDS)


def recording_locations_for(*, actor: User) -> list[dict[str, Any]]:
    """Where the agency's recording officers last were: nothing for anyone not recording."""
    if not can_operate(actor) or actor.agency_id is None:
        raise PermissionDenied
    devices = Device.objects.filter(
        agency_id=actor.agency_id,
        status=Device.Status.IN_SERVICE,
        state=Device.State.RECORDING,
        last_location__isnull=False,
        last_heartbeat_at__gte=heard_since(),
    )
    open_assignments = {
        a.device_id: a
        for a in DeviceAssignment.objects.filter(
            device__in=devices, checked_in_at__isnull=True
        ).select_related("officer")
    }
    return [location_payload(d, open_assignments.get(d.pk)) for d in devices]


def operations_snapshot(*, actor: User) -> dict[str, Any]:
    """What an operations page shows when it (re)connects."""
    alerts = list(alerts_shown_for(actor=actor))
    labels = dict(AlertRule.objects.filter(agency=actor.agency).values_list("kind", "label"))
    return {
        "type": "snapshot",
        "alerts": [alert_payload(a, labels) for a in alerts],
        "locations": recording_locations_for(actor=actor),
    }


def alert_get_for(*, actor: User, id: UUID | str) -> Alert:
    """An alert of the actor's agency, open or closed (so closing it twice says so); a
    stranger gets 404, someone of the agency who may not operate gets 403."""
    if actor.agency_id is None:
        raise Http404
    alert = Alert.objects.filter(pk=id, agency_id=actor.agency_id).first()
    if alert is None:
        raise Http404
    if not can_operate(actor):
        raise PermissionDenied
    return alert


def trigger_source_get_for(*, actor: User, id: UUID | str) -> TriggerSource:
    """A live trigger source of the actor's agency, for its manager; 404 otherwise."""
    if actor.agency_id is None:
        raise Http404
    source = trigger_sources_for(actor=actor).filter(pk=id).first()
    if source is None:
        raise Http404
    return source
