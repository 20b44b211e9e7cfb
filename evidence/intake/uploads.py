"""Upload grants and tus uploads: who may write, where the bytes wait, and when an upload ends.

An upload's state (offset, length, metadata, grant, expiry) lives in PostgreSQL; its bytes are
staged on local disk at `staged_path(upload)` (UPLOAD_STAGING=local, the default) or in one S3
multipart upload (UPLOAD_STAGING=s3, evidence/intake/s3staging.py) until the media pipeline
moves them to storage. What follows about files and fsync is the local staging; on S3 the bytes
of an offset are stored before the offset moves, so there is no lost tail to recover.

Writers to one upload are serialised by a session-level PostgreSQL advisory lock keyed on the
upload id, taken with `pg_try_advisory_lock` (a second writer is refused, never queued). No
transaction is open while bytes stream in: the row is re-read under the lock (a tus PATCH reads
it with its own grant in the same query, so the grant check costs no query of its own), the
chunk is written, and only then a short statement moves the offset (on the last byte, a short
transaction completes the upload and creates its evidence item).

Durability: the file is synced (fdatasync, and its directory) before the upload is marked
complete, so evidence is on disk before it is "received". Chunks in between are not synced one
by one (in bench/upload.py that cost 20-35% of the throughput), but their writing to disk is
started as each piece lands (sync_file_range, no waiting), so that final sync only waits for
the last pieces instead of writing the whole file. A crash can therefore leave the
recorded offset ahead of the bytes that reached the disk; ext4 and XFS keep a file's size to
data actually written, so what is there is a correct prefix, and the upload resumes from it:
HEAD reports it and the next PATCH rolls the offset back to it. Bytes past the offset (a chunk
cut off mid-write) are truncated away before every write. The staging directory must be one
volume for every web and worker process (the pipeline reads the staged file too).

HTTP lives in evidence/intake/tus.py; this module raises `UploadError` subclasses whose messages are
safe to show to the client.
"""

import contextlib
import hmac
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.intake import s3staging
from evidence.intake.errors import (
    ChecksumMismatch,
    UploadConflict,
    UploadGone,
    UploadInvalid,
    UploadNotFound,
    UploadRefused,
    UploadTooLarge,
    UploadTypeRefused,
)
from evidence.intake.grants import _UNDECLARED_TYPES, _bytes_text, _claim_file_slot, flow_max_bytes
from evidence.intake.received import check_chosen_case, item_create_from_upload
from evidence.intake.staging import (
    READ_SIZE,
    Checksum,
    Readable,
    SocketBody,
    _PieceWriter,
    _remove_staged,
    _staged_file_at,
    _staged_path_for,
    _staged_size,
    _sync_to_disk,
    _try_lock,
    _unlock,
    _writer_lock,
    on_s3,
    staged_path,
)
from evidence.models import Upload, UploadGrant
from portal.audit import audit_record
from portal.models import Agency

log = logging.getLogger(__name__)

_EXPIRY_BATCH = 500


# --- grants -------------------------------------------------------------------------------


# --- uploads ------------------------------------------------------------------------------


def _is_expired(upload: Upload, now: datetime) -> bool:
    return upload.state == Upload.State.EXPIRED or (
        upload.state == Upload.State.OPEN and upload.expires_at <= now
    )


def _reachable_through(grant: UploadGrant) -> Q:
    """Uploads a grant may touch: its own; for a staff grant, also its user's other live ones.

    A staff member's page gets a fresh grant on every load, so without this an upload begun
    before a reload (or a dropped session) could never be resumed.
    """
    if grant.user_id is None:
        return Q(grant=grant)
    return Q(
        grant__user_id=grant.user_id,
        grant__agency_id=grant.agency_id,
        grant__flow=grant.flow,
        grant__revoked_at__isnull=True,
        grant__expires_at__gt=timezone.now(),
    )


