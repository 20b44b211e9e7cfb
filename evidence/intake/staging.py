"""Where an upload's bytes wait: the staged file, its writer lock, and chunk checksums."""

import base64
import binascii
import contextlib
import hashlib
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.db import DatabaseError, connection

from evidence.intake import s3staging
from evidence.intake.errors import UploadConflict, UploadInvalid
from evidence.models import Upload

READ_SIZE = 1 << 20


PIPELINE_PIECES = 2


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def staged_path(upload: Upload) -> Path:
    """Where an upload's bytes wait for the media pipeline (named by the server, never the user)."""
    return _staged_path_for(upload.id)


def _staged_path_for(upload_id) -> Path:
    return Path(settings.UPLOAD_STAGING_DIR) / str(upload_id)


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


def _staged_size(upload: Upload) -> int:
    try:
        return staged_path(upload).stat().st_size
    except FileNotFoundError:
        return 0


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


def on_s3() -> bool:
    """Whether unfinished uploads are staged on S3 (UPLOAD_STAGING=s3) rather than on disk."""
    return settings.UPLOAD_STAGING == "s3"


def _remove_staged(upload_id) -> None:
    if on_s3():
        s3staging.remove(upload_id)
    else:
        _staged_path_for(upload_id).unlink(missing_ok=True)


def staged_exists(upload: Upload) -> bool:
    """Whether a complete upload's bytes are still staged (the pipeline has not taken them)."""
    return s3staging.exists(upload.id) if on_s3() else staged_path(upload).exists()


@contextlib.contextmanager
def open_staged(upload: Upload) -> Iterator[Readable]:
    """A complete upload's staged bytes, read as a stream from wherever they are staged."""
    if not on_s3():
        with open(staged_path(upload), "rb") as file:
            yield file
        return
    stream = s3staging.open_stream(upload.id)
    try:
        yield stream
    finally:
        stream.close()


def remove_staged(upload: Upload) -> None:
    _remove_staged(upload.id)


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


# tus requires sha1; it checks a chunk's transfer, it is not the evidence hash (SHA-256, later).
CHECKSUM_ALGORITHMS: dict[str, Callable] = {
    "sha1": partial(hashlib.sha1, usedforsecurity=False),
    "sha256": hashlib.sha256,
}
