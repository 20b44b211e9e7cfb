"""tus 1.0.0 uploads: the protocol, upload grants, real clients, concurrency, expiry, memory."""

import base64
import hashlib
import http.client
import io
import os
import time
import tracemalloc
import uuid
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import requests
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader

from evidence.intake import grants, tus, uploads
from evidence.intake import staging as staged_files
from evidence.models import EvidenceItem, Upload, UploadGrant
from evidence.processing import queue
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import sign_in
from tests.factories import PASSWORD

MiB = 1 << 20
OCTETS = "application/offset+octet-stream"
CREATE_URL = "/api/uploads/"


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def staging(settings, tmp_path):
    """A staging directory of this test's own (live_server runs in-process, so it sees it too)."""
    settings.UPLOAD_STAGING_DIR = tmp_path / "staging"
    return settings.UPLOAD_STAGING_DIR


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Item ids whose processing was queued; the pipeline itself is not the subject here."""
    ids = []
    monkeypatch.setattr(queue, "item_processing_queue", ids.append)
    return ids


@pytest.fixture
def secret_grant(police):
    """secret_grant(**overrides) -> (grant, header value) for a tip-style grant."""

    def make(**overrides):
        kwargs = {
            "agency": police,
            "flow": UploadGrant.Flow.TIP,
            "source_ref": "tip-1",
            "max_files": 5,
            "max_file_bytes": 100 * MiB,
            "media_types": ["video/", "image/"],
            "expires_at": timezone.now() + timedelta(days=7),
            "actor_label": "tip form",
            **overrides,
        }
        grant, secret = grants.grant_create_with_secret(**kwargs)
        return grant, grants.grant_header_value(grant, secret)

    return make


@pytest.fixture
def staff_grant(make_staff):
    """staff_grant(user=None, **asked) -> (signed-in client, header value) via the grant API."""

    def make(user=None, **asked):
        client = sign_in(Client(), user or make_staff())
        response = client.post(reverse("uploads:grants"), asked, content_type="application/json")
        assert response.status_code == 201, response.content
        return client, response.json()["value"]

    return make


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


# --- the protocol, with Django's test client ----------------------------------------------

pytestmark = pytest.mark.django_db


def test_options_describes_the_server_without_tus_resumable(client):
    response = client.options(CREATE_URL)
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == (
        "creation,creation-with-upload,termination,checksum,expiration"
    )
    assert response["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert int(response["Tus-Max-Size"]) > 0


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
def test_wrong_or_missing_tus_resumable_gets_412_with_tus_version(client, secret_grant, version):
    _, value = secret_grant()
    headers = {"Canvass-Upload-Grant": value, "Upload-Length": "10"}
    if version:
        headers["Tus-Resumable"] = version
    response = client.generic("POST", CREATE_URL, headers=headers)
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"
    assert not Upload.objects.exists()


def test_creation_answers_201_with_location_and_expiry(client, secret_grant, staging):
    grant, value = secret_grant()
    response = create(
        client, value, 1000, f"filename {b64('clip 1.mp4')},filetype {b64('video/mp4')}"
    )
    assert response.status_code == 201
    upload = Upload.objects.get()
    assert response["Location"] == f"http://testserver/api/uploads/{upload.id}"
    assert response["Tus-Resumable"] == "1.0.0" and response["Upload-Expires"].endswith("GMT")
    assert upload.metadata == {"filename": "clip 1.mp4", "filetype": "video/mp4"}
    assert upload.grant == grant and upload.length == 1000 and upload.offset == 0
    assert staged_files.staged_path(upload) == staging / str(upload.id)
    assert staged_files.staged_path(upload).stat().st_size == 0


def test_head_reports_offset_length_metadata_and_is_not_cached(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10, f"filename {b64('a.jpg')},is_confidential"))
    patch(client, url, value, b"12345", 0)
    response = client.head(url, headers=tus_headers(value))
    assert response.status_code == 200
    assert response["Upload-Offset"] == "5" and response["Upload-Length"] == "10"
    assert response["Cache-Control"] == "no-store"
    assert response["Upload-Expires"].endswith("GMT")
    assert tus.parse_metadata(response["Upload-Metadata"]) == {
        "filename": "a.jpg",
        "is_confidential": "",
    }


@pytest.mark.parametrize(
    "metadata",
    [
        "filename not-base64!",
        f"filename {b64('a')} extra",
        f"filename {b64('a')},filename {b64('b')}",
        f"filename\t{b64('a')}",
        f"filename {b64('a')},",
        "filename " + base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_upload_metadata_gets_400_and_creates_nothing(client, secret_grant, metadata):
    grant, value = secret_grant()
    response = create(client, value, 10, metadata)
    assert response.status_code == 400
    assert b"Upload-Metadata" in response.content
    assert not Upload.objects.exists()
    grant.refresh_from_db()
    assert grant.files_started == 0


@pytest.mark.parametrize("length", ["-1", "ten", "", "1e3"])
def test_bad_upload_length_gets_400(client, secret_grant, length):
    _, value = secret_grant()
    assert create(client, value, length).status_code == 400


def test_deferred_length_is_refused(client, secret_grant):
    _, value = secret_grant()
    response = client.generic(
        "POST", CREATE_URL, headers=tus_headers(value, Upload_Defer_Length="1")
    )
    assert response.status_code == 400


def test_length_over_the_grant_limit_gets_413_and_stores_nothing(
    client, secret_grant, staging, settings
):
    _, value = secret_grant(max_file_bytes=1000)
    response = create(client, value, 1001)
    assert response.status_code == 413
    assert b"limit is 1000 bytes for this upload grant" in response.content
    settings.UPLOAD_MAX_BYTES_BY_FLOW = {**settings.UPLOAD_MAX_BYTES_BY_FLOW, "tip": 500}
    response = create(client, value, 501)
    assert response.status_code == 413
    assert b"limit is 500 bytes for tip uploads" in response.content
    assert not Upload.objects.exists()
    assert not staging.exists() or not any(staging.iterdir())


def test_declared_filetype_outside_the_grant_gets_415(client, secret_grant):
    _, value = secret_grant(media_types=["video/"])
    response = create(client, value, 10, f"filetype {b64('text/html')}")
    assert response.status_code == 415
    assert b"video/" in response.content
    assert not Upload.objects.exists()
    # "I do not know the type" is not a claim against the grant; the pipeline checks content.
    assert (
        create(client, value, 10, f"filetype {b64('application/octet-stream')}").status_code == 201
    )
    assert create(client, value, 10, f"filetype {b64('video/mp4')}").status_code == 201


def test_max_files_exhausted_gets_403_with_a_clear_message(client, secret_grant):
    grant, value = secret_grant(max_files=2)
    assert create(client, value, 10).status_code == 201
    assert create(client, value, 10).status_code == 201
    response = create(client, value, 10)
    assert response.status_code == 403
    assert b"allows 2 file(s)" in response.content
    grant.refresh_from_db()
    assert grant.files_started == 2 and Upload.objects.count() == 2


def test_patches_complete_the_upload_into_a_received_item(
    client, secret_grant, django_capture_on_commit_callbacks, queued
):
    grant, value = secret_grant(source_ref="tip-42")
    data = os.urandom(3000)
    url = upload_url(create(client, value, len(data), f"filename {b64('door.jpg')}"))
    first = patch(client, url, value, data[:1000], 0)
    assert first.status_code == 204 and first["Upload-Offset"] == "1000"
    assert first["Upload-Expires"].endswith("GMT")
    with django_capture_on_commit_callbacks(execute=True):
        last = patch(
            client, url, value, data[1000:], 1000, Upload_Checksum=checksum("sha256", data[1000:])
        )
    assert last.status_code == 204 and last["Upload-Offset"] == "3000"
    assert "Upload-Expires" not in last  # a complete upload no longer expires
    upload = upload_of(url)
    assert upload.state == Upload.State.COMPLETE and upload.completed_at is not None
    item = EvidenceItem.objects.get(upload=upload)
    assert item.state == EvidenceItem.State.RECEIVED and item.size == 3000
    assert item.agency == grant.agency and item.source_ref == "tip-42"
    assert item.original_filename == "door.jpg"
    assert item.declared_checksum == checksum("sha256", data[1000:])
    assert queued == [item.pk]
    assert staged_files.staged_path(upload).read_bytes() == data  # kept for the pipeline


def test_patch_on_a_complete_upload_changes_nothing(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 3))
    patch(client, url, value, b"abc", 0)
    assert patch(client, url, value, b"", 3).status_code == 204
    assert patch(client, url, value, b"d", 3).status_code == 413
    assert patch(client, url, value, b"d", 0).status_code == 409
    assert EvidenceItem.objects.count() == 1


def test_wrong_offset_gets_409_without_change(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0)
    response = patch(client, url, value, b"67890", 3)
    assert response.status_code == 409
    assert b"at 5" in response.content
    upload = upload_of(url)
    assert upload.offset == 5 and staged_files.staged_path(upload).read_bytes() == b"12345"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_bad_checksum_gets_460_and_the_chunk_is_discarded(client, secret_grant, algorithm):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0, Upload_Checksum=checksum(algorithm, b"12345"))
    response = patch(client, url, value, b"67890", 5, Upload_Checksum=checksum(algorithm, b"x"))
    assert response.status_code == 460
    assert response.reason_phrase == "Checksum Mismatch"
    upload = upload_of(url)
    assert upload.offset == 5
    assert staged_files.staged_path(upload).stat().st_size == 5
    good = patch(client, url, value, b"67890", 5, Upload_Checksum=checksum(algorithm, b"67890"))
    assert good.status_code == 204 and good["Upload-Offset"] == "10"


@pytest.mark.parametrize(
    "header", ["md5 " + base64.b64encode(b"0" * 16).decode(), "sha1 not*base64", "sha256 AAAA"]
)
def test_unsupported_or_malformed_checksum_gets_400_and_stores_nothing(
    client, secret_grant, header
):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    response = patch(client, url, value, b"12345", 0, Upload_Checksum=header)
    assert response.status_code == 400
    upload = upload_of(url)
    assert upload.offset == 0 and staged_files.staged_path(upload).stat().st_size == 0


def test_bytes_lost_in_a_crash_are_asked_for_again(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"01234", 0)
    path = staged_files.staged_path(upload_of(url))
    # A power cut after the offset was recorded but before the page cache reached the disk.
    with open(path, "r+b") as staged:
        staged.truncate(3)
    assert client.head(url, headers=tus_headers(value))["Upload-Offset"] == "3"
    stale = patch(client, url, value, b"56789", 5)
    assert stale.status_code == 409 and b"at 3" in stale.content
    assert patch(client, url, value, b"3456789", 3).status_code == 204
    assert path.read_bytes() == b"0123456789"
    assert upload_of(url).state == Upload.State.COMPLETE


def test_a_lost_staged_file_means_starting_from_zero(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 4))
    patch(client, url, value, b"ab", 0)
    staged_files.staged_path(upload_of(url)).unlink()
    assert client.head(url, headers=tus_headers(value))["Upload-Offset"] == "0"
    assert patch(client, url, value, b"abcd", 0).status_code == 204
    assert staged_files.staged_path(upload_of(url)).read_bytes() == b"abcd"


def test_patch_past_the_length_gets_413_and_stores_nothing(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0)
    response = patch(client, url, value, b"123456", 5)
    assert response.status_code == 413
    upload = upload_of(url)
    assert upload.offset == 5 and staged_files.staged_path(upload).stat().st_size == 5


def test_patch_needs_the_offset_octet_stream_type(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    response = patch(client, url, value, b"12345", 0, content_type="application/octet-stream")
    assert response.status_code == 415
    assert upload_of(url).offset == 0


def test_patch_needs_a_valid_upload_offset(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    response = client.generic(
        "PATCH", url, b"12345", content_type=OCTETS, headers=tus_headers(value)
    )
    assert response.status_code == 400


def test_another_grants_upload_is_404_for_head_patch_and_delete(client, secret_grant, staff_grant):
    _, mine = secret_grant()
    _, theirs = secret_grant()
    url = upload_url(create(client, mine, 10))
    staff_client, staff_value = staff_grant()
    for who, value in ((client, theirs), (staff_client, staff_value), (client, None)):
        assert who.head(url, headers=tus_headers(value)).status_code == 404
        assert patch(who, url, value, b"12345", 0).status_code == 404
        assert who.delete(url, headers=tus_headers(value)).status_code == 404
    assert upload_of(url).offset == 0 and upload_of(url).state == Upload.State.OPEN


def test_unknown_upload_is_404(client, secret_grant):
    _, value = secret_grant()
    response = client.head(f"{CREATE_URL}{uuid.uuid4()}", headers=tus_headers(value))
    assert response.status_code == 404 and "Upload-Offset" not in response


def test_staff_grant_works_for_its_owner_session_only(
    make_staff, other_police, resident, staff_grant
):
    owner = make_staff()
    owner_client, value = staff_grant(owner)
    url = upload_url(create(owner_client, value, 10, f"filetype {b64('image/png')}"))
    assert patch(owner_client, url, value, b"0123456789", 0).status_code == 204
    item = EvidenceItem.objects.get()
    assert item.uploaded_by == owner and item.source == "staff_upload"

    colleague = sign_in(Client(), make_staff())
    stranger = sign_in(Client(), make_staff(agency=other_police))
    public = sign_in(Client(), resident)
    for who in (colleague, stranger, public, Client()):
        response = create(who, value, 10)
        assert response.status_code == 403
        assert b"Canvass-Upload-Grant" in response.content
        assert who.head(url, headers=tus_headers(value)).status_code == 404


def test_staff_grant_needs_the_second_factor(make_staff, staff_grant):
    owner = make_staff()
    _, value = staff_grant(owner)
    half = Client()
    half.post(reverse("portal:login"), {"email": owner.email, "password": PASSWORD})
    assert create(half, value, 10).status_code == 403


def test_staff_grant_stops_working_when_the_role_loses_upload_rights(make_staff, staff_grant):
    owner = make_staff()
    owner_client, value = staff_grant(owner)
    owner.role = Role.DISPATCHER
    owner.save(update_fields=["role"])
    assert create(owner_client, value, 10).status_code == 403


def test_secret_grant_works_and_a_wrong_secret_is_refused(client, secret_grant, staff_grant):
    grant, value = secret_grant()
    url = upload_url(create(client, value, 4))
    assert patch(client, url, value, b"tips", 0).status_code == 204
    item = EvidenceItem.objects.get()
    assert item.uploaded_by is None and item.source == "tip"

    wrong = f"{grant.id}.{'x' * 43}"
    _, staff_value = staff_grant()
    for bad in (wrong, str(grant.id), f"{grant.id}.", f"{staff_value}.{'x' * 43}", "junk"):
        assert create(client, bad, 4).status_code == 403
        assert client.head(url, headers=tus_headers(bad)).status_code == 404
    assert UploadGrant.objects.get(pk=grant.pk).secret_hash != value.split(".", 1)[1]


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_expired_or_revoked_grant_gets_403_on_creation_and_404_on_uploads(
    client, secret_grant, how
):
    grant, value = secret_grant()
    url = upload_url(create(client, value, 10))
    if how == "expired":
        UploadGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    else:
        UploadGrant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
    assert create(client, value, 10).status_code == 403
    assert client.head(url, headers=tus_headers(value)).status_code == 404
    assert patch(client, url, value, b"1", 0).status_code == 404


def test_upload_never_outlives_its_grant(client, secret_grant):
    grant, value = secret_grant(expires_at=timezone.now() + timedelta(hours=1))
    upload = upload_of(upload_url(create(client, value, 10)))
    assert upload.expires_at == grant.expires_at


def test_termination_answers_204_then_404_and_removes_the_bytes(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0)
    path = staged_files.staged_path(upload_of(url))
    response = client.delete(url, headers=tus_headers(value))
    assert response.status_code == 204 and response["Tus-Resumable"] == "1.0.0"
    assert not path.exists()
    assert upload_of(url).state == Upload.State.TERMINATED
    assert client.head(url, headers=tus_headers(value)).status_code == 404
    assert patch(client, url, value, b"67890", 5).status_code == 404
    assert client.delete(url, headers=tus_headers(value)).status_code == 404
    event = AuditEvent.objects.get(action="upload.terminated")
    assert event.target_id == str(upload_of(url).id) and event.actor_label == "Tip upload grant"


def test_a_complete_upload_cannot_be_terminated(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 2))
    patch(client, url, value, b"ok", 0)
    response = client.delete(url, headers=tus_headers(value))
    assert response.status_code == 403 and b"evidence" in response.content
    assert staged_files.staged_path(upload_of(url)).exists()


def test_expired_upload_is_gone_and_its_bytes_removed(client, secret_grant, settings):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0)
    upload = upload_of(url)
    path = staged_files.staged_path(upload)
    finished = upload_url(create(client, value, 1))
    patch(client, finished, value, b"x", 0)
    with time_machine.travel(upload.expires_at + timedelta(seconds=1), tick=False):
        # Expired already before the sweep removes anything.
        assert client.head(url, headers=tus_headers(value)).status_code == 410
        assert uploads.uploads_expire() == 1
        assert not path.exists()
        assert upload_of(url).state == Upload.State.EXPIRED
        assert client.head(url, headers=tus_headers(value)).status_code == 410
        assert patch(client, url, value, b"67890", 5).status_code == 410
        # Complete uploads are evidence: they never expire.
        assert upload_of(finished).state == Upload.State.COMPLETE
        assert staged_files.staged_path(upload_of(finished)).exists()
        assert uploads.uploads_expire() == 0
    event = AuditEvent.objects.get(action="upload.expired")
    assert event.details["uploads"] == [str(upload.id)] and event.details["bytes_removed"] == 5


def test_expiry_removes_bytes_left_by_a_crash_after_the_commit(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    upload = upload_of(url)
    Upload.objects.filter(pk=upload.pk).update(state=Upload.State.TERMINATED)
    assert staged_files.staged_path(upload).exists()
    uploads.uploads_expire()
    assert not staged_files.staged_path(upload).exists()


def test_creation_with_upload_stores_the_first_chunk(client, secret_grant):
    _, value = secret_grant()
    response = client.post(
        CREATE_URL,
        b"hello",
        content_type=OCTETS,
        headers=tus_headers(value, Upload_Length="11", Upload_Checksum=checksum("sha1", b"hello")),
    )
    assert response.status_code == 201 and response["Upload-Offset"] == "5"
    url = upload_url(response)
    assert patch(client, url, value, b" world", 5).status_code == 204
    assert staged_files.staged_path(upload_of(url)).read_bytes() == b"hello world"


def test_creation_with_a_bad_chunk_still_creates_the_upload_at_offset_0(client, secret_grant):
    _, value = secret_grant()
    response = client.post(
        CREATE_URL,
        b"hello",
        content_type=OCTETS,
        headers=tus_headers(value, Upload_Length="11", Upload_Checksum=checksum("sha1", b"nope")),
    )
    assert response.status_code == 201 and response["Upload-Offset"] == "0"
    assert staged_files.staged_path(upload_of(upload_url(response))).stat().st_size == 0


def test_creation_with_a_body_longer_than_the_upload_is_413(client, secret_grant):
    _, value = secret_grant()
    response = client.post(
        CREATE_URL, b"hello", content_type=OCTETS, headers=tus_headers(value, Upload_Length="3")
    )
    assert response.status_code == 413 and not Upload.objects.exists()


def test_empty_upload_is_complete_at_creation(client, secret_grant):
    _, value = secret_grant()
    upload = upload_of(upload_url(create(client, value, 0)))
    assert upload.state == Upload.State.COMPLETE
    assert EvidenceItem.objects.get(upload=upload).size == 0


def test_method_override_lets_post_stand_in_for_patch_and_delete(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    response = client.post(
        url,
        b"12345",
        content_type=OCTETS,
        headers=tus_headers(value, Upload_Offset="0", X_HTTP_Method_Override="PATCH"),
    )
    assert response.status_code == 204 and response["Upload-Offset"] == "5"
    response = client.generic(
        "POST", url, headers=tus_headers(value, X_HTTP_Method_Override="DELETE")
    )
    assert response.status_code == 204
    assert upload_of(url).state == Upload.State.TERMINATED


def test_get_on_an_upload_is_not_allowed(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    response = client.get(url, headers=tus_headers(value))
    assert response.status_code == 405 and "PATCH" in response["Allow"]


def test_chunked_body_is_read_from_a_server_that_decodes_it(secret_grant):
    grant, value = secret_grant()
    upload = uploads.upload_create(grant=grant, length=10, metadata={})

    def chunked_patch(**meta):
        request = RequestFactory().generic(
            "PATCH",
            f"{CREATE_URL}{upload.id}",
            content_type=OCTETS,
            headers=tus_headers(value, Upload_Offset="0", Transfer_Encoding="chunked"),
            CONTENT_TYPE=OCTETS,
        )
        request.META.pop("CONTENT_LENGTH", None)
        request.META.update(meta)
        request.user = AnonymousUser()
        return tus.upload_resource(request, upload_id=upload.id)

    assert chunked_patch().status_code == 411  # a server that leaves it encoded
    response = chunked_patch(**{"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"abc")})
    assert response.status_code == 204 and response["Upload-Offset"] == "3"


# --- the grant API ------------------------------------------------------------------------


def test_investigator_gets_a_grant_from_the_api(make_staff, signed_in):
    user = make_staff()
    response = signed_in(user).post(
        reverse("uploads:grants"),
        {"max_files": 3, "media_types": ["video/"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    grant = UploadGrant.objects.get(pk=body["id"])
    assert body["header"] == "Canvass-Upload-Grant" and body["value"] == str(grant.id)
    assert body["max_files"] == 3 and body["media_types"] == ["video/"]
    assert body["max_file_bytes"] > 0 and body["expires_at"]
    assert grant.user == user and grant.agency == user.agency and not grant.secret_hash
    event = AuditEvent.objects.get(action="upload.granted")
    assert event.actor == user and event.target_id == str(grant.id)


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.AUDITOR, Role.AGENCY_ADMIN])
def test_staff_without_upload_rights_get_no_grant(make_staff, signed_in, role):
    response = signed_in(make_staff(role=role)).post(reverse("uploads:grants"))
    assert response.status_code == 403 and "detail" in response.json()
    assert not UploadGrant.objects.exists()


def test_residents_and_strangers_get_no_grant(resident, signed_in, client):
    assert signed_in(resident).post(reverse("uploads:grants")).status_code == 403
    assert client.post(reverse("uploads:grants")).status_code == 403


def test_grant_api_refuses_limits_over_the_server_maximum(make_staff, signed_in, settings):
    response = signed_in(make_staff()).post(
        reverse("uploads:grants"),
        {"max_file_bytes": settings.UPLOAD_MAX_BYTES_BY_FLOW["staff_upload"] + 1},
        content_type="application/json",
    )
    assert response.status_code == 400 and "limit" in response.json()["detail"]


def test_grant_api_is_in_the_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "post" in paths["/api/uploads/grants/"]


# --- memory -------------------------------------------------------------------------------


class RepeatingStream:
    """`total` bytes as fresh copies of one preallocated block, like a socket would give."""

    def __init__(self, block: bytes, total: int):
        self.block, self.left = block, total

    def read(self, size: int = -1) -> bytes:
        size = min(self.left, len(self.block) if size < 0 else size, len(self.block))
        self.left -= size
        return bytes(memoryview(self.block)[:size])


def test_appending_64_mib_keeps_traced_memory_under_8_mib(secret_grant):
    grant, _ = secret_grant()
    total, block = 64 * MiB, os.urandom(MiB)
    upload = uploads.upload_create(grant=grant, length=total, metadata={})
    digest = hashlib.sha256()
    for _ in range(total // MiB):
        digest.update(block)
    claimed = staged_files.Checksum("sha256", digest.digest())

    tracemalloc.start()
    try:
        done = uploads.upload_append(
            grant=grant,
            upload_id=upload.id,
            offset=0,
            body=RepeatingStream(block, total),
            body_length=total,
            checksum=claimed,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert done.offset == total and done.state == Upload.State.COMPLETE
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"


# --- real clients over real HTTP ----------------------------------------------------------


class Sha256Uploader(Uploader):
    """tuspy hard-codes sha1 as a class attribute; this is its documented seam for others."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@pytest.fixture(scope="session")
