"""Where an upload's bytes wait: the staged file, its writer lock, and chunk checksums."""

import base64
import binascii
import contextlib
import ctypes
import ctypes.util
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


def _libc_sync_file_range():
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).sync_file_range
    except (OSError, AttributeError, TypeError):  # not Linux/glibc: the final fdatasync does it
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _libc_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writing the range out; do not wait for it


def _start_writeback(fd: int, position: int, size: int) -> None:
    """Ask the kernel to start writing these bytes to disk now, without waiting.

    Left alone, a chunk stays dirty in the page cache until the kernel's 30 s writeback,
    so the fdatasync that completes an upload would write all of it then (about 1.5 s per
    GiB here). Started as each piece lands, the writing overlaps the upload and that final
    sync only waits for the last pieces. Durability still rests on that fdatasync.
    """
    if _sync_file_range is not None:
        _sync_file_range(fd, position, size, _SYNC_FILE_RANGE_WRITE)


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


class SocketBody:
    """A request body of known length read straight from gunicorn's client socket.

    gunicorn's own body reader hands out each piece after copying it through two BytesIO
    buffers (about five copies of every byte); at hundreds of MiB/s those copies cost as much
    CPU as the chunk's checksum. Here `recv_into` fills the caller's buffer, the one copy the
    kernel makes. gunicorn's reader is kept in step (its remaining length goes down as we read,
    a failed read marks the body failed), so after the response gunicorn drains what the view
    left unread and reuses, or closes, the connection exactly as it would have.
    """

    def __init__(self, wsgi_input, sock):
        self._input, self._reader, self._sock = wsgi_input, wsgi_input.reader, sock

    def readinto(self, buffer: memoryview) -> int:
        """Fill the start of `buffer` with the next bytes; 0 at the end of the body."""
        size = min(len(buffer), self._reader.length)
        if size <= 0:
            return 0
        # Bytes gunicorn read along with the headers come first; what is left of them (and
        # of a pipelining client's next request) goes back, so gunicorn's state is always as
        # if its own reader had read these bytes, wherever the view stops reading.
        ahead = self._reader.unreader.take_buffered()
        if ahead:
            got = min(size, len(ahead))
            buffer[:got] = ahead[:got]
            self._reader.unreader.unread(ahead[got:])
        else:
            try:
                got = self._sock.recv_into(buffer, size)
            except OSError:
                self._input.failed = True
                raise
            if not got:  # the client closed the connection before the body's end
                self._input.failed = True
                return 0
        self._reader.length -= got
        return got

    def read(self, size: int = -1, /) -> bytes:
        size = self._reader.length if size < 0 else min(size, self._reader.length)
        buffer = memoryview(bytearray(size))
        return bytes(buffer[: self.readinto(buffer)])


def socket_body(environ: dict, length: int) -> SocketBody | None:
    """The body as a SocketBody when gunicorn serves the request and nothing has read it yet;
    None otherwise (another server, Django's test client): the caller reads the request."""
    sock, wsgi_input = environ.get("gunicorn.socket"), environ.get("wsgi.input")
    reader = getattr(wsgi_input, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if (
        sock is None
        or not hasattr(sock, "recv_into")
        or not hasattr(unreader, "take_buffered")
        or not hasattr(unreader, "unread")
        or not hasattr(wsgi_input, "failed")
        # gunicorn's LengthReader that nobody has read from: all of the body is still to come.
        or getattr(reader, "length", None) != length
    ):
        return None
    return SocketBody(wsgi_input, sock)


class _PieceWriter:
    """Hashes and writes pieces on two helper threads while the request thread reads the next.

    Socket reads, hashing and file writes all release the GIL, so on two cores they overlap
    (as tus-node-server's reads and writes do). At most PIPELINE_PIECES pieces wait, so memory
    stays at a few pieces whatever the chunk size. Pieces read with `readinto` go into a few
    reused buffers (`buffer()`, then `submit()`); `write()` takes bytes made elsewhere. Writes
    are `os.pwrite` at offsets counted from `position`: the file object's position is unused.
    """

    def __init__(self, out: BinaryIO, hasher, position: int):
        self._fd, self._hasher, self._position = out.fileno(), hasher, position
        self._hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-hash")
        self._writing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-writer")
        self._pending: deque[tuple[list[Future], bytearray | None]] = deque()
        self._free: list[bytearray] = []
        self._buffers = 0

    def buffer(self) -> memoryview:
        """A READ_SIZE buffer that no pending piece uses, for the next `readinto`."""
        while not self._free and self._buffers > PIPELINE_PIECES:
            self._finish_oldest()
        if self._free:
            return memoryview(self._free.pop())
        self._buffers += 1
        return memoryview(bytearray(READ_SIZE))

    def submit(self, buffer: memoryview, size: int) -> None:
        """Hash and write the first `size` bytes of a buffer from `buffer()`."""
        self._enqueue(buffer[:size], buffer.obj)

    def write(self, piece: bytes) -> None:
        self._enqueue(memoryview(piece), None)

    def _enqueue(self, piece: memoryview, owner) -> None:
        while len(self._pending) >= PIPELINE_PIECES:
            self._finish_oldest()
        jobs = [self._writing.submit(self._write_at, piece, self._position)]
        if self._hasher is not None:
            jobs.append(self._hashing.submit(self._hasher.update, piece))
        self._position += len(piece)
        self._pending.append((jobs, owner))

    def _write_at(self, piece: memoryview, position: int) -> None:
        start, size = position, len(piece)
        while piece:
            written = os.pwrite(self._fd, piece, position)
            piece, position = piece[written:], position + written
        _start_writeback(self._fd, start, size)

    def _finish_oldest(self) -> None:
        jobs, owner = self._pending.popleft()
        for job in jobs:
            job.result()
        if owner is not None:  # only once both jobs are done with it
            self._free.append(owner)

    def wait(self) -> None:
        """Block until every piece handed over is hashed and written; raise what one raised."""
        while self._pending:
            self._finish_oldest()

    def close(self) -> None:
        self._hashing.shutdown(wait=True)
        self._writing.shutdown(wait=True)


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
