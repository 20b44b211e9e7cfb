"""Clips from the live relay into evidence: the service, its Celery task and its source hook.

A clip goes in through the store's intake like any file made on the server (an upload grant of
the `live_clip` flow, then `item_ingest_file`), so it is hashed, stored, signed, audited and
processed like a tip or a body camera's offload. Its manifest (livefeeds.clips) is kept in the
item's metadata and in its chain of custody, and it is marked secondary: the camera's or body
camera's own recording remains the primary evidence, and the relay's times are its own clock.
"""

import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from celery import shared_task
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.models import EvidenceItem, Source, UploadGrant
from evidence.sources import SOURCE_DETAILS_KEY, SourceHooks
from livefeeds import clips
from portal import media
from portal.audit import audit_record, register_action
from portal.models import AuditEvent, User

logger = logging.getLogger(__name__)

CLIP_REQUESTED = register_action(
    "livefeeds.clip_requested",
    "A clip of a live feed was asked for from the viewer page (the window is fixed then)",
    needs_case=True,
)
CLIP_SAVED = register_action(
    "livefeeds.clip_saved", "A clip of a live feed was saved into evidence (secondary copy)"
)
CLIP_REFUSED = register_action(
    "livefeeds.clip_refused", "A clip of a live feed could not be made (the reason is kept)"
)
CLIP_HASH_MISMATCH = register_action(
    "livefeeds.clip_hash_mismatch", "A live clip's stored SHA-256 differs from its manifest's"
)
CLIP_REQUEUED = register_action(
    "livefeeds.clip_requeued",
    "A live clip whose task never reported was queued again (the attempt is kept)",
)
CLIP_FAILED = register_action(
    "livefeeds.clip_failed",
    "A live clip was given up: its task never reported after every retry",
)
# The key under SOURCE_DETAILS_KEY holding the manifest; `secondary` sits beside it.
DETAILS_KEY = "live_clip"
SECONDARY_NOTE = (
    "Captured from the live relay: a secondary copy. The device's own recording is the primary "
    "evidence; the relay's times are the relay host's clock."
)
_GRANT_MINUTES = 30


def live_clip_save(
    *,
    requester: User,
    case_id: uuid.UUID | str,
    app: str,
    stream: str,
    window: clips.Window,
    clip_id: str = "",
    session_id: str = "",
    subject: dict[str, Any] | None = None,
) -> EvidenceItem:
    """Cut `window` of a relay stream into an MP4 and file it into the requester's case.

    `subject` says whose feed it is ({"camera": {...}} or {"device": {...}}, as the caller
    knows it); `session_id` is the viewing session it was saved from; `clip_id` (default: a new
    one) names the clip, so that saving the same clip_id twice gives the one item. Raises
    Http404/PermissionDenied for a case the requester may not file into, and ClipError (after
    a custody row saying why) when no clip can be made.
    """
    case = evidence_services.case_get_for(actor=requester, id=case_id, write=True)
    clip_id = clip_id or uuid.uuid4().hex
    with _clip_lock(clip_id):
        existing = evidence_selectors.items_from_source(source=Source.LIVE_CLIP, refs=[clip_id])
        if (item := existing.filter(agency=case.agency).first()) is not None:
            return item
        return _clip_cut_and_file(
            requester=requester,
            case=case,
            app=app,
            stream=stream,
            window=window,
            clip_id=clip_id,
            session_id=session_id,
            subject=subject,
        )