def file_50mb(tmp_path_factory):
    path = tmp_path_factory.mktemp("tus") / "random-50mb.bin"
    with open(path, "wb") as file:
        for _ in range(50):
            file.write(os.urandom(MiB))
    return path, sha256_file(path)


def staff_grant_value(user) -> str:
    return sign_in(Client(), user).post(reverse("uploads:grants")).json()["value"]


def staff_tus_client(live_server, user, grant_value: str) -> TusClient:
    """A tuspy client on a session of its own for `user`, carrying the grant header."""
    cookie = f"sessionid={sign_in(Client(), user).cookies['sessionid'].value}"
    return TusClient(
        live_server.url + CREATE_URL,
        headers={"Cookie": cookie, "Canvass-Upload-Grant": grant_value},
    )


@pytest.mark.parametrize("uploader_class", [Uploader, Sha256Uploader], ids=["sha1", "sha256"])
def test_tuspy_uploads_50_mb_in_4_mb_chunks_with_checksums(
    transactional_db, live_server, make_staff, file_50mb, uploader_class, queued
):
    path, source_sha256 = file_50mb
    user = make_staff()
    uploader = uploader_class(
        file_path=str(path),
        client=staff_tus_client(live_server, user, staff_grant_value(user)),
        chunk_size=4 * MiB,
        upload_checksum=True,
        metadata={"filename": "camera 3.mp4", "filetype": "video/mp4"},
    )
    uploader.upload()
    upload = upload_of(uploader.url)
    item = EvidenceItem.objects.get(upload=upload)
    assert item.state == EvidenceItem.State.RECEIVED and item.size == 50 * MiB
    assert item.uploaded_by == user and item.original_filename == "camera 3.mp4"
    assert item.declared_checksum.startswith(uploader.checksum_algorithm_name + " ")
    assert sha256_file(staged_files.staged_path(upload)) == source_sha256
    assert queued == [item.pk]


