"""tus 1.0.0 with Django's test client: creation, HEAD, PATCH, checksums, offsets, refusals."""

import base64
import io
import os
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from evidence.intake import staging as staged_files
from evidence.intake import tus, uploads
from evidence.models import EvidenceItem, Upload
from tests.evidence.intake.tus.helpers import (
    CREATE_URL,
    OCTETS,
    MiB,
    b64,
    checksum,
    create,
    patch,
    tus_headers,
    upload_of,
    upload_url,
)

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


def test_a_write_failing_on_the_writer_thread_keeps_nothing_of_the_chunk(
    client, secret_grant, monkeypatch
):
    """The pieces are written (os.pwrite) on a helper thread: when one write fails (a full
    disk), the request fails, the offset stays and the file is cut back to it, even with
    later pieces already written."""
    _, value = secret_grant()
    data = os.urandom(5 * MiB + 3)
    url = upload_url(create(client, value, len(data) + 10))
    assert patch(client, url, value, b"0123456789", 0).status_code == 204
    real, calls = os.pwrite, []

    def fails_third(fd, piece, position):
        calls.append(position)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(fd, piece, position)

    monkeypatch.setattr(staged_files.os, "pwrite", fails_third)
    client.raise_request_exception = False
    assert patch(client, url, value, data, 10).status_code == 500
    upload = upload_of(url)
    assert upload.offset == 10
    assert staged_files.staged_path(upload).read_bytes() == b"0123456789"
    monkeypatch.setattr(staged_files.os, "pwrite", real)
    assert patch(client, url, value, data, 10).status_code == 204
    assert staged_files.staged_path(upload_of(url)).read_bytes() == b"0123456789" + data
