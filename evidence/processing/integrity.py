"""Re-hashing originals: proof that what we hold is still what we received."""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.models import EvidenceItem, IntegrityCheck
from portal import emails, storage
from portal.audit import audit_record
from portal.models import User
from portal.roles import Role


def _alert_admins(item: EvidenceItem, found: str, problem: str) -> None:
    admins = User.objects.filter(agency=item.agency, role=Role.AGENCY_ADMIN, is_active=True)
    for admin in admins:
        emails.send_integrity_alert(
            user=admin, item_id=str(item.pk), expected=item.sha256, found=found, problem=problem
        )


def original_verify(*, item: EvidenceItem) -> IntegrityCheck:
    """Re-hash one original and record the result; a mismatch is audited and emailed."""
    try:
        found, problem = storage.object_sha256(item.original_key), ""
    except (OSError, ValueError) as exc:
        found, problem = "", f"the original could not be read: {exc}"
    if found and found != item.sha256:
        problem = "SHA-256 differs from the one recorded when the item was received"
    ok = not problem
    with transaction.atomic():
        check = IntegrityCheck.objects.create(item=item, ok=ok, sha256_found=found, problem=problem)
        EvidenceItem.objects.filter(pk=item.pk).update(last_verified_at=timezone.now())
        audit_record(
            action=(actions.VERIFIED if ok else actions.INTEGRITY_FAILED).name,
            actor_label="system (integrity check)",
            target=item,
            agency=item.agency,
            details={"expected": item.sha256, "found": found, "problem": problem},
        )
        if not ok:
            transaction.on_commit(lambda: _alert_admins(item, found, problem))
    return check


def originals_verify(*, older_than_days: int | None = None) -> list[IntegrityCheck]:
    """Verify every hashed original, or those not verified for `older_than_days` days."""
    items = (
        EvidenceItem.objects.exclude(sha256="")
        .exclude(state=EvidenceItem.State.DELETED)
        .select_related("agency")
        .order_by("received_at")
    )
    if older_than_days is not None:
        cutoff = timezone.now() - dt.timedelta(days=older_than_days)
        items = items.filter(Q(last_verified_at__isnull=True) | Q(last_verified_at__lt=cutoff))
    return [original_verify(item=item) for item in items.iterator(chunk_size=200)]