def test_interrupted_upload_is_resumed_by_a_new_client(
    transactional_db, live_server, make_staff, file_50mb
):
    path, source_sha256 = file_50mb
    user = make_staff()
    grant_value = staff_grant_value(user)
    first = Uploader(
        file_path=str(path),
        client=staff_tus_client(live_server, user, grant_value),
        chunk_size=4 * MiB,
    )
    first.upload_chunk()
    first.upload_chunk()
    url = first.url
    del first  # the first client is gone; the URL and grant survive, as a browser keeps them

    resumed = Uploader(
        file_path=str(path),
        url=url,
        client=staff_tus_client(live_server, user, grant_value),
        chunk_size=4 * MiB,
        upload_checksum=True,
    )
    assert resumed.offset == 8 * MiB  # read from HEAD
    resumed.upload()
    upload = upload_of(url)
    assert upload.state == Upload.State.COMPLETE
    assert sha256_file(staged_files.staged_path(upload)) == source_sha256


def test_tuspy_sees_a_refusal_when_the_grant_is_used_up(
    transactional_db, live_server, secret_grant, tmp_path
):
    _, value = secret_grant(max_files=1)
    path = tmp_path / "small.bin"
    path.write_bytes(b"x" * 100)
    client = TusClient(live_server.url + CREATE_URL, headers={"Canvass-Upload-Grant": value})
    client.uploader(file_path=str(path)).upload()
    with pytest.raises(TusCommunicationError) as refused:
        client.uploader(file_path=str(path)).upload()
    assert refused.value.status_code == 403


