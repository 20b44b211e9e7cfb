"""Unfinished uploads staged on S3 (UPLOAD_STAGING=s3), against the local moto S3 server.

moto enforces S3's 5 MiB minimum part size too, so the files here are ~11 MiB: two full parts
and a short last one, sent in PATCHes far smaller than a part.
"""

import os
from datetime import timedelta

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from evidence.intake import s3staging, staging, uploads
from evidence.models import EvidenceItem, Upload
from tests.evidence.intake.tus.helpers import (
    MiB,
    b64,
    checksum,
    create,
    patch,
    tus_headers,
    upload_of,
    upload_url,
)
from tests.s3server import BUCKET, s3_client, s3_storages

LENGTH = 11 * MiB + 12345

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3(settings, s3_endpoint):
    settings.STORAGES = s3_storages(s3_endpoint)
    settings.UPLOAD_STAGING = "s3"
    return s3_client(s3_endpoint)


def _keys(s3, upload_id) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"staging/{upload_id}/")
    return sorted(each["Key"].rsplit("/", 1)[1] for each in listed.get("Contents", []))


def _multipart_uploads(s3, upload_id) -> list:
    listed = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=f"staging/{upload_id}/")
    return listed.get("Uploads", [])


def _staged_bytes(s3, upload_id) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=s3staging.data_key(upload_id))["Body"].read()


def test_patches_smaller_than_a_part_build_the_file_byte_exact(
    s3, client, secret_grant, queued, django_capture_on_commit_callbacks, tmp_path
):
    _, value = secret_grant()
    data = os.urandom(LENGTH)
    url = upload_url(create(client, value, LENGTH, f"filename {b64('cam.mp4')}"))
    upload = upload_of(url)
    assert len(_multipart_uploads(s3, upload.id)) == 1
    assert not (tmp_path / "staging").exists()  # nothing on this node's disk

    # Uneven PATCHes, all under the 5 MiB part minimum, some crossing a part boundary.
    cuts = [0, 1, MiB, 3 * MiB + 7, 5 * MiB - 1, 5 * MiB + 2, 9 * MiB, 10 * MiB + 3, LENGTH]
    for start, end in zip(cuts, cuts[1:], strict=False):
        chunk = data[start:end]
        with django_capture_on_commit_callbacks(execute=True):
            response = patch(
                client, url, value, chunk, start, Upload_Checksum=checksum("sha1", chunk)
            )
        assert response.status_code == 204, response.content
        assert response["Upload-Offset"] == str(end)
        if end < LENGTH:
            # Only the tail of the current offset waits beside the parts: old ones are removed.
            tail = [] if end % s3staging.part_size(LENGTH) == 0 else [f"tail-{end}"]
            assert _keys(s3, upload.id) == tail

    upload.refresh_from_db()
    assert upload.state == Upload.State.COMPLETE
    assert _multipart_uploads(s3, upload.id) == []
    assert _keys(s3, upload.id) == ["data"]  # the tails went when the multipart completed
    assert _staged_bytes(s3, upload.id) == data
    item = EvidenceItem.objects.get(upload=upload)
    assert item.size == LENGTH and queued == [item.pk]
    with staging.open_staged(upload) as stream:
        assert stream.read(10) == data[:10]


def test_a_checksum_mismatch_keeps_nothing_of_the_chunk(s3, client, secret_grant):
    _, value = secret_grant()
    data = os.urandom(LENGTH)
    url = upload_url(create(client, value, LENGTH))
    upload = upload_of(url)
    first = data[: 6 * MiB]  # one full part and a 1 MiB tail
    assert patch(client, url, value, first, 0).status_code == 204
    assert _keys(s3, upload.id) == [f"tail-{6 * MiB}"]

    # A chunk that fills the second part (so a part is uploaded) and then fails its checksum.
    rest = data[6 * MiB :]
    damaged = rest[:-1] + bytes([rest[-1] ^ 1])
    response = patch(client, url, value, damaged, 6 * MiB, Upload_Checksum=checksum("sha256", rest))
    assert response.status_code == 460
    upload.refresh_from_db()
    assert upload.offset == 6 * MiB and upload.state == Upload.State.OPEN
    assert _keys(s3, upload.id) == [f"tail-{6 * MiB}"]
    tail = s3.get_object(Bucket=BUCKET, Key=s3staging.tail_key(upload.id, 6 * MiB))
    assert tail["Body"].read() == data[5 * MiB : 6 * MiB]
    assert client.head(url, headers=tus_headers(value))["Upload-Offset"] == str(6 * MiB)

    # The same chunk again, intact: the damaged part is replaced and the file is exact.
    response = patch(client, url, value, rest, 6 * MiB, Upload_Checksum=checksum("sha256", rest))
    assert response.status_code == 204
    assert _staged_bytes(s3, upload.id) == data


