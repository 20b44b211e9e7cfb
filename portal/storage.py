"""Object storage: server-generated keys, write-once saves and signed download URLs, in one place.

The backend is Django's default storage: the filesystem under DATA_DIR, or S3 when S3_BUCKET is
set (with file_overwrite=False, private objects and signed URLs; see settings).
"""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename


class ObjectExists(Exception):
    """A write-once key already holds an object: nothing was written."""


def new_object_key(prefix: str) -> str:
    """A fresh key under `prefix`; never derived from anything a user sent."""
    now = datetime.now(UTC)
    return f"{prefix.strip('/')}/{now:%Y/%m/%d}/{uuid.uuid4().hex}"


def save_once(key: str, content) -> str:
    """Store `content` (a File) at `key`, refusing to replace an existing object."""
    if default_storage.exists(key):
        raise ObjectExists(key)
    saved = default_storage.save(key, content)
    if saved != key:
        # Another writer won a race for the key; our copy went elsewhere and is removed.
        default_storage.delete(saved)
        raise ObjectExists(key)
    return saved


def sha256_of(fileobj, chunk_size: int = 8 << 20) -> str:
    """SHA-256 of everything left to read in `fileobj`, in bounded memory."""
    digest = hashlib.sha256()
    while chunk := fileobj.read(chunk_size):
        digest.update(chunk)
    return digest.hexdigest()


def object_sha256(key: str) -> str:
    """SHA-256 of a stored object, read back from storage."""
    with default_storage.open(key, "rb") as stored:
        return sha256_of(stored)


def open_object(key: str, mode: str = "rb"):
    return default_storage.open(key, mode)


def open_stream(key: str):
    """A readable stream of the object from its start, with no local copy (for large reads).

    On S3, django-storages' file object downloads the whole object into a temporary file
    before the first read; this reads the GET response body instead. Close it when done.
    """
    stored = default_storage.open(key, "rb")
    s3_object = getattr(stored, "obj", None)
    if s3_object is None:
        return stored
    stored.close()
    return s3_object.get()["Body"]


def object_size(key: str) -> int:
    return default_storage.size(key)


def attachment_disposition(filename: str) -> str:
    """A Content-Disposition that always downloads: an ASCII name plus the UTF-8 original."""
    try:
        ascii_name = get_valid_filename(filename.encode("ascii", "ignore").decode())
    except SuspiciousFileOperation:
        ascii_name = "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def signed_download_url(key: str, *, filename: str, seconds: int = 300) -> str | None:
    """A short-lived URL that downloads the object as an attachment, or None on local storage."""
    if not hasattr(default_storage, "bucket_name"):
        return None
    # S3Storage.url takes these arguments; the stubs know only Storage.url(name).
    s3: Any = default_storage
    return s3.url(
        key,
        parameters={
            "ResponseContentDisposition": attachment_disposition(filename),
            "ResponseContentType": "application/octet-stream",
        },
        expire=seconds,
    )


def local_path(key: str) -> str:
    """The object's path on local disk; NotImplementedError when storage is remote (S3)."""
    return default_storage.path(key)


def delete_object(key: str) -> None:
    """Remove an object: a derivative left by an abandoned run, or an item's files once a
    two-person deletion or the retention schedule has tombstoned it (and audited what went)."""
    default_storage.delete(key)
