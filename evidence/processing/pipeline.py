"""The media pipeline for one item: store and hash the original, probe it, make derivatives.

Safe to run more than once for the same item (Celery redelivers after a worker dies): each step
checks what is already done, derivative objects get fresh keys per run, and the run that
finishes first is the only one whose derivatives are recorded.
"""

import datetime as dt
import hashlib
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files import File
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from evidence import audit_actions as actions
from evidence import queue, sources
from evidence.intake import staging
from evidence.models import Confidence, Derivative, EvidenceItem, MediaKind, ValueSource
from evidence.processing import leases, provenance
from portal import media, storage
from portal.audit import audit_record

log = logging.getLogger(__name__)
State = EvidenceItem.State
_CHUNK = 8 << 20


# --- claiming --------------------------------------------------------------------------


def _claim(item_id) -> EvidenceItem | None:
    """Claim the item unless it is finished or a live run holds it; None means nothing to do.

    A claim is a lease (MEDIA_CLAIM_LEASE_SECONDS) that the run renews while it works (see
    evidence/processing/leases.py): a run whose worker was killed stops renewing, and once its lease runs out
    the sweep offers the item again and the next run takes it over.
    """
    now = timezone.now()
    expires = now + leases.lease_length()
    free = Q(state=State.RECEIVED) | Q(state=State.PROCESSING) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    claimed = EvidenceItem.objects.filter(free, pk=item_id).update(
        state=State.PROCESSING, processing_started_at=now, lease_expires_at=expires
    )
    if not claimed:
        return None
    leases.taken(item_id, expires)
    return EvidenceItem.objects.select_related("agency", "upload__grant").get(pk=item_id)


def _count_attempt(item: EvidenceItem) -> int:
    """Count this run against the item's bounded attempts; returns this run's number.

    Counted at the start, so a run that never returns (the worker killed by a poison file)
    still counts: the stalled-items job offers the item again, and it ends `failed` instead of
    being retried forever.
    """
    EvidenceItem.objects.filter(pk=item.pk).update(processing_attempts=F("processing_attempts") + 1)
    item.processing_attempts = EvidenceItem.objects.values_list(
        "processing_attempts", flat=True
    ).get(pk=item.pk)
    return item.processing_attempts


def _uncount_attempt(item: EvidenceItem) -> None:
    EvidenceItem.objects.filter(pk=item.pk, processing_attempts__gt=0).update(
        processing_attempts=F("processing_attempts") - 1
    )


def _fail(item: EvidenceItem, reason: str) -> str:
    """End the item `failed` after its last allowed attempt; the original stays as it is."""
    reason = reason[:1000]
    with transaction.atomic():
        updated = EvidenceItem.objects.filter(pk=item.pk, state=State.PROCESSING).update(
            state=State.FAILED,
            state_reason=reason,
            processed_at=timezone.now(),
            **_when_and_where(item, [], None),
        )
        if updated:
            # An error, not a warning: an operator must look (then `manage.py evidence_retry`).
            log.error("item %s ended failed: %s", item.pk, reason)
            audit_record(
                action=actions.FAILED.name,
                actor_label="system (media pipeline)",
                target=item,
                agency=item.agency,
                details={"reason": reason, "attempts": item.processing_attempts},
            )
    return State.FAILED


# --- storing the original (one pass: hash while copying) ------------------------------


class _HashingFile(File):
    """A file whose reads feed a SHA-256; a rewind to 0 (a storage retry) restarts it."""

    def __init__(self, file):
        super().__init__(file)
        self.sha256 = hashlib.sha256()

    def read(self, size=-1):
        data = self.file.read(size)
        self.sha256.update(data)
        return data

    def seek(self, offset, whence=0):
        if offset == 0 and whence == 0:
            self.sha256 = hashlib.sha256()
        return self.file.seek(offset, whence)


class OriginalNotStored(Exception):
    """The original could not be stored intact; the staged copy is kept for another try."""


# Errors of the database or the object store: never the file's fault, so they do not use up
# its attempts. (OriginalNotStored does: staged bytes that are gone will not come back.)
_INFRASTRUCTURE_ERRORS = (DatabaseError, OSError, BotoCoreError, ClientError)


