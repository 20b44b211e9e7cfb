"""CAD intake writes: the agency's CAD link (secret, remote-activation flag), each incident a
CAD sends (a case of the same number, opened or updated), and filing the recordings of the
incident's units into that case, now or when their evidence item arrives (auto-tagging)."""

import datetime as dt
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from devices import audit_actions as actions
from devices import cad, live, webhooks
from devices.models import (
    CadIncident,
    CadLink,
    CadNonce,
    Device,
    DeviceAssignment,
    DeviceCommand,
    Recording,
)
from devices.services.inventory import require_manager
from evidence import services as evidence_services
from portal.audit import audit_record
from portal.models import Agency, User
from portal.roles import Role

CAD_LABEL = "CAD intake"


class NonceReplayed(Exception):
    """The webhook's nonce was already used within the freshness window."""


class CaseLeadMissing(Exception):
    """No supervisor of the agency can lead the cases CAD opens: the delivery waits for one."""


@transaction.atomic
def cad_secret_rotate(*, actor: User) -> tuple[CadLink, str]:
    """A new webhook secret for the actor's agency, returned once (only its seal is kept);
    the old secret stops working at once."""
    agency = require_manager(actor)
    secret = webhooks.secret_new()
    sealed = cad.secret_seal(secret, agency_id=agency.pk)
    link, made = CadLink.objects.select_for_update().get_or_create(
        agency=agency,
        defaults={"secret_sealed": sealed, "rotated_at": timezone.now(), "rotated_by": actor},
    )
    if not made:
        link.secret_sealed = sealed
        link.rotated_at = timezone.now()
        link.rotated_by = actor
        link.save(update_fields=["secret_sealed", "rotated_at", "rotated_by"])
    audit_record(
        action=actions.CAD_SECRET_ROTATED.name,
        actor=actor,
        target=link,
        details={"first": made},
    )
    return link, secret


@transaction.atomic
def cad_remote_activation_set(*, actor: User, enabled: bool) -> CadLink:
    """Store the agency's choice about CAD-triggered camera activation: when on, each unit a
    CAD incident dispatches has its camera told to start recording."""
    agency = require_manager(actor)
    link = CadLink.objects.select_for_update().filter(agency=agency).first()
    if link is None:
        raise ValidationError("Set up the CAD link (make its secret) first.")
    if link.remote_activation != enabled:
        link.remote_activation = enabled
        link.save(update_fields=["remote_activation"])
        audit_record(
            action=actions.CAD_REMOTE_ACTIVATION_SET.name,
            actor=actor,
            target=link,
            details={"enabled": enabled},
        )
    return link


def cad_secret_of(link: CadLink) -> str:
    """The agency's webhook secret, unsealed, for checking a signature."""
    return cad.secret_unseal(link.secret_sealed, agency_id=link.agency_id)


@transaction.atomic
def cad_nonce_use(*, agency: Agency, nonce: str, now: dt.datetime) -> None:
    """Spend a nonce; NonceReplayed when it was spent within the freshness window. Older
    nonces are forgotten here too: past the window their timestamps are refused anyway."""
    nonce = nonce.strip()
    if not nonce or len(nonce) > 128:
        raise ValidationError({"Canvass-Nonce": "Send a nonce of 1 to 128 characters."})
    CadNonce.objects.filter(received_at__lt=now - 2 * webhooks.FRESHNESS).delete()
    try:
        with transaction.atomic():
            CadNonce.objects.create(agency=agency, nonce=nonce, received_at=now)
    except IntegrityError as exc:
        raise NonceReplayed(nonce) from exc


def _case_lead(link: CadLink) -> User:
    """Who leads a CAD-opened case: whoever set the link up, else a supervisor of the agency."""
    eligible = evidence_services.can_view_evidence_role
    if eligible(link.rotated_by):
        return link.rotated_by
    supervisors = User.objects.filter(agency_id=link.agency_id, role=Role.SUPERVISOR)
    for user in supervisors.filter(is_active=True).order_by("pk"):
        if eligible(user):
            return user
    raise CaseLeadMissing(
        "No supervisor of the agency can lead the cases CAD opens; retry once one is set up."
    )


def _matching_recordings(incident: CadIncident) -> list[Recording]:
    """Recordings of the agency's devices, worn by one of the incident's units at the time,
    that overlap the dispatched-to-cleared window."""
    if not incident.units:
        return []
    window_end = incident.cleared_at or timezone.now()
    # Only the shifts that overlap the window: call signs come back every shift.
    assignments = DeviceAssignment.objects.filter(
        Q(checked_in_at__isnull=True) | Q(checked_in_at__gte=incident.dispatched_at),
        device__agency_id=incident.agency_id,
        unit__in=incident.units,
        checked_out_at__lte=window_end,
    )
    found: list[Recording] = []
    for assignment in assignments:
        worn = Q(started_at__gte=assignment.checked_out_at)
        if assignment.checked_in_at is not None:
            worn &= Q(started_at__lte=assignment.checked_in_at)
        found.extend(
            Recording.objects.select_related("item").filter(
                worn,
                agency_id=incident.agency_id,
                device_id=assignment.device_id,
                started_at__lte=window_end,
                stopped_at__gte=incident.dispatched_at,
            )
        )
    return found


