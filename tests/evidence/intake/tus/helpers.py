"""Helpers of the tus tests: requests in the protocol's shape, and the clients that send them."""

import base64
import hashlib
from urllib.parse import urlparse

from django.db import connection
from django.test import Client
from django.urls import reverse
from tusclient.client import TusClient
from tusclient.uploader import Uploader

from evidence.intake import staging as staged_files
from evidence.models import Upload
from tests.conftest import sign_in

MiB = 1 << 20
OCTETS = "application/offset+octet-stream"
CREATE_URL = "/api/uploads/"

MiB = 1 << 20
OCTETS = "application/offset+octet-stream"
CREATE_URL = "/api/uploads/"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def tus_headers(grant_value: str | None, **extra) -> dict:
    headers = {"Tus-Resumable": "1.0.0", **{k.replace("_", "-"): v for k, v in extra.items()}}
    if grant_value is not None:
        headers["Canvass-Upload-Grant"] = grant_value
    return headers


def create(client, grant_value, length, metadata=None, **extra):
    headers = tus_headers(grant_value, Upload_Length=str(length), **extra)
    if metadata is not None:
        headers["Upload-Metadata"] = metadata
    # generic(): client.post() would send an empty multipart body, which no tus client does.
    return client.generic("POST", CREATE_URL, headers=headers)


def upload_url(response) -> str:
    assert response.status_code == 201, response.content
    return urlparse(response["Location"]).path


def upload_of(url: str) -> Upload:
    return Upload.objects.get(pk=url.rstrip("/").rsplit("/", 1)[1])


def patch(client, url, grant_value, data: bytes, offset: int, **extra):
    content_type = extra.pop("content_type", OCTETS)
    return client.generic(
        "PATCH",
        url,
        data,
        content_type=content_type,
        headers=tus_headers(grant_value, Upload_Offset=str(offset), **extra),
        CONTENT_TYPE=content_type,  # the test client drops it when the body is empty
    )


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


class Sha256Uploader(Uploader):
    """tuspy hard-codes sha1 as a class attribute; this is its documented seam for others."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def staff_grant_value(user) -> str:
    return sign_in(Client(), user).post(reverse("uploads:grants")).json()["value"]


def staff_tus_client(live_server, user, grant_value: str) -> TusClient:
    """A tuspy client on a session of its own for `user`, carrying the grant header."""
    cookie = f"sessionid={sign_in(Client(), user).cookies['sessionid'].value}"
    return TusClient(
        live_server.url + CREATE_URL,
        headers={"Cookie": cookie, "Canvass-Upload-Grant": grant_value},
    )


def _lock_held(upload_id) -> bool:
    key = staged_files._lock_key(upload_id) & 0xFFFFFFFFFFFFFFFF
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0] == 1