def _copy_into_storage(upload, key: str, *, retry: bool = True) -> str:
    """Copy the staged bytes to `key`, hashing them on the way; returns their SHA-256.

    The staged bytes are read once, as a stream (a local file, or one GET of the S3 staging
    object), and this is where the evidence's SHA-256 is computed, from the bytes stored.
    """
    try:
        with staging.open_staged(upload) as raw:
            hashing = _HashingFile(raw)
            storage.save_once(key, hashing)
            return hashing.sha256.hexdigest()
    except storage.ObjectExists:
        with staging.open_staged(upload) as raw:
            staged_sha256 = storage.sha256_of(raw)
        if storage.object_sha256(key) == staged_sha256:
            return staged_sha256  # an earlier run stored it and died before recording the hash
        if not retry:
            raise OriginalNotStored(f"{key} keeps differing from the staged bytes") from None
        # Left half-written by a run that died mid-copy. Its hash was never recorded, so it
        # never was the original: remove it and store the staged bytes again.
        storage.delete_object(key)
        return _copy_into_storage(upload, key, retry=False)


def _store_original(item: EvidenceItem) -> None:
    """Move the staged bytes into storage once, hashing them on the way; audited as `hashed`.

    The staged file is removed only after the stored object has the upload's full length and
    its hash is recorded, so a crash at any point leaves a complete copy somewhere.
    """
    if item.sha256:
        return
    upload = item.upload
    if upload is None or not staging.staged_exists(upload):
        raise OriginalNotStored(f"item {item.pk}: no staged bytes and no recorded hash")
    sha256 = _copy_into_storage(upload, item.original_key)
    size = storage.object_size(item.original_key)
    if size != item.size:
        raise OriginalNotStored(f"item {item.pk}: stored {size} bytes of {item.size}")
    with transaction.atomic():
        recorded = EvidenceItem.objects.filter(pk=item.pk, sha256="").update(sha256=sha256)
        if recorded:
            audit_record(
                action=actions.HASHED.name,
                actor_label="system (media pipeline)",
                target=item,
                agency=item.agency,
                details={"sha256": sha256, "size": size, "storage_key": item.original_key},
            )
            item.sha256 = sha256
            sources.item_hashed_tell(item)
            transaction.on_commit(lambda: staging.remove_staged(upload))
    item.sha256 = EvidenceItem.objects.values_list("sha256", flat=True).get(pk=item.pk)


def _local_original(item: EvidenceItem, scratch: Path) -> Path:
    """A readable local path of the original: the file itself on disk, else a scratch copy."""
    try:
        return Path(storage.local_path(item.original_key))
    except NotImplementedError:
        target = scratch / "original"
        with storage.open_object(item.original_key) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
        return target


# --- deciding what the file is -----------------------------------------------------------


def _allowed(item: EvidenceItem, media_type: str) -> bool:
    prefixes = (
        item.upload.grant.media_types if item.upload is not None else ["video/", "image/", "audio/"]
    )
    return any(media_type.startswith(p) for p in prefixes)


def _keeping_source_details(current: dict, found: dict) -> dict:
    # What the file says replaces what an earlier run found, but not what its source told the
    # store about it when it arrived (a body camera's manifest): the file never said that.
    if sources.SOURCE_DETAILS_KEY in (current or {}):
        return {**found, sources.SOURCE_DETAILS_KEY: current[sources.SOURCE_DETAILS_KEY]}
    return found


def _finish_without_derivatives(item: EvidenceItem, state: str, reason: str, facts: dict) -> str:
    action = actions.REJECTED if state == State.REJECTED else actions.UNPLAYABLE
    with transaction.atomic():
        updated = EvidenceItem.objects.filter(pk=item.pk, state=State.PROCESSING).update(
            state=state,
            state_reason=reason,
            processed_at=timezone.now(),
            media_type=facts.get("media_type", ""),
            media_kind=facts.get("kind", MediaKind.OTHER),
            metadata=_keeping_source_details(item.metadata, facts.get("metadata", {})),
            provenance_status=facts["provenance_status"],
            provenance_details=facts["provenance_details"],
            # Undecodable files still get a time and place: the uploader's claim or receipt.
            **_when_and_where(item, [], None),
        )
        if updated:
            audit_record(
                action=action.name,
                actor_label="system (media pipeline)",
                target=item,
                agency=item.agency,
                details={
                    "reason": reason,
                    "media_type": facts.get("media_type", ""),
                    "provenance": facts["provenance_status"],
                },
            )
    return state


# --- capture time and place ------------------------------------------------------------


def _uploader_claims(item: EvidenceItem) -> dict:
    return item.upload.metadata if item.upload is not None else {}


@dataclass(frozen=True)
class Stated:
    """A capture time the file states, how far we trust it, and the tag it was read from.

    `confidence` is for a value that carries its zone; a wall-clock value without one is
    placed in the agency's zone and trusted one step less.
    """

    value: dt.datetime
    source: str
    confidence: str
    tag: str