def test_a_second_writer_is_refused_while_one_holds_the_upload(s3, client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, LENGTH))
    upload = upload_of(url)
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        password=db["PASSWORD"] or None,
        autocommit=True,
    )
    try:
        # Another node's request holds the upload's writer lock (PostgreSQL, node-independent).
        held = other.execute(
            "SELECT pg_try_advisory_lock(%s)", [staging._lock_key(upload.id)]
        ).fetchone()
        assert held == (True,)
        response = patch(client, url, value, b"x" * 1000, 0)
        assert response.status_code == 409 and b"Another request" in response.content
        assert _keys(s3, upload.id) == []
        other.execute("SELECT pg_advisory_unlock(%s)", [staging._lock_key(upload.id)])
    finally:
        other.close()
    assert patch(client, url, value, b"x" * 1000, 0).status_code == 204
    assert _keys(s3, upload.id) == ["tail-1000"]


def test_termination_aborts_the_multipart_upload_and_deletes_its_objects(s3, client, secret_grant):
    _, value = secret_grant()
    data = os.urandom(LENGTH)
    url = upload_url(create(client, value, LENGTH))
    upload = upload_of(url)
    assert patch(client, url, value, data[: 7 * MiB], 0).status_code == 204
    assert _keys(s3, upload.id) == [f"tail-{7 * MiB}"] and _multipart_uploads(s3, upload.id)

    response = client.delete(url, headers=tus_headers(value))
    assert response.status_code == 204
    assert _multipart_uploads(s3, upload.id) == []
    assert _keys(s3, upload.id) == []
    upload.refresh_from_db()
    assert upload.state == Upload.State.TERMINATED


def test_expiry_aborts_the_multipart_upload_and_deletes_its_objects(s3, client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, LENGTH))
    upload = upload_of(url)
    assert patch(client, url, value, os.urandom(2 * MiB), 0).status_code == 204
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert uploads.uploads_expire() == 1
    assert _multipart_uploads(s3, upload.id) == []
    assert _keys(s3, upload.id) == []


def test_an_empty_upload_is_staged_as_an_empty_object(s3, client, secret_grant):
    _, value = secret_grant()
    upload = upload_of(upload_url(create(client, value, 0)))
    assert upload.state == Upload.State.COMPLETE
    assert _multipart_uploads(s3, upload.id) == []
    assert _staged_bytes(s3, upload.id) == b""


def test_part_size_meets_the_minimum_and_the_part_count_limit():
    assert s3staging.part_size(1) == 5 * MiB
    assert s3staging.part_size(50 * 1000 * MiB) == 5 * MiB
    size = s3staging.part_size(256 << 30)  # a body camera's largest file
    assert size % MiB == 0 and (256 << 30) / size <= s3staging.MAX_PARTS


def test_a_last_chunk_resent_after_its_transaction_failed_completes_the_upload(
    s3, client, secret_grant, monkeypatch
):
    # S3 completed the multipart upload, then the transaction making the item rolled back.
    _, value = secret_grant()
    data = os.urandom(LENGTH)
    url = upload_url(create(client, value, LENGTH))
    upload = upload_of(url)
    assert patch(client, url, value, data[: 6 * MiB], 0).status_code == 204
    real_finish = s3staging.finish

    def finish_then_fail(upload_id, length):
        real_finish(upload_id, length)
        raise DatabaseError("the connection dropped at commit")

    monkeypatch.setattr(s3staging, "finish", finish_then_fail)
    with pytest.raises(DatabaseError):
        patch(client, url, value, data[6 * MiB :], 6 * MiB)
    upload.refresh_from_db()
    assert upload.offset == 6 * MiB and upload.state == Upload.State.OPEN
    assert _multipart_uploads(s3, upload.id) == [] and _staged_bytes(s3, upload.id) == data
    monkeypatch.setattr(s3staging, "finish", real_finish)

    # Different bytes are refused; the same bytes complete the upload.
    other = os.urandom(LENGTH - 6 * MiB)
    assert patch(client, url, value, other, 6 * MiB).status_code == 400
    response = patch(
        client, url, value, data[6 * MiB :], 6 * MiB,
        Upload_Checksum=checksum("sha1", data[6 * MiB :]),
    )  # fmt: skip
    assert response.status_code == 204, response.content
    upload.refresh_from_db()
    assert upload.state == Upload.State.COMPLETE
    assert EvidenceItem.objects.get(upload=upload).size == LENGTH
    assert _staged_bytes(s3, upload.id) == data


def test_the_sweep_removes_staging_left_by_a_crash_after_termination(s3, client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, LENGTH))
    upload = upload_of(url)
    assert patch(client, url, value, os.urandom(MiB), 0).status_code == 204
    # The row says terminated, but the process died before S3 was cleaned.
    Upload.objects.filter(pk=upload.pk).update(state=Upload.State.TERMINATED)
    assert _multipart_uploads(s3, upload.id) and _keys(s3, upload.id) == [f"tail-{MiB}"]

    uploads.uploads_expire()
    assert _multipart_uploads(s3, upload.id) == []
    assert _keys(s3, upload.id) == []
