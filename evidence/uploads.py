"""Upload grants and tus uploads: who may write, where the bytes wait, and when an upload ends.

An upload's state (offset, length, metadata, grant, expiry) lives in PostgreSQL; its bytes are
staged on local disk at `staged_path(upload)` until the media pipeline moves them to storage.

Writers to one upload are serialised by a session-level PostgreSQL advisory lock keyed on the
upload id, taken with `pg_try_advisory_lock` (a second writer is refused, never queued). No
transaction is open while bytes stream in: the row is re-read under the lock, the chunk is
written, and only then a short statement moves the offset (on the last byte, a short
transaction completes the upload and creates its evidence item).

Durability: the file is synced (fdatasync, and its directory) before the upload is marked
complete, so evidence is on disk before it is "received". Chunks in between are not synced one
by one (in bench/upload.py that cost 20-35% of the throughput). A crash can therefore leave the
recorded offset ahead of the bytes that reached the disk; ext4 and XFS keep a file's size to
data actually written, so what is there is a correct prefix, and the upload resumes from it:
HEAD reports it and the next PATCH rolls the offset back to it. Bytes past the offset (a chunk
cut off mid-write) are truncated away before every write. The staging directory must be one
volume for every web and worker process (the pipeline reads the staged file too).

HTTP lives in evidence/tus.py; this module raises `UploadError` subclasses whose messages are
safe to show to the client.
"""

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.models import Upload, UploadGrant
from evidence.policies import can_upload_evidence
from evidence.services import item_create_from_upload
from portal.audit import audit_record
from portal.models import Agency
from portal.tokens import token_issue, token_matches

log = logging.getLogger(__name__)

GRANT_HEADER = "Canvass-Upload-Grant"
# tus requires sha1; it checks a chunk's transfer, it is not the evidence hash (SHA-256, later).
CHECKSUM_ALGORITHMS: dict[str, Callable] = {
    "sha1": partial(hashlib.sha1, usedforsecurity=False),
    "sha256": hashlib.sha256,
}
READ_SIZE = 1 << 20
PIPELINE_PIECES = 2
MAX_FILES_PER_GRANT = 1000
MAX_GRANT_TTL = timedelta(days=30)
STAFF_MEDIA_TYPES = ("video/", "image/", "audio/")
# Browsers and camera exports say this (or nothing) when they do not know a file's type:
# it declares nothing, so it is not held against the grant's types.
_UNDECLARED_TYPES = {"", "application/octet-stream"}
_MEDIA_TYPE_PREFIX = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]*")
_EXPIRY_BATCH = 500


class UploadError(Exception):
    """A refused upload request; the message is meant for the client."""


class UploadInvalid(UploadError):
    """The request is malformed (headers, checksum algorithm, a body cut short)."""


class UploadLengthRequired(UploadInvalid):
    """The body has neither a Content-Length nor a chunked encoding we can read."""


class UploadNotFound(UploadError):
    """No such upload for this grant: unknown, terminated, or another grant's."""


class UploadGone(UploadError):
    """The upload expired (or its staged bytes are gone); the client must start again."""


class UploadConflict(UploadError):
    """Wrong offset, or another request is writing to the same upload."""


class UploadTooLarge(UploadError):
    """Over the grant's or the server's size limit, or past the upload's declared length."""


class UploadTypeRefused(UploadError):
    """The declared file type is not one the grant allows."""


class UploadRefused(UploadError):
    """The grant allows no more of this (files exhausted, deleting a finished upload)."""


class ChecksumMismatch(UploadError):
    """The chunk does not match its Upload-Checksum; it was discarded."""