def _reachable(upload: Upload, grant: UploadGrant, now: datetime) -> bool:
    """`_reachable_through` for an upload read with its own grant (`upload.grant`)."""
    if upload.grant_id == grant.pk:
        return True
    own = upload.grant
    return (
        grant.user_id is not None
        and own.user_id == grant.user_id
        and own.agency_id == grant.agency_id
        and own.flow == grant.flow
        and own.revoked_at is None
        and own.expires_at > now
    )


def upload_get_for(*, grant: UploadGrant, id) -> Upload:
    """The grant's upload `id`, fresh from the database.

    Another grant's upload, a terminated one and an unknown id are all UploadNotFound;
    an expired one is UploadGone.
    """
    upload = (
        Upload.objects.filter(_reachable_through(grant), pk=id)
        .exclude(state=Upload.State.TERMINATED)
        .select_related("grant")
        .first()
    )
    if upload is None:
        raise UploadNotFound("Upload not found.")
    if upload.grant_id == grant.pk:
        upload.grant = grant
    if _is_expired(upload, timezone.now()):
        raise UploadGone("This upload expired and its bytes were removed; start a new upload.")
    return upload


def _check_declared_type(grant: UploadGrant, filetype: str) -> None:
    declared = filetype.strip().lower()
    if declared in _UNDECLARED_TYPES:
        return
    if not any(declared.startswith(prefix) for prefix in grant.media_types):
        raise UploadTypeRefused(
            f"Files of type {declared[:100]!r} cannot be uploaded with this grant; it accepts "
            + ", ".join(grant.media_types)
            + "."
        )


def _check_length(grant: UploadGrant, length: int) -> None:
    """Refuse a file over the grant's limit or its flow's (whichever is lower) with both sizes."""
    flow_limit = flow_max_bytes(grant.flow)
    limit = min(grant.max_file_bytes, flow_limit)
    if length > limit:
        whose = (
            f"{UploadGrant.Flow(grant.flow).label.lower()} uploads"
            if limit == flow_limit
            else "this upload grant"
        )
        raise UploadTooLarge(
            f"The file is {_bytes_text(length)}; the limit is {_bytes_text(limit)} for {whose}. "
            "Nothing was stored."
        )


def _upload_expiry(grant: UploadGrant) -> datetime:
    # Never later than the grant: an upload cannot outlive the permission to write it.
    return min(timezone.now() + timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS), grant.expires_at)


def upload_create(*, grant: UploadGrant, length: int, metadata: dict[str, str]) -> Upload:
    """Start an upload of `length` bytes under `grant` (tus creation); uses one of its files.

    Refused before any byte is stored when the length or the declared `filetype` break the
    grant, or when its files are used up. An empty upload is complete at once.
    """
    _check_length(grant, length)
    _check_declared_type(grant, str(metadata.get("filetype", "")))
    check_chosen_case(grant, metadata)
    upload_id = uuid.uuid4()
    # The staging exists before the row commits: no one can see an upload whose bytes have
    # nowhere to go.
    if on_s3():
        s3staging.create(upload_id, length)

        def discard() -> None:
            s3staging.remove(upload_id)

    else:
        path = _staged_path_for(upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=False)
        if length == 0:
            with open(path, "rb") as empty:
                _sync_to_disk(empty, path)

        def discard() -> None:
            path.unlink(missing_ok=True)

    try:
        with transaction.atomic():
            _claim_file_slot(grant)
            upload = Upload.objects.create(
                id=upload_id,
                grant=grant,
                length=length,
                metadata=metadata,
                expires_at=_upload_expiry(grant),
            )
            if length == 0:
                _complete(upload, declared_checksum="")
    except BaseException:
        discard()
        raise
    return upload


def _check_offset(upload: Upload, offset: int) -> None:
    if offset != upload.offset:
        raise UploadConflict(
            f"Upload-Offset is {offset} but the upload is at {upload.offset}; resume from there."
        )


