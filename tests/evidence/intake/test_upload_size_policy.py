"""Upload size is a policy per flow (UPLOAD_MAX_BYTES_BY_FLOW), with no global cap.

The last test sends 4.1 GiB, over the old global 4 GiB cap, through tus to a real gunicorn
process under the staff flow: the SHA-256 the pipeline records is the one the client computed
while sending, and the server's memory stays flat while gigabytes go through it.
"""

import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from evidence.intake import grants
from evidence.models import EvidenceItem, Upload, UploadGrant
from evidence.processing import pipeline
from portal import storage
from tests.evidence.bigcase import BLOCK, MiB, RssWatch, Server, rss_kib

GiB = 1 << 30
Flow = UploadGrant.Flow


def grant(police, flow, max_file_bytes):
    return grants.grant_create_with_secret(
        agency=police, flow=flow, source_ref="size-policy", max_files=3,
        max_file_bytes=max_file_bytes, media_types=["video/", "image/"],
        expires_at=timezone.now() + timedelta(hours=2), actor_label="test",
    )  # fmt: skip


def tus_create(client, value: str, length: int):
    return client.generic(
        "POST",
        "/api/uploads/",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(length),
            "Canvass-Upload-Grant": value,
        },
    )


@pytest.mark.django_db
def test_each_flow_has_its_own_limit_and_there_is_no_global_cap(police, client):
    assert {
        "tip": 4 * GiB,
        "footage_request": 32 * GiB,
        "staff_upload": 64 * GiB,
        "bodycam": 256 * GiB,
        "live_clip": 4 * GiB,
    } == django_settings.UPLOAD_MAX_BYTES_BY_FLOW
    assert not hasattr(django_settings, "UPLOAD_MAX_BYTES")
    # A body camera's 200 GiB shift is creatable (only its length is declared here) ...
    body, value = grant(police, Flow.BODYCAM, 256 * GiB)
    assert (
        tus_create(client, f"{grants.grant_header_value(body, value)}", 200 * GiB).status_code
        == 201
    )
    # ... a tip's is not, and the answer says which limit and how large, in bytes and GiB.
    with pytest.raises(ValidationError, match="tip grant's file size limit is from 1 to"):
        grant(police, Flow.TIP, 5 * GiB)
    tip, value = grant(police, Flow.TIP, 4 * GiB)
    refused = tus_create(client, grants.grant_header_value(tip, value), 4 * GiB + 1)
    assert refused.status_code == 413
    assert refused.content.decode().startswith(
        "The file is 4294967297 bytes (4 GiB); the limit is 4294967296 bytes (4 GiB) for tip "
        "uploads."
    )
    staff, value = grant(police, Flow.STAFF_UPLOAD, 64 * GiB)
    assert tus_create(client, grants.grant_header_value(staff, value), 5 * GiB).status_code == 201
    footage, value = grant(police, Flow.FOOTAGE_REQUEST, 32 * GiB)
    too_big = tus_create(client, grants.grant_header_value(footage, value), 33 * GiB)
    assert too_big.status_code == 413 and "footage request uploads" in too_big.content.decode()


@pytest.mark.django_db
def test_a_limit_lowered_after_creation_stops_the_next_patch(police, client, settings):
    staff, value = grant(police, Flow.STAFF_UPLOAD, 64 * GiB)
    header = grants.grant_header_value(staff, value)
    created = tus_create(client, header, 2000)
    assert created.status_code == 201
    settings.UPLOAD_MAX_BYTES_BY_FLOW = {**settings.UPLOAD_MAX_BYTES_BY_FLOW, "staff_upload": 1000}
    response = client.generic(
        "PATCH",
        urlparse(created["Location"]).path,
        b"x" * 100,
        content_type="application/offset+octet-stream",
        headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Canvass-Upload-Grant": header},
    )
    assert response.status_code == 413
    assert "the limit is 1000 bytes for staff upload uploads" in response.content.decode()
    assert Upload.objects.get().offset == 0


def test_each_flow_limit_is_overridden_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.UPLOAD_MAX_BYTES_BY_FLOW['bodycam'], "
        "settings.UPLOAD_MAX_BYTES_BY_FLOW['tip'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "UPLOAD_MAX_BYTES_BODYCAM": str(512 * GiB),
        "UPLOAD_MAX_BYTES_TIP": "1000",
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [str(512 * GiB), "1000"]


# --- 4.1 GiB over real HTTP ---------------------------------------------------------------

