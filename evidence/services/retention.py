"""Retention writes: categories, legal holds, two-person deletion, and the nightly sweep."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from evidence import audit_actions as actions
from evidence import policies
from evidence.cases import policies as case_policies
from evidence.models import (
    Case,
    DeletionRequest,
    EvidenceItem,
    RetentionCategory,
)
from portal import emails, storage
from portal.audit import audit_record
from portal.models import Agency, AuditEvent, User


@transaction.atomic
def retention_category_create(*, actor: User, name: str, days: int | None) -> RetentionCategory:
    """A retention rule of the actor's agency (days=None keeps items indefinitely)."""
    # The policy asks for a police agency; `actor.agency is None` says so to the type checker.
    if not policies.can_manage_retention(actor) or actor.agency is None:
        raise PermissionDenied
    name = name.strip()
    if not name:
        raise ValidationError("A category needs a name.")
    if days is not None and days < 1:
        raise ValidationError("Keep items at least one day, or leave days empty for indefinitely.")
    if RetentionCategory.objects.filter(agency=actor.agency_id, name=name).exists():
        raise ValidationError(f"There is already a category called {name}.")
    category = RetentionCategory.objects.create(agency=actor.agency, name=name, days=days)
    audit_record(
        action=actions.RETENTION_CATEGORY_CREATED.name,
        actor=actor,
        target=category,
        details={"name": name, "days": days},
    )
    return category


