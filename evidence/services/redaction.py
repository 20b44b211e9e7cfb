"""Face redaction: asking for a redacted copy of an item, and cancelling the job."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from evidence import audit_actions as actions
from evidence.models import EvidenceItem, MediaKind, Redaction
from evidence.policies import UPLOAD_EVIDENCE
from portal import queueing, redact
from portal.audit import audit_record
from portal.models import User
from portal.roles import has_capability

TASK = "evidence.tasks.redact_item"


def _may_redact(user: User, item: EvidenceItem) -> bool:
    """Someone of the item's agency who may add evidence (views also ask for the 2nd factor)."""
    return has_capability(user, UPLOAD_EVIDENCE) and user.agency_id == item.agency_id


def redaction_start(
    *, actor: User, item: EvidenceItem, fill: str, manual_boxes: list[dict[str, Any]] | None = None,
    mute_ranges: list[list[float]] | None = None, approved_by: User | None = None,
) -> Redaction:  # fmt: skip
    """Queue a face-redacted copy of a ready video or photo; the original is only read."""
    if not _may_redact(actor, item):
        raise PermissionDenied
    if approved_by is not None and not _may_redact(approved_by, item):
        raise PermissionDenied
    if item.state != EvidenceItem.State.READY or item.media_kind not in (
        MediaKind.VIDEO,
        MediaKind.IMAGE,
    ):
        raise ValidationError("Only a processed video or photo can be redacted.")
    if fill not in Redaction.Fill.values:
        raise ValidationError("Choose blur or solid.")
    try:
        manual = [redact.ManualBox.parse(m).as_dict() for m in manual_boxes or []]
        mute = [list(r) for r in redact.mute_ranges_parse(mute_ranges or [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"Boxes or ranges not understood: {exc}") from None
    with transaction.atomic():
        job = Redaction.objects.create(
            item=item, fill=fill, manual_boxes=manual, mute_ranges=mute,
            requested_by=actor, approved_by=approved_by,
        )  # fmt: skip
        audit_record(
            action=actions.REDACTION_REQUESTED.name,
            actor=actor,
            target=item,
            agency=item.agency,
            details={
                "redaction": str(job.pk),
                "fill": fill,
                "manual_boxes": manual,
                "mute_ranges": mute,
                "approved_by": approved_by.get_username() if approved_by else None,
            },
        )
        queueing.send_named_on_commit(TASK, str(job.pk))
    return job


def redaction_cancel(*, actor: User, job: Redaction) -> None:
    """Stop a job: a queued one ends at once, a running one at its next progress check."""
    if not _may_redact(actor, job.item):
        raise PermissionDenied
    with transaction.atomic():
        locked = Redaction.objects.select_for_update().get(pk=job.pk)
        if locked.finished:
            return
        was = locked.state
        locked.cancel_requested = True
        fields = ["cancel_requested"]
        if locked.state == Redaction.State.QUEUED:
            locked.state, fields = Redaction.State.CANCELLED, [*fields, "state"]
        locked.save(update_fields=fields)
        audit_record(
            action=actions.REDACTION_CANCELLED.name,
            actor=actor,
            target=job.item,
            agency=job.item.agency,
            details={"redaction": str(job.pk), "while": was},
        )
