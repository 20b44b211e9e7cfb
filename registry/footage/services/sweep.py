"""Footage requests over time: files that arrived, deadlines that passed, reminders due.

footage_requests_sweep runs from the beat (registry.footage.tasks) and is safe to run again.
"""

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from evidence import selectors as evidence_selectors
from evidence.models import EvidenceItem, Source
from portal.audit import audit_record
from registry.footage import audit_actions as actions
from registry.footage.selectors import overwrite_at
from registry.footage.services.create import (
    OWNER_LABEL,
    _deliver,
    _new_link,
    _owner_email_context,
    link_path,
)
from registry.models import (
    Camera,
    FootageRequest,
    FootageRequestCamera,
    FootageRequestRecipient,
)

Status = FootageRequestCamera.Status
REMINDER_LEAD = dt.timedelta(hours=24)


# --- uploads that arrived --------------------------------------------------------------------


def _items_by_camera(
    request_cameras: Sequence[FootageRequestCamera],
) -> dict[int, list[EvidenceItem]]:
    by_ref: dict[int, list[EvidenceItem]] = defaultdict(list)
    refs = [str(rc.pk) for rc in request_cameras]
    for item in evidence_selectors.items_from_source(source=Source.FOOTAGE_REQUEST, refs=refs):
        by_ref[int(item.source_ref)].append(item)
    return by_ref


def footage_uploads_record(*, request_cameras: Sequence[FootageRequestCamera]) -> int:
    """Cameras whose owner's files arrived become `uploaded` (once); returns how many changed."""
    pending = [rc for rc in request_cameras if rc.status in (Status.SENT, Status.OPENED)]
    if not pending:
        return 0
    changed = 0
    items = _items_by_camera(pending)
    for rc in pending:
        arrived = items.get(rc.pk)
        if not arrived:
            continue
        first = min(item.received_at for item in arrived)
        with transaction.atomic():
            if FootageRequestCamera.objects.filter(
                pk=rc.pk, status__in=[Status.SENT, Status.OPENED]
            ).update(status=Status.UPLOADED, answered_at=first):
                rc.status, rc.answered_at = Status.UPLOADED, first
                changed += 1
                audit_record(
                    action=actions.FOOTAGE_REQUEST_ANSWERED.name,
                    actor_label=OWNER_LABEL,
                    target=rc.request,
                    agency=rc.request.agency,
                    details={
                        "camera_id": str(rc.camera_id),
                        "answer": Status.UPLOADED,
                        "items": [str(i.pk) for i in arrived],
                    },
                )
    return changed


# --- deadlines and reminders ------------------------------------------------------------------


def _in_quiet_hours(cameras: list[Camera], now: dt.datetime) -> bool:
    for camera in cameras:
        if camera.quiet_from is None or camera.quiet_until is None:
            continue
        local = now.astimezone(zoneinfo.ZoneInfo(camera.time_zone)).time()
        start, end = camera.quiet_from, camera.quiet_until
        inside = start <= local < end if start <= end else (local >= start or local < end)
        if inside:
            return True
    return False


def _expire(now: dt.datetime) -> int:
    due = list(
        FootageRequestCamera.objects.filter(
            status__in=[Status.SENT, Status.OPENED], request__deadline__lte=now
        ).values_list("pk", "request_id", "request__agency_id")
    )
    by_agency = defaultdict(list)
    for pk, request_id, agency_id in due:
        by_agency[agency_id].append((pk, request_id))
    expired = 0
    for rows in by_agency.values():
        with transaction.atomic():
            count = FootageRequestCamera.objects.filter(
                pk__in=[pk for pk, _ in rows], status__in=[Status.SENT, Status.OPENED]
            ).update(status=Status.EXPIRED)
            if count:
                request = FootageRequest.objects.select_related("agency").get(pk=rows[0][1])
                audit_record(
                    action=actions.FOOTAGE_REQUESTS_EXPIRED.name,
                    actor_label="footage request expiry",
                    agency=request.agency,
                    details={"requests": sorted({str(r) for _, r in rows}), "cameras": count},
                )
            expired += count
    return expired


def _reminders_due(recipient: FootageRequestRecipient, now: dt.datetime) -> list[str]:
    request = recipient.request
    unanswered = [rc for rc in recipient.cameras.all() if rc.status in (Status.SENT, Status.OPENED)]
    if not unanswered or request.deadline <= now:
        return []
    due = []
    if recipient.deadline_reminder_at is None and request.deadline - now <= REMINDER_LEAD:
        due.append("deadline")
    if recipient.overwrite_reminder_at is None and any(
        now < overwrite_at(request, rc.camera) <= now + REMINDER_LEAD for rc in unanswered
    ):
        due.append("overwrite")
    return due


def _remind(recipient: FootageRequestRecipient, kinds: list[str], now: dt.datetime) -> bool:
    """Claim the reminder flags with one conditional UPDATE, then email after commit (once)."""
    claim = Q(pk=recipient.pk)
    fields = {}
    if "deadline" in kinds:
        claim &= Q(deadline_reminder_at__isnull=True)
        fields["deadline_reminder_at"] = now
    if "overwrite" in kinds:
        claim &= Q(overwrite_reminder_at__isnull=True)
        fields["overwrite_reminder_at"] = now
    with transaction.atomic():
        if not FootageRequestRecipient.objects.filter(claim).update(**fields):
            return False
        token = _new_link(recipient)
        path = link_path(recipient.request, token)
        audit_record(
            action=actions.FOOTAGE_REMINDER_SENT.name,
            actor_label="footage request reminders",
            target=recipient.request,
            agency=recipient.request.agency,
            # Not the recipient: only owners who have not answered are reminded, so naming one
            # would tell the agency who ignored its request.
            details={"kinds": kinds},
        )
        context = _owner_email_context(recipient) | {"kinds": kinds}
        to = recipient.owner.email
        transaction.on_commit(
            lambda: _deliver(recipient, "reminder", to=to, path=path, context=context)
        )
    return True


def footage_requests_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Record arrived uploads, expire past deadlines, send due reminders. Safe to run again."""
    now = now or timezone.now()
    live = FootageRequestCamera.objects.filter(
        status__in=[Status.SENT, Status.OPENED], request__status=FootageRequest.Status.SENT
    ).select_related("request__agency")
    uploaded = footage_uploads_record(request_cameras=list(live))
    expired = _expire(now)
    reminded = 0
    recipients = (
        FootageRequestRecipient.objects.filter(
            request__status=FootageRequest.Status.SENT,
            request__deadline__gt=now,
            cameras__status__in=[Status.SENT, Status.OPENED],
        )
        .filter(Q(deadline_reminder_at__isnull=True) | Q(overwrite_reminder_at__isnull=True))
        .distinct()
        .select_related("request__agency", "owner")
        .prefetch_related("cameras__camera")
    )
    for recipient in recipients:
        kinds = _reminders_due(recipient, now)
        if not kinds:
            continue
        if _in_quiet_hours([rc.camera for rc in recipient.cameras.all()], now):
            continue  # the next run after the quiet hours sends it
        reminded += _remind(recipient, kinds, now)
    return {"uploaded": uploaded, "expired": expired, "reminded": reminded}
