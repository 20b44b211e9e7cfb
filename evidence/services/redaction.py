"""Face redaction: asking for a redacted copy of an item, reviewing and editing its draft
recipe, tracking a reviewer's boxes, approving it for rendering, and cancelling the job."""

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.models import EvidenceItem, MediaKind, Redaction
from evidence.policies import UPLOAD_EVIDENCE
from portal import media, queueing, redact
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
    """Stop a job: a queued one or one waiting for review ends at once, a running one at its
    next progress check."""
    if not _may_redact(actor, job.item):
        raise PermissionDenied
    with transaction.atomic():
        locked = Redaction.objects.select_for_update().get(pk=job.pk)
        if locked.finished:
            return
        was = locked.state
        locked.cancel_requested = True
        fields = ["cancel_requested"]
        if locked.state in (Redaction.State.QUEUED, Redaction.State.REVIEW):
            locked.state, fields = Redaction.State.CANCELLED, [*fields, "state"]
        locked.save(update_fields=fields)
        audit_record(
            action=actions.REDACTION_CANCELLED.name,
            actor=actor,
            target=job.item,
            agency=job.item.agency,
            details={"redaction": str(job.pk), "while": was},
        )


def _in_review(actor: User, job: Redaction) -> Redaction:
    """The job locked (in a transaction), when the actor may redact and it waits for review."""
    if not _may_redact(actor, job.item):
        raise PermissionDenied
    locked = Redaction.objects.select_for_update().get(pk=job.pk)
    if locked.state != Redaction.State.REVIEW or locked.draft is None:
        raise ValidationError("This redaction is not waiting for review.")
    return locked


def _counts(draft: dict[str, Any]) -> dict[str, Any]:
    return {
        "fill": draft["params"]["fill"],
        "manual_boxes": len(draft["manual_boxes"]),
        "suppressed": len(draft.get("suppressed", [])),
        "mute_ranges": draft["mute_ranges"],
    }


def redaction_draft_save(*, actor: User, job: Redaction, edits: Any) -> Redaction:
    """Apply a reviewer's edits to the draft (all or nothing: a refused edit keeps the saved
    draft as it was) and record who reviewed it."""
    with transaction.atomic():
        locked = _in_review(actor, job)
        try:
            draft = redact.recipe_edit(locked.draft or {}, edits)
        except redact.EditError as exc:
            raise ValidationError(f"Not saved: {exc}.") from None
        locked.draft, locked.fill, locked.reviewed_by = draft, draft["params"]["fill"], actor
        locked.save(update_fields=["draft", "fill", "reviewed_by"])
        audit_record(
            action=actions.REDACTION_EDITED.name,
            actor=actor,
            target=job.item,
            agency=job.item.agency,
            details={"redaction": str(job.pk), **_counts(draft)},
        )
    return locked


# Names a person's running Track among PostgreSQL's advisory locks: the high 32 bits this
# constant ("REDT"), the low ones the user's id.
_TRACK_LOCK = 0x52454454


@contextlib.contextmanager
def _one_track_per_person(actor: User) -> Iterator[None]:
    """Track runs in the web request for up to REDACTION_TRACK_TIMEOUT_SECONDS: a person runs
    one at a time (across web processes), so a few clicks cannot hold every web thread."""
    key = _TRACK_LOCK << 32 | (actor.pk & 0xFFFFFFFF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            raise ValidationError("You are tracking a box already: wait for it to finish.")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def redaction_track(*, actor: User, job: Redaction, box_id: str) -> Redaction:
    """Track one of the draft's manual boxes (one at a time per person): _track."""
    if not _may_redact(actor, job.item):
        raise PermissionDenied
    with _one_track_per_person(actor):
        return _track(actor=actor, job=job, box_id=box_id)


def _track(*, actor: User, job: Redaction, box_id: str) -> Redaction:
    """Track one of the draft's manual boxes across its frames from its keyframes (CSRT, on the
    server; bounded: redact.TRACK_MAX_FRAMES frames, REDACTION_TRACK_TIMEOUT_SECONDS seconds).
    Runs outside any transaction; its result is kept only if nobody moved that box's
    keyframes meanwhile."""
    from evidence.processing.pipeline import _local_original

    with transaction.atomic():
        draft = _in_review(actor, job).draft or {}
    box = next((m for m in draft.get("manual_boxes", []) if m["id"] == box_id), None)
    if box is None:
        raise ValidationError("No such box in the saved draft: save your edits first.")
    if draft["source"]["kind"] != "video":
        raise ValidationError("A photo has no frames to track across.")
    try:
        with media.scratch_dir(f"track-{job.pk.hex}-") as work:
            tracked = redact.track_manual(
                _local_original(job.item, work), draft, [box_id],
                timeout=settings.REDACTION_TRACK_TIMEOUT_SECONDS,
            )  # fmt: skip
    except redact.EditError as exc:
        raise ValidationError(f"Not tracked: {exc}.") from None
    except media.MediaError as exc:
        raise ValidationError(
            f"Not tracked: {getattr(exc, 'reason', exc)} (the box is tracked when the copy is made)"
        ) from None
    result = next(m for m in tracked["manual_boxes"] if m["id"] == box_id)
    with transaction.atomic():
        locked = _in_review(actor, job)
        saved = locked.draft or {}
        current = next((m for m in saved.get("manual_boxes", []) if m["id"] == box_id), None)
        keys = ("start", "end", "keyframes")
        if current is None or any(current[k] != box[k] for k in keys):
            raise ValidationError("The box was changed while it was tracked: track it again.")
        current["tracked"] = result["tracked"]
        locked.reviewed_by = actor
        locked.save(update_fields=["draft", "reviewed_by"])
        audit_record(
            action=actions.REDACTION_TRACKED.name,
            actor=actor,
            target=job.item,
            agency=job.item.agency,
            details={
                "redaction": str(job.pk),
                "box": box_id,
                "frames": [box["start"], box["end"]],
                "keyframes": sorted(int(k) for k in box["keyframes"]),
            },
        )
    return locked


def draft_sha256(draft: dict[str, Any] | None) -> str:
    """The fingerprint of a draft as saved (its canonical bytes): what an approver saw."""
    return hashlib.sha256(redact.recipe_bytes(draft or {})).hexdigest()


def redaction_approve(*, actor: User, job: Redaction, seen: str | None = None) -> Redaction:
    """Approve the reviewed draft: the job is queued again to render it. The approver must be
    allowed to redact; the agency's reviewer and approver may be one person or two, and custody
    names both. `seen`: the draft_sha256 of the draft the approver was shown; a draft saved
    (or tracked) since by anyone else is refused, not approved unseen."""
    with transaction.atomic():
        locked = _in_review(actor, job)
        draft = locked.draft or {}
        if seen is not None and seen != draft_sha256(draft):
            raise ValidationError(
                "The draft was changed since you opened it: check it again before approving."
            )
        locked.reviewed_by = locked.reviewed_by or actor
        locked.approved_by, locked.approved_at = actor, timezone.now()
        locked.state, locked.progress = Redaction.State.QUEUED, 0
        locked.fill = draft["params"]["fill"]
        locked.save(
            update_fields=["reviewed_by", "approved_by", "approved_at", "state", "progress", "fill"]
        )
        audit_record(
            action=actions.REDACTION_APPROVED.name,
            actor=actor,
            target=job.item,
            agency=job.item.agency,
            details={
                "redaction": str(job.pk),
                "reviewed_by": locked.reviewed_by.get_username(),
                "approved_by": actor.get_username(),
                **_counts(draft),
            },
        )
        queueing.send_named_on_commit(TASK, str(job.pk))
    return locked