# EXIF times, best first (media.image_info reads them in this order). DateTime is rewritten by
# any software that saves the file, so it is file metadata, not the device's; GPS time is UTC
# from the satellites but is the time of the last fix, which can be stale.
_IMAGE_TIME_TRUST = {
    "DateTimeOriginal": (ValueSource.DEVICE_METADATA, Confidence.HIGH),
    "DateTimeDigitized": (ValueSource.DEVICE_METADATA, Confidence.MEDIUM),
    "DateTime": (ValueSource.FILE_METADATA, Confidence.LOW),
    "GPSDateStamp+GPSTimeStamp": (ValueSource.DEVICE_METADATA, Confidence.MEDIUM),
}
_LESS_SURE: dict[str, str] = {Confidence.HIGH: Confidence.MEDIUM, Confidence.MEDIUM: Confidence.LOW}


def _image_times(info: media.ImageInfo) -> list[Stated]:
    return [Stated(r.value, *_IMAGE_TIME_TRUST[r.tag], r.tag) for r in info.capture_times]


def _video_times(probe: media.Probe) -> list[Stated]:
    if probe.creation_time is None:
        return []
    if probe.make:  # a camera or phone wrote it
        return [
            Stated(
                probe.creation_time, ValueSource.DEVICE_METADATA, Confidence.HIGH, "creation_time"
            )
        ]
    return [
        Stated(probe.creation_time, ValueSource.FILE_METADATA, Confidence.MEDIUM, "creation_time")
    ]


def _first_believable(item: EvidenceItem, stated: list[Stated]) -> Stated | None:
    """The first stated time that is plausible once placed in a zone."""
    for each in stated:
        value, confidence = each.value, each.confidence
        if value.tzinfo is None:
            # A camera clock without a zone: assume the agency's local time, and say so.
            value = value.replace(tzinfo=ZoneInfo(item.agency.time_zone))
            confidence = _LESS_SURE.get(confidence, Confidence.LOW)
        if _plausible(value) is not None:
            return Stated(value, each.source, confidence, each.tag)
    return None


def _when_and_where(item: EvidenceItem, stated: list[Stated], location) -> dict:
    """Pick capture time and location from the best source available, saying which."""
    facts: dict[str, Any] = {}
    claims = _uploader_claims(item)
    if believed := _first_believable(item, stated):
        facts.update(
            capture_time=believed.value,
            capture_time_source=believed.source,
            capture_time_confidence=believed.confidence,
            capture_time_tag=believed.tag,
        )
    elif _parse_time(claims.get("capture_time")):
        facts.update(
            capture_time=_parse_time(claims["capture_time"]),
            capture_time_source=ValueSource.UPLOADER_CLAIM,
            capture_time_confidence=Confidence.LOW,
            capture_time_tag="",
        )
    else:
        facts.update(
            capture_time=item.received_at,
            capture_time_source=ValueSource.TIME_RECEIVED,
            capture_time_confidence=Confidence.LOW,
            capture_time_tag="",
        )
    if location is not None:
        lat, lon = location
        facts.update(
            location=Point(lon, lat, srid=4326), location_source=ValueSource.DEVICE_METADATA
        )
    elif _parse_point(claims.get("lat"), claims.get("lon")):
        facts.update(
            location=_parse_point(claims["lat"], claims["lon"]),
            location_source=ValueSource.UPLOADER_CLAIM,
        )
    return facts


EARLIEST_CAPTURE = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


def _plausible(moment: dt.datetime | None) -> dt.datetime | None:
    """A capture time we can believe: after 1990 and not in the future (a day of clock skew)."""
    if moment is None or moment.tzinfo is None:
        return moment
    if EARLIEST_CAPTURE <= moment <= timezone.now() + dt.timedelta(days=1):
        return moment
    return None


def _parse_time(value) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return _plausible(parsed) if parsed.tzinfo else None


def _parse_point(lat, lon) -> Point | None:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return Point(lon, lat, srid=4326)
    return None


# --- derivatives -----------------------------------------------------------------------


def _video_outputs(original: Path, work: Path, probe: media.Probe) -> list[media.Output]:
    proxy = media.video_proxy(original, work, probe)
    copyable = (
        probe.video_codec == "h264" and probe.audio_codec in ("aac", None) and not probe.rotation
    )
    hls_dir = work / "hls"
    hls_dir.mkdir()
    if copyable:
        segments = media.hls(original, hls_dir, probe, copy=True)
    else:
        segments = media.hls(proxy.path, hls_dir, media.probe(proxy.path), copy=False)
    return [proxy, *segments, media.poster(original, work, probe)]