def _clip_lock_key(clip_id: str) -> int:
    digest = hashlib.sha256(f"canvass live clip {clip_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _clip_lock(clip_id: str) -> Iterator[None]:
    """One clip_id is cut and filed by one worker at a time (a PostgreSQL session advisory
    lock, held across the cut, which commits on its own): a task queued again because the
    first never reported, and that first finishing late, then give one item, not two."""
    key = _clip_lock_key(clip_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _clip_cut_and_file(
    *,
    requester: User,
    case,
    app: str,
    stream: str,
    window: clips.Window,
    clip_id: str,
    session_id: str,
    subject: dict[str, Any] | None,
) -> EvidenceItem:
    context = {
        "clip_id": clip_id,
        **(subject or {}),
        "session": session_id or None,
        "requester": {"id": requester.pk, "label": requester.label},
        "case": {"id": str(case.pk), "number": case.number},
    }
    with media.scratch_dir() as work:
        try:
            clip = clips.clip_make(
                app=app, stream=stream, window=window, out_dir=work, context=context
            )
        except clips.ClipError as exc:
            audit_record(
                action=CLIP_REFUSED.name,
                actor=requester,
                agency=case.agency,
                case_ref=case.number,
                outcome=AuditEvent.Outcome.DENIED,
                reason=exc.message,
                details={
                    "clip_id": clip_id,
                    "code": exc.code,
                    "stream": f"{app}/{stream}",
                    "asked": window.asked,
                    "session": session_id or None,
                },
            )
            raise
        grant = evidence_services.upload_grant_issue(
            agency=case.agency,
            flow=UploadGrant.Flow.LIVE_CLIP,
            source_ref=clip_id,
            max_files=1,
            max_file_bytes=clip.size,
            media_types=["video/"],
            expires_at=timezone.now() + dt.timedelta(minutes=_GRANT_MINUTES),
            actor_label=f"{requester.label} (live clip of {app}/{stream})",
        ).grant
        start = dt.datetime.fromtimestamp(window.start, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        item = evidence_services.item_ingest_file(
            grant=grant,
            path=clip.path,
            filename=f"live-{app}-{stream}-{start}.mp4",
            media_type="video/mp4",
        )
    _clip_filed(item=item, clip=clip, case=case, requester=requester)
    return item


@transaction.atomic
def _clip_filed(*, item: EvidenceItem, clip: clips.Clip, case, requester: User) -> None:
    """Manifest into metadata and custody, and the item into the case, together."""
    evidence_services.item_source_details_set(
        item=item,
        details={DETAILS_KEY: clip.manifest, "secondary": True, "note": SECONDARY_NOTE},
    )
    audit_record(
        action=CLIP_SAVED.name,
        actor=requester,
        target=item,
        agency=item.agency,
        case_ref=case.number,
        details={"secondary": True, "manifest": clip.manifest},
    )
    evidence_services.case_item_add(actor=requester, case=case, item=item)


def live_clip_manifest(item: EvidenceItem) -> dict[str, Any] | None:
    """The clip manifest kept on a live-clip item, if it is one."""
    details = (item.metadata or {}).get(SOURCE_DETAILS_KEY) or {}
    manifest = details.get(DETAILS_KEY)
    return manifest if item.source == Source.LIVE_CLIP and isinstance(manifest, dict) else None


def live_clip_item_hashed(item: EvidenceItem) -> None:
    """The store hashed the clip: its SHA-256 must be the manifest's; a mismatch is flagged
    loudly in custody and the log, and the item kept."""
    manifest = live_clip_manifest(item)
    if manifest is None or not item.sha256:
        return
    expected = manifest["clip"]["sha256"]
    if item.sha256.lower() == expected.lower():
        return
    audit_record(
        action=CLIP_HASH_MISMATCH.name,
        actor_label="system (live clip intake)",
        target=item,
        agency=item.agency,
        details={"manifest_sha256": expected, "sha256": item.sha256},
    )
    logger.error(
        "live clip item %s stored as %s, its manifest says %s", item.pk, item.sha256, expected
    )


# For livefeeds' AppConfig.ready(): `source_register(clip_intake.SOURCE_HOOKS)`.
SOURCE_HOOKS = SourceHooks(source=Source.LIVE_CLIP, item_hashed=live_clip_item_hashed)


@shared_task(name="livefeeds.save_live_clip", acks_late=True, reject_on_worker_lost=True)
def save_live_clip(
    *,
    clip_id: str,
    requester_id: int,
    case_id: str,
    app: str,
    stream: str,
    start: float,
    end: float,
    asked: str,
    session_id: str = "",
    subject: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Queued by "Save the last N seconds" / "Save from … to …". The window is fixed when the
    button is pressed (window_last/window_between), not when a worker gets to it. Safe to run
    again: the same clip_id gives the same item. Returns {"item": id} or {"error", "message"}."""
    requester = User.objects.get(pk=requester_id)
    # The request that queued this passed the second factor (django-otp marks only request
    # users); role, agency and case membership are checked again now, as they stand.
    requester.is_verified = lambda: True  # type: ignore[attr-defined]
    try:
        item = live_clip_save(
            requester=requester,
            case_id=case_id,
            app=app,
            stream=stream,
            window=clips.Window(start=start, end=end, asked=asked),
            clip_id=clip_id,
            session_id=session_id,
            subject=subject,
        )
    except clips.ClipError as exc:
        return {"error": exc.code, "message": exc.message}
    except (PermissionDenied, Http404):
        # The requester lost the case (or their role) between the button and the worker.
        message = "You may no longer add to this case, so the clip was not saved."
        audit_record(
            action=CLIP_REFUSED.name,
            actor=requester,
            agency=requester.agency,
            outcome=AuditEvent.Outcome.DENIED,
            reason=message,
            details={"clip_id": clip_id, "code": "no_case", "case": case_id, "asked": asked},
        )
        return {"error": "no_case", "message": message}
    return {"item": str(item.pk)}