def upload_resume_offset(upload: Upload) -> int:
    """Where the client should resume: the recorded offset, or less if bytes were lost in a crash."""
    if upload.state != Upload.State.OPEN or on_s3():
        # On S3 the bytes of the recorded offset are stored before the offset moves.
        return upload.offset
    return min(upload.offset, _staged_size(upload))


def _recover_lost_tail(upload: Upload) -> None:
    # Under the writer lock: bring the recorded offset back to the bytes that are on disk.
    on_disk = upload_resume_offset(upload)
    if on_disk < upload.offset:
        log.warning(
            "Upload %s: offset %s recorded but %s bytes on disk; resuming from there",
            upload.id,
            upload.offset,
            on_disk,
        )
        Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(offset=on_disk)
        upload.offset = on_disk


def _copy_body(
    body: Readable, writer: "_PieceWriter | _HashingParts", room: int
) -> tuple[int, bool]:
    """Copy the body in READ_SIZE pieces; (bytes copied, whether it ended cleanly)."""
    received = 0
    while True:
        try:
            piece = body.read(READ_SIZE)
        except OSError:  # the client went away mid-body (gunicorn's NoMoreData is an OSError)
            return received, False
        if not piece:
            return received, True
        received += len(piece)
        if received > room:
            raise UploadTooLarge(
                f"The body runs past the upload's length; only {room} more byte(s) fit. "
                "Nothing of this request was kept."
            )
        writer.write(piece)


def _copy_socket_body(body: SocketBody, writer: _PieceWriter, room: int) -> tuple[int, bool]:
    """`_copy_body` for a body read straight from the socket: each of the writer's buffers is
    filled whole (fewer hand-overs between threads) and nothing is copied on the way."""
    received = 0
    while True:
        buffer = writer.buffer()
        filled, ended, clean = 0, False, True
        while filled < len(buffer):
            try:
                got = body.readinto(buffer[filled:])
            except OSError:  # the client went away mid-body
                ended, clean = True, False
                break
            if not got:
                ended = True
                break
            filled += got
        received += filled
        if received > room:
            raise UploadTooLarge(
                f"The body runs past the upload's length; only {room} more byte(s) fit. "
                "Nothing of this request was kept."
            )
        if filled:
            writer.submit(buffer, filled)
        if ended:
            return received, clean


def _write_chunk(
    upload: Upload, body: Readable, body_length: int | None, checksum: Checksum | None
) -> int:
    """Append the body to the staged file; returns the bytes kept. The last chunk is synced."""
    if on_s3():
        return _write_chunk_s3(upload, body, body_length, checksum)
    hasher = checksum.new_hasher() if checksum else None
    with _staged_file_at(upload) as out:
        try:
            writer = _PieceWriter(out, hasher, upload.offset)
            room = upload.length - upload.offset
            try:
                if isinstance(body, SocketBody):
                    received, clean = _copy_socket_body(body, writer, room)
                else:
                    received, clean = _copy_body(body, writer, room)
                writer.wait()
            finally:
                writer.close()
            cut_short = not clean or (body_length is not None and received < body_length)
            if cut_short and checksum is not None:
                raise UploadInvalid("The body ended early, so its checksum cannot be verified.")
            if (
                checksum is not None
                and hasher is not None  # made above whenever there is a checksum
                and not hmac.compare_digest(hasher.digest(), checksum.digest)
            ):
                raise ChecksumMismatch(
                    f"The chunk does not match its {checksum.algorithm} checksum and was "
                    f"discarded; the upload is still at offset {upload.offset}."
                )
        except BaseException:
            out.truncate(upload.offset)
            raise
        if upload.offset + received == upload.length:
            # Evidence is on disk before it is recorded as received.
            _sync_to_disk(out, staged_path(upload))
    return received