@dataclass(frozen=True)
class Checksum:
    """A client's checksum of one chunk: `sha1` or `sha256` and the raw digest."""

    algorithm: str
    digest: bytes

    @property
    def header(self) -> str:
        """The `Upload-Checksum` form, kept on the evidence item as the client's claim."""
        return f"{self.algorithm} {base64.b64encode(self.digest).decode('ascii')}"

    def new_hasher(self):
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def parse_checksum(value: str) -> Checksum:
    """Read an `Upload-Checksum` header: `<algorithm> <base64 digest>`."""
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise UploadInvalid(
            f"Checksum algorithm {algorithm[:20]!r} is not supported; use one of: "
            + ", ".join(CHECKSUM_ALGORITHMS)
            + "."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise UploadInvalid("Upload-Checksum must be '<algorithm> <base64 digest>'.") from None
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise UploadInvalid(f"Upload-Checksum has the wrong length for {algorithm}.")
    return Checksum(algorithm, digest)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# --- grants -------------------------------------------------------------------------------


def flow_max_bytes(flow: str) -> int:
    """The largest single file the upload flow takes (UPLOAD_MAX_BYTES_BY_FLOW)."""
    return settings.UPLOAD_MAX_BYTES_BY_FLOW[str(flow)]


def _bytes_text(size: int) -> str:
    """'1000 bytes', or '4294967296 bytes (4 GiB)' when a reader needs the unit."""
    return f"{size} bytes ({size / 1024**3:.3g} GiB)" if size >= 1024**3 else f"{size} bytes"


def _validate_grant_limits(
    *, flow: str, max_files: int, max_file_bytes: int, media_types, expires_at: datetime
) -> list[str]:
    if not 1 <= max_files <= MAX_FILES_PER_GRANT:
        raise ValidationError(f"A grant allows from 1 to {MAX_FILES_PER_GRANT} files.")
    limit = flow_max_bytes(flow)
    if not 1 <= max_file_bytes <= limit:
        raise ValidationError(
            f"A {UploadGrant.Flow(flow).label.lower()} grant's file size limit is from 1 to "
            f"{_bytes_text(limit)}."
        )
    types = [str(t).strip().lower() for t in media_types]
    if not types or not all(_MEDIA_TYPE_PREFIX.fullmatch(t) for t in types):
        raise ValidationError("Media types are MIME prefixes such as 'video/' or 'image/jpeg'.")
    now = timezone.now()
    if not now < expires_at <= now + MAX_GRANT_TTL:
        raise ValidationError("A grant expires in the future, at most 30 days from now.")
    return types


def _grant_details(grant: UploadGrant, audit_source: dict | None = None) -> dict:
    return {
        "flow": grant.flow,
        **_audited_source(grant.source_ref, audit_source),
        "max_files": grant.max_files,
        "max_file_bytes": grant.max_file_bytes,
        "media_types": grant.media_types,
        "expires_at": grant.expires_at.isoformat(),
    }


def _audited_source(source_ref: str, audit_source: dict | None) -> dict:
    # What a grant's audit rows say it is for. A flow whose source_ref would single someone
    # out before they have sent anything (a footage request's camera) passes something coarser.
    return {"source_ref": source_ref} if audit_source is None else dict(audit_source)


def grant_create_for_staff(
    *,
    actor,
    max_files: int = 50,
    max_file_bytes: int | None = None,
    media_types: tuple[str, ...] | list[str] = STAFF_MEDIA_TYPES,
    ttl: timedelta = timedelta(hours=12),
) -> UploadGrant:
    """Let a verified investigator's own session upload evidence for their agency."""
    if not can_upload_evidence(actor):
        raise PermissionDenied("Only verified investigators and supervisors upload evidence.")
    if max_file_bytes is None:
        max_file_bytes = flow_max_bytes(UploadGrant.Flow.STAFF_UPLOAD)
    expires_at = timezone.now() + ttl
    types = _validate_grant_limits(
        flow=UploadGrant.Flow.STAFF_UPLOAD,
        max_files=max_files,
        max_file_bytes=max_file_bytes,
        media_types=media_types,
        expires_at=expires_at,
    )
    with transaction.atomic():
        grant = UploadGrant.objects.create(
            flow=UploadGrant.Flow.STAFF_UPLOAD,
            agency=actor.agency,
            user=actor,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            media_types=types,
            expires_at=expires_at,
        )
        audit_record(
            action=actions.UPLOAD_GRANTED.name,
            actor=actor,
            target=grant,
            agency=actor.agency,
            details=_grant_details(grant),
        )
    return grant


def grant_create_with_secret(
    *,
    agency: Agency,
    flow: str,
    source_ref: str,
    max_files: int,
    max_file_bytes: int,
    media_types,
    expires_at: datetime,
    actor_label: str,
    audit_source: dict | None = None,
) -> tuple[UploadGrant, str]:
    """A grant carried by a secret instead of a session (tips, footage links, devices).

    Returns the grant and its secret; only the secret's SHA-256 is stored, so this is the one
    time it can be read. The client sends `Canvass-Upload-Grant: <grant id>.<secret>`.
    `audit_source` replaces `{"source_ref": source_ref}` in the audit row (see _audited_source);
    the grant itself, and the evidence received through it, keep the full source_ref.
    """
    types = _validate_grant_limits(
        flow=flow,
        max_files=max_files,
        max_file_bytes=max_file_bytes,
        media_types=media_types,
        expires_at=expires_at,
    )
    secret, secret_digest = token_issue()
    with transaction.atomic():
        grant = UploadGrant.objects.create(
            flow=UploadGrant.Flow(flow),
            agency=agency,
            secret_hash=secret_digest,
            source_ref=source_ref,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            media_types=types,
            expires_at=expires_at,
        )
        audit_record(
            action=actions.UPLOAD_GRANTED.name,
            actor_label=actor_label,
            target=grant,
            agency=agency,
            details=_grant_details(grant, audit_source),
        )
    return grant, secret


def grant_header_value(grant: UploadGrant, secret: str = "") -> str:
    """What a client puts in the Canvass-Upload-Grant header for this grant."""
    return f"{grant.id}.{secret}" if secret else str(grant.id)


def grants_revoke_for_source(
    *, flow: str, source_ref: str, actor_label: str, audit_source: dict | None = None
) -> int:
    """Revoke the live secret-bearing grants of one flow and source (a new one replaces them).

    Uploads already complete stay evidence; unfinished ones under these grants stop.
    """
    with transaction.atomic():
        revoked = list(
            UploadGrant.objects.filter(
                flow=flow,
                source_ref=source_ref,
                user__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).select_for_update()
        )
        if revoked:
            UploadGrant.objects.filter(pk__in=[g.pk for g in revoked]).update(
                revoked_at=timezone.now()
            )
            audit_record(
                action=actions.UPLOAD_GRANTS_REVOKED.name,
                actor_label=actor_label,
                agency=revoked[0].agency,
                details={
                    "grants": [str(g.pk) for g in revoked],
                    **_audited_source(source_ref, audit_source),
                },
            )
    return len(revoked)


def uploads_completed_for_source(*, flow: str, source_ref: str) -> int:
    """How many files the grants of one flow and source have delivered, across all grants."""
    return Upload.objects.filter(
        grant__flow=flow, grant__source_ref=source_ref, state=Upload.State.COMPLETE
    ).count()


def _grant_is_live(grant: UploadGrant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


def _staff_may_use(user, grant: UploadGrant) -> bool:
    # Checked on every request, so a role change or a lost second factor stops uploads at once.
    return (
        grant.user_id is not None
        and getattr(user, "pk", None) == grant.user_id
        and user.agency_id == grant.agency_id
        and can_upload_evidence(user)
    )


def grant_from_header(request) -> UploadGrant | None:
    """The live grant the request's Canvass-Upload-Grant header names, or None.

    `<grant id>` is a staff-session grant: the signed-in, verified user must be its owner.
    `<grant id>.<secret>` is a secret-bearing grant. Unknown, expired, revoked, someone else's
    or a wrong secret all give None alike, so a caller cannot tell them apart.
    """
    raw = request.headers.get(GRANT_HEADER, "").strip()
    grant_id, _, secret = raw.partition(".")
    try:
        grant_uuid = uuid.UUID(grant_id)
    except ValueError:
        return None
    # No select_related: every PATCH comes through here, and the agency row carries its
    # jurisdiction polygon, which is costly to load and not needed to check a grant.
    grant = UploadGrant.objects.filter(pk=grant_uuid).first()
    if grant is None or not _grant_is_live(grant, timezone.now()):
        return None
    if grant.secret_hash:
        usable = token_matches(secret, grant.secret_hash)
    else:
        usable = not secret and _staff_may_use(request.user, grant)
    return grant if usable else None


def _claim_file_slot(grant: UploadGrant) -> None:
    # One conditional UPDATE, so concurrent creations can never start more than max_files.
    claimed = UploadGrant.objects.filter(
        pk=grant.pk,
        files_started__lt=F("max_files"),
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(files_started=F("files_started") + 1)
    if not claimed:
        raise UploadRefused(
            f"This upload grant allows {grant.max_files} file(s) and all of them have been "
            "started. Ask for a new grant to upload more."
        )


# --- uploads ------------------------------------------------------------------------------


def staged_path(upload: Upload) -> Path:
    """Where an upload's bytes wait for the media pipeline (named by the server, never the user)."""
    return _staged_path_for(upload.id)


def _staged_path_for(upload_id) -> Path:
    return Path(settings.UPLOAD_STAGING_DIR) / str(upload_id)


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
    upload_id = uuid.uuid4()
    path = _staged_path_for(upload_id)
    # The file exists before the row commits: no one can see an upload whose file is missing.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)
    if length == 0:
        with open(path, "rb") as empty:
            _sync_to_disk(empty, path)
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
        path.unlink(missing_ok=True)
        raise
    return upload


def _lock_key(upload_id) -> int:
    # 64 bits of the (random) upload id as a signed bigint: PostgreSQL's advisory lock key.
    return int.from_bytes(uuid.UUID(str(upload_id)).bytes[:8], "big", signed=True)


def _try_lock(upload_id) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(upload_id)])
        return bool(cursor.fetchone()[0])


def _unlock(upload_id) -> None:
    # A connection that died took its locks with it; there is nothing left to release.
    with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(upload_id)])