_OUTPUT_KIND = {
    ".mp4": Derivative.Kind.PROXY_MP4,
    ".m3u8": Derivative.Kind.HLS_PLAYLIST,
    ".ts": Derivative.Kind.HLS_SEGMENT,
    ".m4s": Derivative.Kind.HLS_SEGMENT,
    ".m4a": Derivative.Kind.AUDIO_PROXY,
}


def _kind_of(output: media.Output, media_kind: str) -> str:
    if output.path.suffix == ".jpg":
        return (
            Derivative.Kind.POSTER
            if media_kind == MediaKind.VIDEO
            else Derivative.Kind.IMAGE_PREVIEW
        )
    return _OUTPUT_KIND[output.path.suffix]


def _store_outputs(
    item: EvidenceItem, outputs: list[media.Output], media_kind: str
) -> list[Derivative]:
    """Upload each output under a key of this run; return unsaved Derivative rows."""
    run_id = uuid.uuid4().hex
    rows = []
    for output in outputs:
        key = f"evidence/{item.agency.slug}/derivatives/{item.pk}/{run_id}/{output.name}"
        with open(output.path, "rb") as raw:
            hashing = _HashingFile(raw)
            storage.save_once(key, hashing)
        rows.append(
            Derivative(
                item=item,
                kind=_kind_of(output, media_kind),
                name=output.name,
                key=key,
                size=output.path.stat().st_size,
                sha256=hashing.sha256.hexdigest(),
                media_type=output.media_type,
                command=output.run.argv,
                tool_versions=output.run.versions,
            )
        )
    return rows


def _record_ready(item: EvidenceItem, rows: list[Derivative], facts: dict) -> str:
    """Commit this run's derivatives unless another run already did; then drop ours."""
    with transaction.atomic():
        locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        if locked.state != State.PROCESSING or locked.derivatives.exists():

            def drop_ours() -> None:
                for r in rows:
                    storage.delete_object(r.key)

            transaction.on_commit(drop_ours)
            return locked.state
        Derivative.objects.bulk_create(rows)
        kept = locked.metadata
        for field, value in facts.items():
            setattr(locked, field, value)
        locked.metadata = _keeping_source_details(kept, locked.metadata)
        locked.state = State.READY
        locked.state_reason = ""
        locked.processed_at = timezone.now()
        locked.save()
        audit_record(
            action=actions.PROCESSED.name,
            actor_label="system (media pipeline)",
            target=item,
            agency=item.agency,
            details={
                "derivatives": [
                    {"kind": r.kind, "name": r.name, "sha256": r.sha256, "command": r.command}
                    for r in rows
                    if r.kind != Derivative.Kind.HLS_SEGMENT
                ],
                "hls_segments": sum(r.kind == Derivative.Kind.HLS_SEGMENT for r in rows),
                "tool_versions": rows[0].tool_versions if rows else {},
                "provenance": facts["provenance_status"],
            },
        )
    return State.READY


# --- the whole run ---------------------------------------------------------------------


def _limits_reason(probe: media.Probe) -> str | None:
    return media.check_limits(
        probe,
        max_duration=settings.MEDIA_MAX_DURATION_SECONDS,
        max_pixels=settings.MEDIA_MAX_PIXELS,
        max_streams=settings.MEDIA_MAX_STREAMS,
    )


def _process_media(item: EvidenceItem, original: Path, work: Path) -> str:
    detected = media.detect(original)
    # Every original is checked, whatever becomes of it below: a rejected file is evidence too.
    checked = provenance.check(original, detected.media_type)
    facts = {
        "media_type": detected.media_type,
        "kind": detected.kind,
        "provenance_status": checked.status,
        "provenance_details": checked.details,
    }
    if detected.kind == MediaKind.OTHER or not _allowed(item, detected.media_type):
        reason = detected.why or (
            f"The content is {detected.media_type}, which this upload does not accept."
        )
        return _finish_without_derivatives(item, State.REJECTED, reason, facts)
    try:
        if detected.kind == MediaKind.IMAGE:
            info = media.image_info(original)
            metadata = {
                k: v for k, v in info.__dict__.items() if k not in ("capture_times", "location")
            }
            outputs = [media.image_preview(original, work)]
            when_where = _when_and_where(item, _image_times(info), info.location)
        else:
            probe = media.probe(original)
            metadata = {
                "format": probe.format_name,
                "duration": probe.duration,
                "width": probe.width,
                "height": probe.height,
                "rotation": probe.rotation,
                "video_codec": probe.video_codec,
                "audio_codec": probe.audio_codec,
                "make": probe.make,
                "model": probe.model,
                "streams": probe.streams,
            }
            facts["metadata"] = metadata
            if limits_reason := _limits_reason(probe):
                return _finish_without_derivatives(item, State.REJECTED, limits_reason, facts)
            if detected.kind == MediaKind.VIDEO:
                outputs = _video_outputs(original, work, probe)
            else:
                outputs = [media.audio_proxy(original, work)]
            when_where = _when_and_where(item, _video_times(probe), probe.location)
    except media.MediaError as exc:
        facts.setdefault("metadata", {})
        return _finish_without_derivatives(item, State.UNPLAYABLE, exc.reason, facts)
    rows = _store_outputs(item, outputs, detected.kind)
    facts = {
        "media_type": detected.media_type,
        "media_kind": detected.kind,
        "metadata": metadata,
        "provenance_status": checked.status,
        "provenance_details": checked.details,
        **when_where,
    }
    return _record_ready(item, rows, facts)