class _HashingParts:
    """Feeds a chunk checksum, then S3's part writer (on S3 staging)."""

    def __init__(self, parts: "s3staging.PartWriter | s3staging.CompletedCheck", hasher):
        self.parts, self.hasher = parts, hasher

    def write(self, piece: bytes) -> None:
        if self.hasher is not None:
            self.hasher.update(piece)
        self.parts.write(piece)


def _write_chunk_s3(
    upload: Upload, body: Readable, body_length: int | None, checksum: Checksum | None
) -> int:
    """Append the body to the upload's multipart upload; returns the bytes kept.

    A refused chunk leaves the tail of the recorded offset as it was; parts it uploaded lie
    past the offset and are replaced when their bytes come again (see s3staging).
    """
    hasher = checksum.new_hasher() if checksum else None
    parts: s3staging.PartWriter | s3staging.CompletedCheck
    try:
        parts = s3staging.PartWriter(upload.id, upload.length, upload.offset)
    except FileNotFoundError:
        if s3staging.completed_size(upload.id) != upload.length:
            raise UploadGone("This upload's staged bytes are gone; start a new upload.") from None
        parts = s3staging.CompletedCheck(upload.id, upload.offset, upload.length)
    try:
        received, clean = _copy_body(
            body,
            _HashingParts(parts, hasher),
            upload.length - upload.offset,
        )
        cut_short = not clean or (body_length is not None and received < body_length)
        if cut_short and checksum is not None:
            raise UploadInvalid("The body ended early, so its checksum cannot be verified.")
        if (
            checksum is not None
            and hasher is not None
            and not hmac.compare_digest(hasher.digest(), checksum.digest)
        ):
            raise ChecksumMismatch(
                f"The chunk does not match its {checksum.algorithm} checksum and was "
                f"discarded; the upload is still at offset {upload.offset}."
            )
        if isinstance(parts, s3staging.CompletedCheck) and (
            not parts.same or upload.offset + received != upload.length
        ):
            raise UploadInvalid(
                "Every byte of this upload is already stored and this chunk differs from them."
            )
        parts.wait()
        parts.keep()
    finally:
        parts.close()
    return received


def _complete(upload: Upload, *, declared_checksum: str) -> None:
    """Inside the caller's transaction: mark the upload complete once, and make its item."""
    now = timezone.now()
    completed = Upload.objects.filter(
        pk=upload.pk, state=Upload.State.OPEN, offset=F("length")
    ).update(state=Upload.State.COMPLETE, completed_at=now)
    if completed:
        upload.state, upload.completed_at = Upload.State.COMPLETE, now
        item_create_from_upload(upload=upload, declared_checksum=declared_checksum)


def _move_offset(upload: Upload, new_offset: int) -> None:
    moved = Upload.objects.filter(
        pk=upload.pk, state=Upload.State.OPEN, offset=upload.offset
    ).update(offset=new_offset)
    if not moved:
        raise UploadConflict("The upload changed during this request; ask for its offset.")
    upload.offset = new_offset


def _advance(upload: Upload, received: int, checksum: Checksum | None) -> Upload:
    old_offset = upload.offset
    new_offset = old_offset + received
    if new_offset < upload.length:
        # A single UPDATE is its own transaction; no BEGIN/COMMIT round trips on every chunk.
        _move_offset(upload, new_offset)
        if on_s3():
            s3staging.forget_tail(upload.id, old_offset, upload.length)
        return upload
    with transaction.atomic():
        _move_offset(upload, new_offset)
        _complete(upload, declared_checksum=checksum.header if checksum else "")
        if on_s3():
            # Last, so that if S3 refuses, the upload stays open and the chunk can come again.
            s3staging.finish(upload.id, upload.length)
    return upload