@transaction.atomic
def item_retention_set(
    *, actor: User, item: EvidenceItem, category: RetentionCategory | None
) -> None:
    """File an item under a retention category (or none: kept until someone decides)."""
    if not case_policies.can_manage_cases(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if category is not None and category.agency_id != item.agency_id:
        raise ValidationError("That category belongs to another agency.")
    old = item.retention_category
    EvidenceItem.objects.filter(pk=item.pk).update(retention_category=category)
    audit_record(
        action=actions.RETENTION_SET.name,
        actor=actor,
        target=item,
        details={"old": str(old) if old else None, "new": str(category) if category else None},
    )
    item.refresh_from_db()


@transaction.atomic
def item_legal_hold_set(*, actor: User, item: EvidenceItem, hold: bool, reason: str) -> None:
    """Place or lift a legal hold: a held item is never deleted, by retention or by hand."""
    if not policies.can_manage_retention(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError("Say why (e.g. the order or the litigation).")
    EvidenceItem.objects.filter(pk=item.pk).update(
        legal_hold=hold, legal_hold_reason=reason.strip() if hold else ""
    )
    audit_record(
        action=actions.LEGAL_HOLD_SET.name,
        actor=actor,
        target=item,
        reason=reason.strip(),
        details={"legal_hold": hold},
    )
    item.refresh_from_db()


def item_protection(*, item: EvidenceItem, lock: bool = False) -> str:
    """Why the item must not be deleted now, or "" when nothing protects it.

    With `lock` (inside the deleting transaction, the item's row already locked) the item's
    cases are locked too, so a case being reopened at this moment is waited for and seen:
    every case of the item is locked and its status read after the lock, not filtered before.
    """
    if item.legal_hold:
        return f"It is under legal hold ({item.legal_hold_reason or 'no reason given'})."
    cases = Case.objects.filter(case_items__item=item).order_by("pk")
    if lock:
        cases = cases.select_for_update(no_key=True, of=("self",))
    open_cases = [c.number for c in cases.only("number", "status") if c.status == Case.Status.OPEN]
    if open_cases:
        return f"It is in open case {', '.join(open_cases)}."
    if item.state in (EvidenceItem.State.RECEIVED, EvidenceItem.State.PROCESSING):
        return "It is still being processed."
    return ""


def deletion_request(*, actor: User, item: EvidenceItem, reason: str) -> DeletionRequest:
    """The first of the two people: ask to delete an item, with the reason."""
    if not policies.can_request_deletion(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError("Say why the item should be deleted.")
    if item.state == EvidenceItem.State.DELETED:
        raise ValidationError("This item is already deleted.")
    if why := item_protection(item=item):
        audit_record(
            action=actions.DELETION_REFUSED.name,
            actor=actor,
            target=item,
            outcome=AuditEvent.Outcome.DENIED,
            details={"why": why, "stage": "request"},
        )
        raise ValidationError(f"This item cannot be deleted: {why}")
    with transaction.atomic():
        if DeletionRequest.objects.filter(item=item, state=DeletionRequest.State.PENDING).exists():
            raise ValidationError("A deletion of this item is already waiting for approval.")
        request = DeletionRequest.objects.create(
            item=item, reason=reason.strip(), requested_by=actor
        )
        audit_record(
            action=actions.DELETION_REQUESTED.name,
            actor=actor,
            target=item,
            reason=reason.strip(),
            details={"request": str(request.pk)},
        )
    return request


def deletion_approve(*, actor: User, request: DeletionRequest) -> EvidenceItem:
    """The second person: approve, and the original and derivatives leave storage.

    The requester cannot approve their own request. The item stays as a tombstone (hash,
    size, custody); storage is cleaned after the commit, outside the transaction.
    Refusals are recorded (outside the refused change, so the record survives).
    """
    if not policies.can_approve_deletion(actor, request):
        audit_record(
            action=actions.DELETION_REFUSED.name,
            actor=actor,
            target=request.item,
            agency=request.item.agency,
            outcome=AuditEvent.Outcome.DENIED,
            details={
                "request": str(request.pk),
                "why": "the requester cannot approve their own request"
                if request.requested_by_id == actor.pk
                else "no capability to approve deletions",
            },
        )
        raise PermissionDenied(
            "A deletion needs a second person with the capability to approve it."
        )
    why = ""
    with transaction.atomic():
        locked = (
            DeletionRequest.objects.select_for_update().select_related("item").get(pk=request.pk)
        )
        if locked.state != DeletionRequest.State.PENDING:
            raise ValidationError("This request was already decided.")
        # Item first, then its cases: the same order as the retention job, so the two never
        # deadlock, and an item the job deleted meanwhile is not "deleted" twice.
        item = EvidenceItem.objects.select_for_update().get(pk=locked.item_id)
        why = (
            "It was already deleted."
            if item.state == EvidenceItem.State.DELETED
            else item_protection(item=item, lock=True)
        )
        locked.state = DeletionRequest.State.REFUSED if why else DeletionRequest.State.APPROVED
        locked.decided_by, locked.decided_at = actor, timezone.now()
        locked.save()
        if why:
            audit_record(
                action=actions.DELETION_REFUSED.name,
                actor=actor,
                target=item,
                outcome=AuditEvent.Outcome.DENIED,
                details={"request": str(locked.pk), "why": why, "stage": "approval"},
            )
            keys = []
        else:
            keys = _tombstone(
                item=item,
                actor=actor,
                details={
                    "request": str(locked.pk),
                    "requested_by": locked.requested_by.label,
                    "approved_by": actor.label,
                },
                reason=locked.reason,
            )
    if why:
        raise ValidationError(f"This item cannot be deleted: {why}")
    _remove_objects(keys)
    item.refresh_from_db()
    return item


@transaction.atomic
def deletion_refuse(*, actor: User, request: DeletionRequest, reason: str) -> None:
    """A second person turns a deletion request down."""
    if not policies.can_approve_deletion(actor, request):
        raise PermissionDenied
    updated = DeletionRequest.objects.filter(
        pk=request.pk, state=DeletionRequest.State.PENDING
    ).update(state=DeletionRequest.State.REFUSED, decided_by=actor, decided_at=timezone.now())
    if updated:
        audit_record(
            action=actions.DELETION_REFUSED.name,
            actor=actor,
            target=request.item,
            details={"request": str(request.pk), "why": reason.strip() or "refused by approver"},
        )


def _tombstone(
    *,
    item: EvidenceItem,
    actor: User | None = None,
    actor_label: str = "",
    details: dict[str, Any],
    reason: str = "",
) -> list[str]:
    """Inside a transaction: mark the item deleted, drop its derivative rows, audit what went.

    Returns the storage keys to remove once the transaction has committed.
    """
    locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
    derivatives = list(locked.derivatives.all())
    keys = [locked.original_key, *(d.key for d in derivatives)]
    audit_record(
        action=actions.DELETED.name,
        actor=actor,
        actor_label=actor_label,
        target=locked,
        agency=locked.agency,
        reason=reason,
        details={
            **details,
            "sha256": locked.sha256,
            "size": locked.size,
            "derivatives": [
                {"name": d.name, "kind": d.kind, "sha256": d.sha256} for d in derivatives
            ],
        },
    )
    locked.derivatives.all().delete()
    locked.state = EvidenceItem.State.DELETED
    locked.state_reason = f"Deleted {timezone.now():%Y-%m-%d %H:%M} UTC: {reason}"[:1000]
    locked.deleted_at = timezone.now()
    locked.save(update_fields=["state", "state_reason", "deleted_at", "updated_at"])
    return keys


def _remove_objects(keys: list[str]) -> None:
    for key in keys:
        storage.delete_object(key)


def retention_due(*, now: dt.datetime | None = None) -> list[EvidenceItem]:
    """Items past their category's retention that nothing protects (open case, legal hold)."""
    now = now or timezone.now()
    due: list[EvidenceItem] = []
    for category in RetentionCategory.objects.filter(days__isnull=False):
        if category.days is None:  # never: the filter left these out; this tells the type checker
            continue
        items = (
            EvidenceItem.objects.filter(
                retention_category=category,
                received_at__lt=now - dt.timedelta(days=category.days),
                legal_hold=False,
            )
            .exclude(
                state__in=[
                    EvidenceItem.State.DELETED,
                    EvidenceItem.State.RECEIVED,
                    EvidenceItem.State.PROCESSING,
                    # Not processed: someone must look at it before any schedule removes it.
                    EvidenceItem.State.FAILED,
                ]
            )
            .exclude(sha256="")  # the original is not in the store yet
            .exclude(case_items__case__status=Case.Status.OPEN)
            .select_related("agency", "retention_category")
        )
        due.extend(items)
    return due


def retention_apply(*, now: dt.datetime | None = None) -> dict[int, list[dict[str, Any]]]:
    """The nightly run: delete what is past retention, report per agency (audit row and email)."""
    deleted: dict[int, list[dict[str, Any]]] = {}
    for item in retention_due(now=now):
        with transaction.atomic():
            # Chosen a moment ago; decided now, on the locked row: an item added to an open
            # case, held, or deleted by hand since the selection is left alone.
            fresh = EvidenceItem.objects.select_for_update().get(pk=item.pk)
            if fresh.state == EvidenceItem.State.DELETED or item_protection(item=fresh, lock=True):
                continue
            if fresh.retention_category_id != item.retention_category_id:
                continue
            keys = _tombstone(
                item=fresh,
                actor_label="Retention schedule",
                reason=f"Past retention: {item.retention_category}",
                details={"category": str(item.retention_category)},
            )
        _remove_objects(keys)
        deleted.setdefault(item.agency_id, []).append(
            {
                "item": str(item.pk),
                "sha256": item.sha256,
                "size": item.size,
                "category": str(item.retention_category),
                "received_at": item.received_at.isoformat(),
            }
        )
    for agency in Agency.objects.filter(pk__in=deleted):
        rows = deleted[agency.pk]
        audit_record(
            action=actions.RETENTION_APPLIED.name,
            actor_label="Retention schedule",
            agency=agency,
            details={"deleted": rows, "count": len(rows)},
        )
        emails.send_retention_report(agency=agency, deleted=rows)
    return deleted
