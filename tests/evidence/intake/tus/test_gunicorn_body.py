"""PATCH bodies under gunicorn, read straight from its socket (staging.SocketBody).

Django's test client and live_server never take that path, so these tests run gunicorn as the
Procfile does (gthread) and speak raw HTTP/1.1 on one kept-alive connection: after every
answer, accepted, refused before the body was read, or refused after, the connection must
carry the next request exactly, as it did when gunicorn's own reader read the body.
"""

import base64
import hashlib
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from evidence.intake import staging as staged_files
from evidence.models import EvidenceItem, Upload
from tests.evidence.bigcase import Server
from tests.evidence.intake.tus.helpers import MiB, _lock_held

pytestmark = pytest.mark.django_db(transaction=True)


class Conn:
    """One kept-alive HTTP/1.1 connection; reads answers by Content-Length."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.pending = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.pending:
            self._more()
        head, _, self.pending = self.pending.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.pending) < length:
            self._more()
        body, self.pending = self.pending[:length], self.pending[length:]
        return int(status_line.split()[1]), headers, body

    def _more(self) -> None:
        data = self.sock.recv(65536)
        assert data, "the server closed the connection"
        self.pending += data

    def close(self) -> None:
        self.sock.close()


def request(method: str, path: str, headers: dict, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Tus-Resumable: 1.0.0"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def patch(path: str, grant: str, offset: int, body: bytes, checksum: bytes | None = None):
    headers = {
        "Canvass-Upload-Grant": grant,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    if checksum is not None:
        headers["Upload-Checksum"] = "sha256 " + base64.b64encode(checksum).decode()
    return request("PATCH", path, headers, body)


def head(path: str, grant: str) -> bytes:
    return request("HEAD", path, {"Canvass-Upload-Grant": grant})


@pytest.fixture
def server(settings):
    db = connection.settings_dict
    queue = f"test-sockbody-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(settings.DATA_DIR),
        "UPLOAD_STAGING_DIR": str(settings.UPLOAD_STAGING_DIR),
        "CELERY_QUEUE": queue,
        "CELERY_MEDIA_QUEUE": queue,
    }
    running = Server(env)
    try:
        yield running
    finally:
        running.stop()
        redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete(queue)


def create(conn: Conn, grant: str, length: int) -> str:
    conn.send(
        request(
            "POST",
            "/api/uploads/",
            {
                "Canvass-Upload-Grant": grant,
                "Upload-Length": str(length),
                "Upload-Metadata": "filetype " + base64.b64encode(b"video/mp4").decode(),
            },
        )
    )
    status, headers, body = conn.answer()
    assert status == 201, body
    return "/" + headers["location"].split("/", 3)[3]


def test_one_connection_carries_accepted_refused_and_pipelined_patches(server, secret_grant):
    grant, value = secret_grant()
    first, second = os.urandom(3 * MiB + 1234), os.urandom(2 * MiB + 77)
    conn = Conn(server.port)
    try:
        path = create(conn, value, len(first) + len(second))
        upload_id = path.rstrip("/").rsplit("/", 1)[-1]

        # Refused before its body is read (wrong offset): gunicorn skips the unread body
        # (up to 64 KiB; past that it closes the connection, whoever read the body).
        conn.send(patch(path, value, 5, first[:1000]))
        assert conn.answer()[0] == 409

        # Refused after its body is read (checksum): nothing of it is kept.
        conn.send(patch(path, value, 0, first, checksum=hashlib.sha256(b"other").digest()))
        status, _, body = conn.answer()
        assert status == 460, body
        assert Upload.objects.get(pk=upload_id).offset == 0

        # Accepted, then a HEAD pipelined right behind the next PATCH in one write: the bytes
        # past the PATCH's body are the HEAD, and gunicorn must still find them.
        conn.send(patch(path, value, 0, first, checksum=hashlib.sha256(first).digest()))
        status, headers, _ = conn.answer()
        assert (status, headers["upload-offset"]) == (204, str(len(first)))
        conn.send(
            patch(path, value, len(first), second, checksum=hashlib.sha256(second).digest())
            + head(path, value)
        )
        status, headers, _ = conn.answer()
        assert (status, headers["upload-offset"]) == (204, str(len(first) + len(second)))
        status, headers, _ = conn.answer()
        assert (status, headers["upload-offset"]) == (200, str(len(first) + len(second)))
    finally:
        conn.close()
    upload = Upload.objects.get(pk=upload_id)
    assert upload.state == Upload.State.COMPLETE
    assert EvidenceItem.objects.filter(upload=upload).exists()
    staged = Path(staged_files.staged_path(upload)).read_bytes()
    assert hashlib.sha256(staged).digest() == hashlib.sha256(first + second).digest()


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("with_checksum", [True, False], ids=["checksum", "no-checksum"])
def test_a_body_cut_short_keeps_what_its_checksum_allows(server, secret_grant, with_checksum):
    grant, value = secret_grant()
    data = os.urandom(4 * MiB)
    conn = Conn(server.port)
    path = create(conn, value, len(data))
    upload_id = path.rstrip("/").rsplit("/", 1)[-1]
    sent = 2 * MiB + 5
    whole = patch(path, value, 0, data, hashlib.sha256(data).digest() if with_checksum else None)
    conn.send(whole[: len(whole) - len(data) + sent])
    # The PATCH is reading its body (it holds the upload) when the client goes away.
    wait_until(lambda: _lock_held(upload_id), "the PATCH holds the upload")
    conn.close()
    wait_until(lambda: not _lock_held(upload_id), "the cut PATCH lets go of the upload")

    conn = Conn(server.port)
    try:
        conn.send(head(path, value))
        status, headers, _ = conn.answer()
    finally:
        conn.close()
    offset = int(headers["upload-offset"])
    assert status == 200 and offset == Upload.objects.get(pk=upload_id).offset
    # With a checksum the chunk cannot be verified, so none of it counts; without one, every
    # byte that arrived is kept and the upload resumes after it.
    assert offset == (0 if with_checksum else sent)
    staged = Path(staged_files.staged_path(Upload.objects.get(pk=upload_id))).read_bytes()
    assert staged[:offset] == data[:offset]