def upload_append(
    *,
    grant: UploadGrant,
    upload_id,
    offset: int,
    body: Readable,
    body_length: int | None,
    checksum: Checksum | None = None,
) -> Upload:
    """Write one tus PATCH body at `offset`; returns the upload with its new offset.

    `body_length` is the Content-Length, or None for a chunked body. A checksum mismatch, a
    body cut short while a checksum was given, or a body running past the upload's length
    discards the whole chunk; a body cut short without a checksum keeps what arrived. The last
    byte completes the upload and creates its evidence item in the same short transaction.
    """
    with _writer_lock(upload_id):
        upload = upload_get_for(grant=grant, id=upload_id)
        return _append_locked(grant, upload, offset, body, body_length, checksum)


def upload_append_as(
    *,
    grant_for: Callable[[UploadGrant | None], UploadGrant | None],
    upload_id,
    offset: int,
    body: Readable,
    body_length: int | None,
    checksum: Checksum | None = None,
) -> Upload:
    """`upload_append` for a request that names its grant but has not checked it yet (a tus
    PATCH): `grant_for(known)` returns the usable grant the request names, or None, where
    `known` is a grant just read from the database that it need not read again.

    The writer lock comes first; the upload and its own grant are then read in one query, so
    a PATCH under the upload's own grant (every secret-bearing grant's) costs one query
    before its body, not two. A refused lock answers as `upload_append` would: 404 or 410 to
    whoever may not write the upload, 409 to whoever may.
    """
    if not _try_lock(upload_id):
        grant = grant_for(None)
        if grant is None:
            raise UploadNotFound("Upload not found.")
        upload_get_for(grant=grant, id=upload_id)
        raise UploadConflict(
            "Another request is writing to this upload. Ask for its offset (HEAD) and resume."
        )
    try:
        upload = (
            Upload.objects.filter(pk=upload_id)
            .exclude(state=Upload.State.TERMINATED)
            .select_related("grant")
            .first()
        )
        grant = grant_for(upload.grant if upload else None) if upload else None
        now = timezone.now()
        if upload is None or grant is None or not _reachable(upload, grant, now):
            raise UploadNotFound("Upload not found.")
        if upload.grant_id == grant.pk:
            upload.grant = grant
        if _is_expired(upload, now):
            raise UploadGone("This upload expired and its bytes were removed; start a new upload.")
        return _append_locked(grant, upload, offset, body, body_length, checksum)
    finally:
        _unlock(upload_id)


def _append_locked(
    grant: UploadGrant,
    upload: Upload,
    offset: int,
    body: Readable,
    body_length: int | None,
    checksum: Checksum | None,
) -> Upload:
    """Under the writer lock, with the upload fresh from the database: write one PATCH."""
    if upload.state == Upload.State.OPEN:
        # Checked again on every PATCH: a limit lowered since creation stops the upload.
        _check_length(grant, upload.length)
        _recover_lost_tail(upload)
    _check_offset(upload, offset)
    room = upload.length - upload.offset
    if body_length is not None and body_length > room:
        raise UploadTooLarge(
            f"The body is {body_length} bytes but only {room} more byte(s) fit in this "
            "upload. Nothing was stored."
        )
    if upload.state == Upload.State.COMPLETE:
        if body_length == 0:
            return upload
        raise UploadTooLarge("This upload is already complete.")
    received = _write_chunk(upload, body, body_length, checksum)
    if received == 0:
        return upload
    return _advance(upload, received, checksum)


def _grant_actor(grant: UploadGrant) -> dict:
    if grant.user_id:
        return {"actor": grant.user}
    # Secret-bearing grants are used by tipsters and owners: name the flow, never the person.
    return {"actor_label": f"{grant.get_flow_display()} upload grant"}


