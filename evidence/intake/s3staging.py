"""Unfinished uploads staged on S3 (UPLOAD_STAGING=s3): no web or worker node keeps their bytes.

One S3 multipart upload per tus upload, as tusd's S3 store does, targeting the key
`staging/<upload id>/data` in the evidence bucket. The multipart upload is found by that key
(ListMultipartUploads), so nothing about it has to be kept on a node or in the upload's row.

Parts have a fixed size for an upload, `part_size(length)` (at least S3's 5 MiB minimum, and
large enough that 10,000 parts cover the length), so part n always holds the bytes
[(n-1)·P, n·P). What a tus offset O means on S3 is therefore fixed by O alone:
- parts 1..O//P hold accepted bytes;
- the O % P bytes after them wait in the "incomplete part" object `staging/<id>/tail-<O>`,
  because S3 refuses parts under 5 MiB except the last, and tus PATCHes may be any size.
A PATCH reads that tail, appends its body, and uploads every part it fills as the body arrives.
A part uploaded by a PATCH that is then refused (checksum mismatch, body too long, body cut
short with a checksum) lies past the recorded offset; it is simply uploaded again, under the
same number, when its bytes are next sent, and `tail-<O>` is untouched, so nothing of the
refused chunk is ever kept. The new tail is written before the offset moves and the old one is
removed after, so a crash at any point leaves the tail of the recorded offset in place.

On the last byte, the remaining bytes become the last part (which may be small), and the
multipart upload is completed as the last step inside the transaction that marks the upload
complete: if completing fails, the transaction rolls back and the client can resend the chunk.
The media worker then streams `staging/<id>/data` (one GET, never the whole file in memory),
hashes it on the way into the evidence key, and removes the staging objects.

Memory per PATCH: one part being filled plus one part being uploaded (2·P, 10 MiB for files up
to 50 GB).
"""

import contextlib
import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

MIN_PART_SIZE = 5 << 20
MAX_PARTS = 10_000
PREFIX = "staging/"
# Parts sent to S3 at once while the request reads the next one: memory per PATCH is
# (PARTS_IN_FLIGHT + 1) parts. 2 and 3 were no faster against moto on two cores.
PARTS_IN_FLIGHT = 1


def part_size(length: int) -> int:
    """The fixed part size of an upload of `length` bytes (a whole number of MiB)."""
    needed = math.ceil(length / MAX_PARTS)
    return max(MIN_PART_SIZE, math.ceil(needed / (1 << 20)) << 20)


def data_key(upload_id) -> str:
    return f"{PREFIX}{upload_id}/data"


def tail_key(upload_id, offset: int) -> str:
    return f"{PREFIX}{upload_id}/tail-{offset}"


def _options() -> dict:
    default = settings.STORAGES["default"]
    return dict(default.get("OPTIONS", {})) if isinstance(default, dict) else {}


@cache
def _client_for(endpoint, region, access_key, secret_key, addressing):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing or "auto"},
            retries={"mode": "standard"},
            max_pool_connections=20,
        ),
    )


def client():
    """The S3 client of the evidence bucket (the same settings as Django's default storage)."""
    options = _options()
    return _client_for(
        options.get("endpoint_url"),
        options.get("region_name"),
        options.get("access_key"),
        options.get("secret_key"),
        options.get("addressing_style"),
    )


def bucket() -> str:
    return _options()["bucket_name"]


def _is(error: ClientError, *codes: str) -> bool:
    return error.response.get("Error", {}).get("Code") in codes


# --- creating and finding the multipart upload ----------------------------------------


def create(upload_id, length: int) -> None:
    """Begin staging an upload: its multipart upload, or at once its (empty) object."""
    if length == 0:
        client().put_object(Bucket=bucket(), Key=data_key(upload_id), Body=b"")
        return
    client().create_multipart_upload(Bucket=bucket(), Key=data_key(upload_id))


def _multipart_ids(upload_id) -> list[str]:
    key = data_key(upload_id)
    listed = client().list_multipart_uploads(Bucket=bucket(), Prefix=key)
    return [each["UploadId"] for each in listed.get("Uploads", []) if each["Key"] == key]


def multipart_id(upload_id) -> str:
    ids = _multipart_ids(upload_id)
    if not ids:
        raise FileNotFoundError(f"no staging multipart upload for {upload_id}")
    return ids[0]


# --- writing ------------------------------------------------------------------------------


class PartWriter:
    """Collects a PATCH's bytes into fixed-size parts and uploads each as soon as it is full.

    One part uploads on a helper thread while the request thread reads the next (at most one
    waits), so reading from the socket and sending to S3 overlap.
    """

    def __init__(self, upload_id, length: int, offset: int):
        self.upload_id, self.length, self.offset = upload_id, length, offset
        self.size = part_size(length)
        self.mpu = multipart_id(upload_id)
        self.next_part = offset // self.size + 1
        self.buffer = bytearray(self._read_tail(offset))
        self.received = 0
        self._pool = ThreadPoolExecutor(max_workers=PARTS_IN_FLIGHT, thread_name_prefix="s3-part")
        self._pending: deque[Future] = deque()

    def _read_tail(self, offset: int) -> bytes:
        if offset % self.size == 0:
            return b""
        try:
            body = client().get_object(Bucket=bucket(), Key=tail_key(self.upload_id, offset))
        except ClientError as error:
            if _is(error, "NoSuchKey", "404"):
                raise FileNotFoundError(f"staged tail of {self.upload_id} at {offset}") from None
            raise
        data = body["Body"].read()
        if len(data) != offset % self.size:
            raise FileNotFoundError(f"staged tail of {self.upload_id} has {len(data)} bytes")
        return data

    def _send(self, number: int, data: bytes) -> None:
        client().upload_part(
            Bucket=bucket(),
            Key=data_key(self.upload_id),
            UploadId=self.mpu,
            PartNumber=number,
            Body=data,
        )

    def _hand_over(self, data: bytes) -> None:
        while len(self._pending) >= PARTS_IN_FLIGHT:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._send, self.next_part, data))
        self.next_part += 1

    def write(self, piece: bytes) -> None:
        self.buffer += piece
        self.received += len(piece)
        while len(self.buffer) >= self.size:
            self._hand_over(bytes(self.buffer[: self.size]))
            del self.buffer[: self.size]

    def wait(self) -> None:
        """Every full part uploaded; on the upload's last byte, the last (short) part too."""
        if self.offset + self.received == self.length and self.buffer:
            self._hand_over(bytes(self.buffer))
            self.buffer.clear()
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def keep(self) -> None:
        """Store the bytes short of a whole part as the tail of the new offset (before it moves)."""
        new_offset = self.offset + self.received
        if new_offset < self.length and self.buffer:
            client().put_object(
                Bucket=bucket(), Key=tail_key(self.upload_id, new_offset), Body=bytes(self.buffer)
            )