def _lock_held(upload_id) -> bool:
    key = staged_files._lock_key(upload_id) & 0xFFFFFFFFFFFFFFFF
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0] == 1


def test_two_patches_at_once_one_writes_the_other_gets_409(
    transactional_db, live_server, secret_grant
):
    _, value = secret_grant()
    created = requests.post(
        live_server.url + CREATE_URL,
        headers=tus_headers(value, Upload_Length=str(8 * MiB)),
        timeout=30,
    )
    url = created.headers["Location"]
    upload = upload_of(url)
    ours, theirs = os.urandom(4 * MiB), os.urandom(4 * MiB)

    # The first PATCH sends its headers and 1 MiB, then holds the rest back.
    slow = http.client.HTTPConnection(urlparse(url).hostname, urlparse(url).port, timeout=30)
    slow.putrequest("PATCH", urlparse(url).path)
    for name, header in tus_headers(
        value, Upload_Offset="0", Content_Type=OCTETS, Content_Length=str(len(ours))
    ).items():
        slow.putheader(name, header)
    slow.endheaders()
    slow.send(ours[:MiB])
    deadline = time.monotonic() + 10
    while not _lock_held(upload.id):
        assert time.monotonic() < deadline, "the first PATCH never took the upload's lock"
        time.sleep(0.02)

    second = requests.patch(
        url,
        data=theirs,
        headers=tus_headers(value, Upload_Offset="0", Content_Type=OCTETS),
        timeout=30,
    )
    assert second.status_code == 409 and "Another request" in second.text

    slow.send(ours[MiB:])
    first = slow.getresponse()
    assert first.status == 204 and first.getheader("Upload-Offset") == str(len(ours))
    slow.close()
    upload.refresh_from_db()
    assert upload.offset == len(ours)
    assert staged_files.staged_path(upload).read_bytes() == ours


def test_a_staff_member_resumes_their_upload_with_a_new_grant_after_a_reload(
    make_staff, staff_grant
):
    owner = make_staff()
    client, first = staff_grant(owner)
    url = upload_url(create(client, first, 10))
    assert patch(client, url, first, b"01234", 0).status_code == 204
    _, second = staff_grant(owner)  # the page was reloaded: a fresh grant, same person
    assert client.head(url, headers=tus_headers(second))["Upload-Offset"] == "5"
    assert patch(client, url, second, b"56789", 5).status_code == 204
    assert EvidenceItem.objects.get().size == 10

    colleague_client, colleague_value = staff_grant(make_staff())
    assert colleague_client.head(url, headers=tus_headers(colleague_value)).status_code == 404


def test_a_revoked_first_grant_does_not_lend_its_uploads(make_staff, staff_grant):
    owner = make_staff()
    client, first = staff_grant(owner)
    url = upload_url(create(client, first, 10))
    UploadGrant.objects.filter(pk=first).update(revoked_at=timezone.now())
    _, second = staff_grant(owner)
    assert client.head(url, headers=tus_headers(second)).status_code == 404
