"""Stateless web nodes: two gunicorn instances and a Celery worker that share only PostgreSQL,
Redis and the S3 server (UPLOAD_STAGING=s3), each on a data directory of its own.

An upload started on one node is cut off mid-body, resumed on the other, completes byte-exact,
and the worker turns it into a ready evidence item whose recorded SHA-256 is the file's.
"""

import hashlib
import http.client
import io
import os
import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import requests
from django.utils import timezone
from PIL import Image

from evidence.intake import grants
from evidence.models import EvidenceItem, Upload, UploadGrant
from portal.models import AuditEvent
from tests.evidence.bigcase import Server
from tests.evidence.helpers import wait_for
from tests.evidence.intake.tus.helpers import MiB, _lock_held, checksum, tus_headers
from tests.s3server import ACCESS_KEY, BUCKET, SECRET_KEY, s3_client, s3_storages


def _noise_png(height: int = 1950) -> bytes:
    """An ~11 MiB photo (noise does not compress): two full S3 parts and a short last one."""
    picture = Image.frombytes("RGB", (2000, height), os.urandom(2000 * height * 3))
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def _cut_patch(base: str, path: str, value: str, data: bytes, declared: int) -> None:
    """A PATCH that announces `declared` bytes, sends `data` (fewer), and drops the connection."""
    conn = http.client.HTTPConnection(urlparse(base).netloc, timeout=30)
    conn.putrequest("PATCH", path)
    headers = tus_headers(
        value,
        Upload_Offset="0",
        Content_Type="application/offset+octet-stream",
        Content_Length=str(declared),
    )
    for name, header in headers.items():
        conn.putheader(name, header)
    conn.endheaders()
    conn.send(data)
    conn.sock.close()  # the phone lost its signal mid-body
    conn.close()


def _files_under(directory) -> list:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


@pytest.mark.django_db(transaction=True)
def test_an_upload_cut_on_one_node_resumes_on_another_and_a_third_processes_it(
    police, worker_pool, s3_endpoint, settings, tmp_path
):
    settings.STORAGES = s3_storages(s3_endpoint)
    settings.UPLOAD_STAGING = "s3"
    s3 = s3_client(s3_endpoint)
    shared = {
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "UPLOAD_STAGING": "s3",
    }
    dirs = {name: tmp_path / name for name in ("web-a", "web-b", "worker")}
    for directory in dirs.values():
        directory.mkdir()

    def node_env(name: str) -> dict:
        return {
            **worker_pool.env,  # the test database, Redis, and this test's own queues
            **shared,
            "DATA_DIR": str(dirs[name]),
            "UPLOAD_STAGING_DIR": str(dirs[name] / "staging"),
        }

    worker_pool.start(
        **shared, DATA_DIR=str(dirs["worker"]), UPLOAD_STAGING_DIR=str(dirs["worker"] / "staging")
    )
    grant, secret = grants.grant_create_with_secret(
        agency=police,
        flow=UploadGrant.Flow.TIP,
        source_ref="tip-scale",
        max_files=1,
        max_file_bytes=100 * MiB,
        media_types=["image/"],
        expires_at=timezone.now() + timedelta(hours=1),
        actor_label="tip form",
    )
    value = grants.grant_header_value(grant, secret)
    data = _noise_png()
    assert 10 * MiB < len(data) < 12 * MiB

    node_a, node_b = Server(node_env("web-a")), Server(node_env("web-b"))
    try:
        assert node_a.port != node_b.port
        created = requests.post(
            node_a.base + "/api/uploads/",
            headers=tus_headers(value, Upload_Length=str(len(data)), Upload_Metadata=""),
            timeout=30,
        )
        assert created.status_code == 201, created.text
        path = urlparse(created.headers["Location"]).path
        upload = Upload.objects.get(pk=path.rstrip("/").rsplit("/", 1)[1])

        # Node A receives 7 MiB and a bit of a 9 MiB PATCH, then the connection drops.
        _cut_patch(node_a.base, path, value, data[: 7 * MiB + 4321], declared=9 * MiB)
        deadline = time.monotonic() + 30
        while True:
            upload.refresh_from_db()
            if upload.offset > 0 and not _lock_held(upload.id):
                break
            assert time.monotonic() < deadline, "node A never recorded the bytes it received"
            time.sleep(0.05)

        # Node B, which never saw this upload, reports the offset and takes the rest.
        head = requests.head(node_b.base + path, headers=tus_headers(value), timeout=30)
        offset = int(head.headers["Upload-Offset"])
        assert 0 < offset <= 7 * MiB + 4321 and offset == upload.offset
        rest = data[offset:]
        resumed = requests.patch(
            node_b.base + path,
            data=rest,
            headers=tus_headers(
                value,
                Upload_Offset=str(offset),
                Content_Type="application/offset+octet-stream",
                Upload_Checksum=checksum("sha256", rest),
            ),
            timeout=60,
        )
        assert resumed.status_code == 204, resumed.text
        assert resumed.headers["Upload-Offset"] == str(len(data))
    finally:
        node_a.stop()
        node_b.stop()

    upload.refresh_from_db()
    assert upload.state == Upload.State.COMPLETE
    item = wait_for(EvidenceItem.objects.get(upload=upload))
    assert item.state == EvidenceItem.State.READY, item.state_reason
    # The SHA-256 the worker computed while streaming the staged object is the file's.
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    stored = s3.get_object(Bucket=BUCKET, Key=item.original_key)["Body"].read()
    assert stored == data
    assert AuditEvent.objects.filter(action="evidence.hashed", target_id=str(item.pk)).exists()
    # The staging is gone from S3, and no node ever kept a byte of it on its own disk.
    staged = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"staging/{upload.id}/")
    assert staged.get("KeyCount", 0) == 0
    assert not s3.list_multipart_uploads(Bucket=BUCKET, Prefix=f"staging/{upload.id}/").get(
        "Uploads"
    )
    for name in dirs:
        assert _files_under(dirs[name] / "staging") == [], name