def failed_retry(item_id, *, operator: str) -> bool:
    """Offer a `failed` item to the pipeline again, once its cause is fixed (a missing tool, a
    bug): its attempts start from zero, and custody says who did it. False if it is not failed."""
    with transaction.atomic():
        item = EvidenceItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None or item.state != State.FAILED:
            return False
        EvidenceItem.objects.filter(pk=item.pk).update(
            state=State.RECEIVED,
            state_reason="",
            processing_attempts=0,
            lease_expires_at=None,
        )
        audit_record(
            action=actions.RETRIED.name,
            actor_label=f"operator ({operator})"[:200],
            target=item,
            agency=item.agency,
            details={"previous_reason": item.state_reason, "attempts": item.processing_attempts},
        )
        transaction.on_commit(lambda: queue.item_processing_queue(item.pk), robust=True)
    return True


def release(item_id, *, why: str) -> None:
    """Hand an item whose run failed unexpectedly back to the queue of work to do."""
    # `received` already when the run's lease was handed back (evidence/processing/leases.py).
    EvidenceItem.objects.filter(pk=item_id, state__in=[State.PROCESSING, State.RECEIVED]).update(
        state=State.RECEIVED, state_reason=f"Processing failed and will be retried: {why}"[:1000]
    )


def requeue_stalled(*, received_for: dt.timedelta, processing_for: dt.timedelta) -> list:
    """Items waiting too long in `received`, or in `processing` under a claim that ran out.

    Each is handed back as `received` and offered once per `received_for` (its lease field
    then says when it may be offered again), so a backlog is not queued again at every sweep.
    `processing_for` is for claims made before leases existed (no expiry recorded).
    """
    now = timezone.now()
    not_offered = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    stalled = EvidenceItem.objects.filter(
        Q(state=State.RECEIVED, received_at__lt=now - received_for) & not_offered
        | Q(state=State.PROCESSING, lease_expires_at__lt=now)
        | Q(
            state=State.PROCESSING,
            lease_expires_at__isnull=True,
            processing_started_at__lt=now - processing_for,
        )
    )
    ids = list(stalled.values_list("pk", flat=True))
    EvidenceItem.objects.filter(pk__in=ids, state__in=[State.RECEIVED, State.PROCESSING]).filter(
        not_offered | Q(state=State.PROCESSING, processing_started_at__lt=now - processing_for)
    ).update(state=State.RECEIVED, lease_expires_at=now + received_for)
    return ids


def process(item_id) -> str:
    """Run the pipeline for one item; returns the state it ended in (or 'skipped')."""
    item = _claim(item_id)
    if item is None:
        return "skipped"
    attempt = _count_attempt(item)
    limit = settings.MEDIA_MAX_ATTEMPTS
    if attempt > limit:
        # An earlier run died without saying why (e.g. the worker was killed): stop here.
        last = item.state_reason or "the worker running it stopped"
        return _fail(item, f"Processing did not finish in {limit} attempts. Last problem: {last}")
    try:
        _store_original(item)
        with media.scratch_dir() as work:
            original = _local_original(item, work)
            return _process_media(item, original, work)
    except _INFRASTRUCTURE_ERRORS:
        # The database or the store is away, not the file at fault: this run does not count
        # against the file, so an outage never ends an item `failed`; it is retried until the
        # store is back (the task's retries, then the stalled-items sweep).
        _uncount_attempt(item)
        raise
    except Exception as exc:
        if attempt < limit:
            raise  # a bug or a missing tool: the task retries
        # Only our own message is stored; another's is logged: it can name hosts and paths.
        log.warning("item %s failed on its last attempt", item.pk, exc_info=True)
        why = (
            f"{type(exc).__name__}: {exc}"
            if isinstance(exc, OriginalNotStored)
            else type(exc).__name__
        )
        return _fail(item, f"Processing failed on each of {limit} attempts. Last problem: {why}")