def _file(*, recording: Recording, incident: CadIncident, retagged: list[dict[str, str]]) -> bool:
    """Mark the recording with the incident (noted in `retagged` for the audit row), and put its
    item in the case if it has one."""
    if recording.cad_event_id != incident.incident_id:
        retagged.append(
            {
                "recording": str(recording.pk),
                "old": recording.cad_event_id,
                "new": incident.incident_id,
            }
        )
        recording.cad_event_id = incident.incident_id
        recording.save(update_fields=["cad_event_id"])
    if recording.item is None:
        return False
    return evidence_services.case_item_link_by_number(
        agency=incident.agency,
        case_number=incident.incident_id,
        item=recording.item,
        actor_label=f"{CAD_LABEL}: unit of incident {incident.incident_id}",
    )


@transaction.atomic
def cad_incident_receive(
    *, agency: Agency, incident: cad.Incident, payload: dict[str, Any]
) -> CadIncident:
    """Keep the incident as sent, open or update its case (number = CAD incident id), and file
    the recordings of its units in the window. Sending it again re-files idempotently."""
    # The link's row, locked: one agency's deliveries are taken one at a time, so two copies of
    # a new incident sent at once cannot both try to make its row and its case.
    link = CadLink.objects.select_for_update().filter(agency=agency).first()
    if link is None:
        raise PermissionDenied
    now = timezone.now()
    point = Point(incident.lon, incident.lat, srid=4326) if incident.lat is not None else None
    fields = {
        "incident_type": incident.incident_type,
        "point": point,
        "units": incident.units,
        "dispatched_at": incident.dispatched_at,
        "cleared_at": incident.cleared_at,
        "last_update_at": incident.last_update_at,
        "payload": payload,
        "received_at": now,
    }
    row, made = CadIncident.objects.select_for_update().get_or_create(
        agency=agency, incident_id=incident.incident_id, defaults=fields
    )
    units_before = set() if made else set(row.units)
    if not made:
        if (
            row.last_update_at
            and incident.last_update_at
            and incident.last_update_at < row.last_update_at
        ):
            # An older update arriving late must not undo a newer one.
            return row
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
    case, _ = evidence_services.case_open_for_incident(
        agency=agency,
        number=incident.incident_id,
        title=f"CAD {incident.incident_id}: {incident.incident_type}",
        incident_time=incident.dispatched_at,
        point=point,
        lead=_case_lead(link),
        actor_label=CAD_LABEL,
    )
    recordings = _matching_recordings(row)
    retagged: list[dict[str, str]] = []
    filed = sum(_file(recording=r, incident=row, retagged=retagged) for r in recordings)
    activated: list[str] = []
    if link.remote_activation and row.cleared_at is None:
        activated = _activate_units(row, sorted(set(row.units) - units_before))
    audit_record(
        action=actions.CAD_INCIDENT_RECEIVED.name,
        actor_label=CAD_LABEL,
        target=row,
        agency=agency,
        case_ref=case.number,
        details={
            "incident": row.incident_id,
            "new": made,
            "units": row.units,
            "recordings": len(recordings),
            "filed": filed,
            "retagged": retagged,
            "activated": activated,
        },
    )
    return row


def _activate_units(incident: CadIncident, units: list[str]) -> list[str]:
    """Tell the cameras worn by newly dispatched units to start recording (the agency turned
    remote activation on); the device ids told. A unit already sent to the incident is not
    told again when the CAD updates it."""
    if not units:
        return []
    assignments = DeviceAssignment.objects.filter(
        checked_in_at__isnull=True,
        device__agency_id=incident.agency_id,
        device__status=Device.Status.IN_SERVICE,
        unit__in=units,
    )
    commands = [
        DeviceCommand(
            device_id=a.device_id,
            kind=DeviceCommand.Kind.START_RECORDING,
            reason=f"Dispatched to CAD incident {incident.incident_id}"[:200],
        )
        for a in assignments
    ]
    DeviceCommand.objects.bulk_create(commands)
    for command in commands:
        live.device_wake(command.device_id)
    return [str(c.device_id) for c in commands]


@transaction.atomic
def cad_recordings_file(recording: Recording) -> list[str]:
    """File a recording whose item just arrived (or whose manifest came after the incident)
    into the cases of the CAD incidents its unit was dispatched to; the case numbers filed."""
    assignment = (
        DeviceAssignment.objects.filter(
            device_id=recording.device_id, checked_out_at__lte=recording.started_at
        )
        .filter(Q(checked_in_at__isnull=True) | Q(checked_in_at__gte=recording.started_at))
        .exclude(unit="")
        .first()
    )
    # A number the camera was tagged with (its manifest's cad_event_id), or one an incident
    # marked it with before its item arrived: filed too, when the agency has such a case.
    number = recording.cad_event_id
    filed: list[str] = []
    if assignment is not None:
        filed = _file_by_unit(recording, assignment.unit)
    if recording.item is None or not number or number in filed:
        return filed
    if evidence_services.case_item_link_by_number(
        agency=recording.agency,
        case_number=number,
        item=recording.item,
        actor_label=f"{CAD_LABEL}: recording tagged {number}",
    ):
        filed.append(number)
    return filed


def _file_by_unit(recording: Recording, unit: str) -> list[str]:
    incidents = CadIncident.objects.filter(
        agency_id=recording.agency_id,
        units__contains=[unit],
        dispatched_at__lte=recording.stopped_at,
    ).filter(Q(cleared_at__isnull=True) | Q(cleared_at__gte=recording.started_at))
    filed = []
    # Filed as its item arrives: the case's own `case.item_added` row names the incident, so
    # the tag changes need no row of their own here.
    retagged: list[dict[str, str]] = []
    for incident in incidents.order_by("dispatched_at"):
        if _file(recording=recording, incident=incident, retagged=retagged):
            filed.append(incident.incident_id)
    return filed