@contextlib.contextmanager
def _writer_lock(upload_id) -> Iterator[None]:
    if not _try_lock(upload_id):
        raise UploadConflict(
            "Another request is writing to this upload. Ask for its offset (HEAD) and resume."
        )
    try:
        yield
    finally:
        _unlock(upload_id)


def _check_offset(upload: Upload, offset: int) -> None:
    if offset != upload.offset:
        raise UploadConflict(
            f"Upload-Offset is {offset} but the upload is at {upload.offset}; resume from there."
        )


def _staged_size(upload: Upload) -> int:
    try:
        return staged_path(upload).stat().st_size
    except FileNotFoundError:
        return 0


def upload_resume_offset(upload: Upload) -> int:
    """Where the client should resume: the recorded offset, or less if bytes were lost in a crash."""
    if upload.state != Upload.State.OPEN:
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


@contextlib.contextmanager
def _staged_file_at(upload: Upload) -> Iterator[BinaryIO]:
    """The staged file opened for writing at the upload's offset, bytes past it cut away."""
    descriptor = os.open(staged_path(upload), os.O_RDWR | os.O_CREAT, 0o600)
    with open(descriptor, "r+b") as file:
        file.truncate(upload.offset)
        file.seek(upload.offset)
        yield file


def _sync_to_disk(file: BinaryIO, path: Path) -> None:
    """The file's bytes and its directory entry on disk, not just in the page cache."""
    file.flush()
    os.fdatasync(file.fileno())
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class _PieceWriter:
    """Hashes and writes pieces on a helper thread while the request thread reads the next.

    Socket reads, hashing and file writes all release the GIL, so on two cores they overlap
    (as tus-node-server's reads and writes do). At most PIPELINE_PIECES pieces wait, so memory
    stays at a few pieces whatever the chunk size.
    """

    def __init__(self, out: BinaryIO, hasher):
        self._out, self._hasher = out, hasher
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-writer")
        self._pending: deque[Future] = deque()

    def write(self, piece: bytes) -> None:
        while len(self._pending) >= PIPELINE_PIECES:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._hash_and_write, piece))

    def _hash_and_write(self, piece: bytes) -> None:
        if self._hasher is not None:
            self._hasher.update(piece)
        self._out.write(piece)

    def wait(self) -> None:
        """Block until every piece handed over is written; raise what writing one raised."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _copy_body(body: Readable, writer: _PieceWriter, room: int) -> tuple[int, bool]:
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


def _write_chunk(
    upload: Upload, body: Readable, body_length: int | None, checksum: Checksum | None
) -> int:
    """Append the body to the staged file; returns the bytes kept. The last chunk is synced."""
    hasher = checksum.new_hasher() if checksum else None
    with _staged_file_at(upload) as out:
        try:
            writer = _PieceWriter(out, hasher)
            try:
                received, clean = _copy_body(body, writer, upload.length - upload.offset)
                writer.wait()
            finally:
                writer.close()
            cut_short = not clean or (body_length is not None and received < body_length)
            if cut_short and checksum is not None:
                raise UploadInvalid("The body ended early, so its checksum cannot be verified.")
            if checksum is not None and not hmac.compare_digest(hasher.digest(), checksum.digest):
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
    new_offset = upload.offset + received
    if new_offset < upload.length:
        # A single UPDATE is its own transaction; no BEGIN/COMMIT round trips on every chunk.
        _move_offset(upload, new_offset)
        return upload
    with transaction.atomic():
        _move_offset(upload, new_offset)
        _complete(upload, declared_checksum=checksum.header if checksum else "")
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


def _remove_staged(upload_id) -> None:
    _staged_path_for(upload_id).unlink(missing_ok=True)


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
