"""Real clients over real HTTP: tuspy, resumption after a cut, and two writers at once."""

import http.client
import os
import time
from urllib.parse import urlparse

import pytest
import requests
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader

from evidence.intake import staging as staged_files
from evidence.models import EvidenceItem, Upload
from tests.evidence.intake.tus.helpers import (
    CREATE_URL,
    OCTETS,
    MiB,
    Sha256Uploader,
    _lock_held,
    sha256_file,
    staff_grant_value,
    staff_tus_client,
    tus_headers,
    upload_of,
)

pytestmark = pytest.mark.django_db

# --- real clients over real HTTP ----------------------------------------------------------


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