BIG = 4 * GiB + 100 * MiB + 12345  # over the old cap, and not a multiple of any chunk size
PATCH_BYTES = 512 * MiB  # per request: several requests, each far larger than any buffer
SEND_PIECE = 1 * MiB


class Stream:
    """BIG bytes made from one random block with a counter stamped in each copy, never held
    in memory; hashes what it yields."""

    def __init__(self, size: int):
        self.size, self.sent = size, 0
        self.block = os.urandom(BLOCK)
        self.sha256 = hashlib.sha256()

    def pieces(self, count: int):
        end = self.sent + count
        while self.sent < end:
            block_no, within = divmod(self.sent, BLOCK)
            block = block_no.to_bytes(8, "big") + self.block[8:]
            piece = block[within : within + min(SEND_PIECE, end - self.sent)]
            self.sha256.update(piece)
            self.sent += len(piece)
            yield piece


def patch_stream(base: str, path: str, header: str, offset: int, pieces, length: int) -> int:
    """One tus PATCH whose body is sent piece by piece; returns the new Upload-Offset."""
    conn = http.client.HTTPConnection(urlparse(base).netloc, timeout=300)
    try:
        conn.putrequest("PATCH", path)
        for name, value in {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(length),
            "Canvass-Upload-Grant": header,
        }.items():
            conn.putheader(name, value)
        conn.endheaders()
        for piece in pieces:
            conn.send(piece)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 204, (response.status, body[:500])
        return int(response.getheader("Upload-Offset"))
    finally:
        conn.close()


def create_over_http(base: str, header: str, length: int) -> str:
    conn = http.client.HTTPConnection(urlparse(base).netloc, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/uploads/",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(length),
                "Canvass-Upload-Grant": header,
            },
        )
        response = conn.getresponse()
        body = response.read()
        assert response.status == 201, (response.status, body[:500])
        return urlparse(response.getheader("Location")).path
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_4_1_gib_staff_upload_arrives_whole_with_flat_server_memory(police, settings):
    free = shutil.disk_usage(settings.DATA_DIR).free
    # Staged copy plus the stored original: both exist until the pipeline drops the staged one.
    assert free > 2 * BIG + 4 * GiB, f"only {free / GiB:.1f} GiB free under {settings.DATA_DIR}"
    staff, secret = grant(police, Flow.STAFF_UPLOAD, grants.flow_max_bytes(Flow.STAFF_UPLOAD))
    header = grants.grant_header_value(staff, secret)
    db = connection.settings_dict
    queue = f"test-size-{uuid.uuid4().hex[:12]}"  # nobody consumes it: the test runs the pipeline
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(settings.DATA_DIR),
        "CELERY_QUEUE": queue,
        "CELERY_MEDIA_QUEUE": queue,
    }
    server = Server(env)
    item = None
    try:
        pid = server.worker_pid()
        warm = Stream(3 * MiB)  # a first small upload loads every code path the big one uses
        path = create_over_http(server.base, header, warm.size)
        patch_stream(server.base, path, header, 0, warm.pieces(warm.size), warm.size)
        baseline_kib = rss_kib(pid)

        big = Stream(BIG)
        path = create_over_http(server.base, header, BIG)
        offset = 0
        with RssWatch(pid) as watch:
            while offset < BIG:
                length = min(PATCH_BYTES, BIG - offset)
                offset = patch_stream(server.base, path, header, offset, big.pieces(length), length)
        assert offset == BIG
    finally:
        server.stop()
        redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete(queue)
    try:
        upload = Upload.objects.get(pk=path.rstrip("/").rsplit("/", 1)[-1])
        assert upload.state == Upload.State.COMPLETE and upload.length == BIG
        item = EvidenceItem.objects.get(upload=upload)
        assert item.size == BIG and item.source == "staff_upload"
        pipeline.process(item.pk)  # stores and hashes the original, as the worker would
        item.refresh_from_db()
        assert item.sha256 == big.sha256.hexdigest()
        assert storage.object_size(item.original_key) == BIG
    finally:
        if item is not None:
            storage.delete_object(item.original_key)
        for leftover in Path(settings.UPLOAD_STAGING_DIR).glob("**/*"):
            if leftover.is_file() and leftover.stat().st_size > 100 * MiB:
                leftover.unlink()
    growth_mib = (watch.peak_kib - baseline_kib) / 1024
    print(
        f"4.1 GiB upload: server RSS baseline {baseline_kib / 1024:.0f} MiB, growth {growth_mib:.1f} MiB"
    )
    assert growth_mib < 64, f"server memory grew {growth_mib:.0f} MiB during the upload"