def upload_terminate(*, grant: UploadGrant, upload_id) -> None:
    """Cancel an unfinished upload (tus termination) and remove its staged bytes.

    A complete upload is evidence already and cannot be cancelled (UploadRefused).
    """
    with _writer_lock(upload_id):
        upload = upload_get_for(grant=grant, id=upload_id)
        if upload.state == Upload.State.COMPLETE:
            raise UploadRefused(
                "This upload is complete and is now evidence; it cannot be deleted."
            )
        with transaction.atomic():
            Upload.objects.filter(pk=upload.pk, state=Upload.State.OPEN).update(
                state=Upload.State.TERMINATED
            )
            audit_record(
                action=actions.UPLOAD_TERMINATED.name,
                target=upload,
                agency=grant.agency,
                details={"grant": str(grant.id), "offset": upload.offset, "length": upload.length},
                **_grant_actor(grant),
            )
        _remove_staged(upload.id)


def _expire_batch(agency_id: int, upload_ids: list, now: datetime) -> int:
    """Expire one agency's uploads that no request is writing to; one audit row for them."""
    locked = [upload_id for upload_id in upload_ids if _try_lock(upload_id)]
    try:
        with transaction.atomic():
            rows = list(
                Upload.objects.select_for_update()
                .filter(pk__in=locked, state=Upload.State.OPEN, expires_at__lte=now)
                .values_list("id", "offset")
            )
            if not rows:
                return 0
            Upload.objects.filter(pk__in=[upload_id for upload_id, _ in rows]).update(
                state=Upload.State.EXPIRED
            )
            audit_record(
                action=actions.UPLOADS_EXPIRED.name,
                actor_label="upload expiry",
                agency=Agency.objects.get(pk=agency_id),
                details={
                    "uploads": [str(upload_id) for upload_id, _ in rows],
                    "bytes_removed": sum(offset for _, offset in rows),
                },
            )
        for upload_id, _ in rows:
            _remove_staged(upload_id)
        return len(rows)
    finally:
        for upload_id in locked:
            _unlock(upload_id)


def _sweep_leftovers() -> None:
    # Bytes of uploads that ended (expired, terminated) but outlived a crash between the commit
    # and the unlink. Files with no row are left alone: the row is the proof a file is ours.
    if on_s3():
        _sweep_leftovers_s3()
        return
    staging = Path(settings.UPLOAD_STAGING_DIR)
    if not staging.is_dir():
        return
    names = {}
    for entry in os.scandir(staging):
        with contextlib.suppress(ValueError):
            names[uuid.UUID(entry.name)] = entry.name
    ended = Upload.objects.filter(
        pk__in=list(names), state__in=[Upload.State.EXPIRED, Upload.State.TERMINATED]
    ).values_list("id", flat=True)
    for upload_id in ended:
        (staging / names[upload_id]).unlink(missing_ok=True)


def _sweep_leftovers_s3() -> None:
    staged = set()
    for name in s3staging.staged_upload_ids():
        with contextlib.suppress(ValueError):
            staged.add(uuid.UUID(name))
    ended = Upload.objects.filter(
        pk__in=list(staged), state__in=[Upload.State.EXPIRED, Upload.State.TERMINATED]
    ).values_list("id", flat=True)
    for upload_id in ended:
        s3staging.remove(upload_id)


def uploads_expire(now: datetime | None = None) -> int:
    """Expire unfinished uploads past their expiry and remove their staged bytes.

    Uploads a request is writing to right now are left for the next run. Writes one
    `upload.expired` audit row per agency and batch; returns how many uploads expired.
    """
    now = now or timezone.now()
    expired = 0
    while True:
        due = list(
            Upload.objects.filter(state=Upload.State.OPEN, expires_at__lte=now)
            .order_by("expires_at")
            .values_list("id", "grant__agency_id")[:_EXPIRY_BATCH]
        )
        by_agency: dict[int, list] = defaultdict(list)
        for upload_id, agency_id in due:
            by_agency[agency_id].append(upload_id)
        done = sum(_expire_batch(agency_id, ids, now) for agency_id, ids in by_agency.items())
        expired += done
        # Stop when nothing is left, or when all that is left is being written right now.
        if len(due) < _EXPIRY_BATCH or not done:
            break
    _sweep_leftovers()
    return expired