class CompletedCheck:
    """For a PATCH resent after the multipart upload completed but its transaction did not.

    The staged object already holds every byte; the resent bytes are compared with it instead
    of being stored again, and the upload completes if they are the same.
    """

    def __init__(self, upload_id, offset: int, length: int):
        self.stream = client().get_object(
            Bucket=bucket(), Key=data_key(upload_id), Range=f"bytes={offset}-{length - 1}"
        )["Body"]
        self.same, self.received = True, 0

    def write(self, piece: bytes) -> None:
        if self.same and self.stream.read(len(piece)) != piece:
            self.same = False
        self.received += len(piece)

    def wait(self) -> None:
        pass

    def keep(self) -> None:
        pass

    def close(self) -> None:
        self.stream.close()


def completed_size(upload_id) -> int | None:
    """The size of the completed staged object, or None while there is none."""
    try:
        return int(client().head_object(Bucket=bucket(), Key=data_key(upload_id))["ContentLength"])
    except ClientError as error:
        if _is(error, "404", "NoSuchKey", "NotFound"):
            return None
        raise


def forget_tail(upload_id, old_offset: int, length: int) -> None:
    """After the offset moved on: the tail of the old offset is no longer needed."""
    if old_offset % part_size(length):
        with contextlib.suppress(ClientError):
            client().delete_object(Bucket=bucket(), Key=tail_key(upload_id, old_offset))


def _parts(upload_id, mpu: str) -> Iterator[dict]:
    paginator = client().get_paginator("list_parts")
    for page in paginator.paginate(Bucket=bucket(), Key=data_key(upload_id), UploadId=mpu):
        yield from page.get("Parts", [])


def finish(upload_id, length: int) -> None:
    """Complete the multipart upload: parts 1..N, which together hold exactly `length` bytes."""
    if not _multipart_ids(upload_id) and completed_size(upload_id) == length:
        return  # completed by an earlier request whose transaction then failed
    mpu = multipart_id(upload_id)
    size = part_size(length)
    count = math.ceil(length / size)
    parts = sorted(
        (part for part in _parts(upload_id, mpu) if part["PartNumber"] <= count),
        key=lambda part: part["PartNumber"],
    )
    if [part["PartNumber"] for part in parts] != list(range(1, count + 1)) or sum(
        part["Size"] for part in parts
    ) != length:
        raise OSError(f"staged parts of {upload_id} do not add up to {length} bytes")
    client().complete_multipart_upload(
        Bucket=bucket(),
        Key=data_key(upload_id),
        UploadId=mpu,
        MultipartUpload={
            "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
        },
    )
    _delete_objects(upload_id, keep_data=True)


# --- reading and removing -----------------------------------------------------------------


def exists(upload_id) -> bool:
    return completed_size(upload_id) is not None


def open_stream(upload_id):
    """The completed staged object as a stream (one GET; read it in pieces)."""
    try:
        return client().get_object(Bucket=bucket(), Key=data_key(upload_id))["Body"]
    except ClientError as error:
        if _is(error, "NoSuchKey", "404"):
            raise FileNotFoundError(data_key(upload_id)) from None
        raise


def _keys(prefix: str) -> Iterator[str]:
    paginator = client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket(), Prefix=prefix):
        for each in page.get("Contents", []):
            yield each["Key"]


def _delete_objects(upload_id, *, keep_data: bool = False) -> None:
    keys = [
        key
        for key in _keys(f"{PREFIX}{upload_id}/")
        if not (keep_data and key == data_key(upload_id))
    ]
    for start in range(0, len(keys), 1000):
        client().delete_objects(
            Bucket=bucket(),
            Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]], "Quiet": True},
        )


def remove(upload_id) -> None:
    """Abort the upload's multipart upload (its parts go with it) and delete its objects."""
    for mpu in _multipart_ids(upload_id):
        with contextlib.suppress(ClientError):
            client().abort_multipart_upload(Bucket=bucket(), Key=data_key(upload_id), UploadId=mpu)
    _delete_objects(upload_id)


def staged_upload_ids() -> set[str]:
    """Every upload id with something staged: objects or an unfinished multipart upload."""
    ids = {key[len(PREFIX) :].split("/", 1)[0] for key in _keys(PREFIX)}
    paginator = client().get_paginator("list_multipart_uploads")
    for page in paginator.paginate(Bucket=bucket(), Prefix=PREFIX):
        ids.update(each["Key"][len(PREFIX) :].split("/", 1)[0] for each in page.get("Uploads", []))
    return ids
