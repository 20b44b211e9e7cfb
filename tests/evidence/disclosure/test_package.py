"""The case package: what is inside, that sha256sum -c checks it, and that custody records it."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
import zlib
from contextlib import closing
from pathlib import Path

import pytest
import zipstream.ng
from botocore.response import StreamingBody
from django.test import override_settings
from zlib_ng import zlib_ng

from evidence.disclosure.packages import (
    CHUNK_BYTES,
    PackageIntegrityError,
    package_record_download,
    package_stream,
)
from evidence.models import Derivative
from evidence.selectors import custody_of
from portal import storage
from portal.audit import verify_chain
from portal.roles import Role
from tests.evidence.disclosure.packaging import (
    add_items,
    exhibit,
    extract,
    make_case,
    make_share,
    package_bytes,
)
from tests.s3server import s3_storages

pytestmark = pytest.mark.django_db

MALICIOUS = '<script>alert("x")</script>../../etc/passwd.mp4'


@pytest.fixture
def case_with_items(make_staff, prosecution):
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, title='<img src=x onerror="alert(1)"> case')
    items = add_items(case, [os.urandom(3000), os.urandom(5000), b"tiny"])
    items[0].original_filename = MALICIOUS
    items[0].save(update_fields=["original_filename"])
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    share = make_share(case=case, items=items[:2], recipient_agency=prosecution, by=lead)
    return lead, case, items, prosecutor, share


def test_sha256sum_checks_every_extracted_file(case_with_items, tmp_path):
    lead, case, items, _, _ = case_with_items
    folder = extract(package_bytes(actor=lead, case=case, items=items), tmp_path / "pkg")
    result = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checked = [line for line in result.stdout.splitlines() if line.endswith(": OK")]
    # Three originals, manifest.json, custody.html, case.jsonld, a custody proof per item,
    # verify_custody.py and the checkpoint key.
    assert len(checked) == 11
    assert {f"custody-proof/{item.pk}.json: OK" for item in items} <= set(checked)
    assert {"verify_custody.py: OK", "custody-checkpoint-key.pem: OK"} <= set(checked)
    for item in items:
        original = next((folder / "originals").glob(f"{exhibit(case, item)}.*"))
        assert hashlib.sha256(original.read_bytes()).hexdigest() == item.sha256


def test_one_changed_byte_in_an_extracted_file_fails_the_check(case_with_items, tmp_path):
    lead, case, items, _, _ = case_with_items
    folder = extract(package_bytes(actor=lead, case=case, items=items), tmp_path / "pkg")
    victim = next((folder / "originals").glob(f"{exhibit(case, items[1])}.*"))
    data = bytearray(victim.read_bytes())
    data[1234] ^= 0x01
    victim.write_bytes(bytes(data))
    result = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f"originals/{victim.name}: FAILED" in result.stdout


def test_zip_names_are_chosen_by_the_server_and_the_manifest_keeps_the_user_filename(
    case_with_items,
):
    lead, case, items, _, _ = case_with_items
    data = package_bytes(actor=lead, case=case, items=items)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        infos = {info.filename: info for info in archive.infolist()}
    assert names[:4] == ["manifest.json", "SHA256SUMS", "custody.html", "case.jsonld"]
    assert sorted(names[4:]) == sorted(
        [f"custody-proof/{item.pk}.json" for item in items]
        + ["verify_custody.py", "custody-checkpoint-key.pem"]
        + [f"originals/exhibit-00{n}.mp4" for n in (1, 2, 3)]
    )
    assert all(infos[n].compress_type == zipfile.ZIP_STORED for n in names)
    assert not any(".." in n or "script" in n for n in names)
    by_item = {f["item_id"]: f for f in manifest["files"]}
    assert by_item[str(items[0].pk)]["original_filename"] == MALICIOUS
    assert [by_item[str(item.pk)]["exhibit_number"] for item in items] == [1, 2, 3]


def test_each_items_custody_proof_verifies_offline_with_the_packaged_script(
    case_with_items, tmp_path
):
    lead, case, items, _, _ = case_with_items
    package_record_download(actor=lead, case=case, items=items, via="test")
    folder = extract(package_bytes(actor=lead, case=case, items=items), tmp_path / "pkg")
    for item in items:
        proof = json.loads((folder / f"custody-proof/{item.pk}.json").read_text())
        # The proof holds the same rows as the manifest's custody, every hashed field included.
        entry = next(f for f in json.loads((folder / "manifest.json").read_text())["files"]
                     if f["item_id"] == str(item.pk))  # fmt: skip
        assert [r["hash"] for r in proof["rows"]] == [e["audit_hash"] for e in entry["custody"]]
        result = subprocess.run(  # noqa: S603 - the packaged script, isolated (-I)
            [sys.executable, "-I", "verify_custody.py", f"custody-proof/{item.pk}.json"]
            + ["--public-key", "custody-checkpoint-key.pem"],
            cwd=folder,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_has_path_size_hash_source_capture_and_custody(case_with_items):
    lead, case, items, _, _ = case_with_items
    package_record_download(actor=lead, case=case, items=items, via="test")
    manifest = package_stream(actor=lead, case=case, items=items).manifest
    assert manifest["case"]["number"] == case.number
    entry = next(f for f in manifest["files"] if f["item_id"] == str(items[1].pk))
    item = items[1]
    assert entry["path"] == f"originals/{exhibit(case, item)}.mp4"
    assert entry["exhibit_number"] == 2 and entry["item_id"] == str(item.pk)
    assert entry["size"] == item.size == 5000
    assert entry["sha256"] == item.sha256
    assert entry["source"] == "staff_upload"
    assert entry["capture_time"]["source"] == "device_metadata"
    assert entry["capture_time"]["value"].endswith("Z")
    assert entry["capture_place"] == {
        "latitude": pytest.approx(40.75),
        "longitude": pytest.approx(-73.95),
        "source": "file_metadata",
    }
    actions = [event["action"] for event in entry["custody"]]
    assert actions == [e.action for e in custody_of(item=item)]
    assert "evidence.downloaded" in actions
    assert all(len(event["audit_hash"]) == 64 for event in entry["custody"])


def test_custody_report_escapes_a_malicious_filename_and_title(case_with_items, tmp_path):
    lead, case, items, _, _ = case_with_items
    folder = extract(package_bytes(actor=lead, case=case, items=items), tmp_path / "pkg")
    html = (folder / "custody.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x" in html
    # Self-contained: nothing fetched from anywhere.
    assert "src=" not in html.replace("&lt;img src=x", "")
    assert "<link" not in html and "http" not in html


def test_download_is_a_custody_event_for_each_item_and_keeps_the_chain(case_with_items):
    _, case, items, prosecutor, _ = case_with_items
    package_record_download(actor=prosecutor, case=case, items=items[:2], via="share")
    for item in items[:2]:
        event = list(custody_of(item=item))[-1]
        assert event.action == "evidence.downloaded"
        assert event.actor == prosecutor
        assert event.details["in"] == "case package"
        assert event.case_ref == case.number
    assert all(e.action != "evidence.downloaded" for e in custody_of(item=items[2]))
    assert verify_chain().ok


def test_proxies_are_optional_and_checked_like_originals(case_with_items, tmp_path):
    lead, case, items, _, _ = case_with_items
    proxy_bytes = os.urandom(777)
    key = storage.new_object_key("evidence/test/derivatives")
    from django.core.files.base import ContentFile

    storage.save_once(key, ContentFile(proxy_bytes))
    Derivative.objects.create(
        item=items[1],
        kind=Derivative.Kind.PROXY_MP4,
        name="proxy.mp4",
        key=key,
        size=len(proxy_bytes),
        sha256=hashlib.sha256(proxy_bytes).hexdigest(),
        media_type="video/mp4",
        command=["ffmpeg", "-i", "in", "out.mp4"],
    )
    without = package_bytes(actor=lead, case=case, items=items)
    assert not any(
        n.startswith("proxies/") for n in zipfile.ZipFile(io.BytesIO(without)).namelist()
    )
    folder = extract(
        package_bytes(actor=lead, case=case, items=items, include_proxies=True), tmp_path / "p"
    )
    proxy = folder / "proxies" / f"{exhibit(case, items[1])}.proxy_mp4.mp4"
    assert proxy.read_bytes() == proxy_bytes
    result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True)
    assert result.returncode == 0


def test_an_original_that_no_longer_matches_its_hash_aborts_the_stream(case_with_items):
    lead, case, items, _, _ = case_with_items
    path = Path(storage.local_path(items[1].original_key))
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(data)
    package = package_stream(actor=lead, case=case, items=items)
    received = bytearray()
    with pytest.raises(PackageIntegrityError, match="SHA-256"):
        for chunk in package:
            received += chunk
    # The tampered file never arrived whole, and the package has no central directory.
    assert bytes(data) not in received
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(bytes(received)))
    assert list(custody_of(item=items[1]))[-1].action == "evidence.integrity_failed"


def received_until_error(package, error):
    received = bytearray()
    with pytest.raises(error) as raised:
        for chunk in package:
            received += chunk
    return bytes(received), raised


def test_a_change_in_the_last_chunk_of_a_long_original_is_caught_before_that_chunk_leaves(
    make_staff,
):
    """The file is read and hashed ahead in another thread: its earlier chunks go out as they
    are hashed, but its last chunk waits for the hash, so a change there never leaves."""
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, number="LATE-1")
    original = os.urandom(5 * CHUNK_BYTES + 777)
    items = add_items(case, [original])
    path = Path(storage.local_path(items[0].original_key))
    data = bytearray(original)
    data[-100] ^= 0x01
    path.write_bytes(data)
    received, _ = received_until_error(
        package_stream(actor=lead, case=case, items=items), PackageIntegrityError
    )
    assert data[:CHUNK_BYTES] in received  # streamed, not read whole first
    assert bytes(data[-CHUNK_BYTES:]) not in received
    assert list(custody_of(item=items[0]))[-1].action == "evidence.integrity_failed"
    assert not [t for t in threading.enumerate() if t.name == "package-read-ahead"]


@pytest.mark.parametrize("change", ["shorter", "longer"])
def test_an_original_of_another_size_than_recorded_aborts_the_stream(make_staff, change):
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, number=f"SIZE-{change}")
    original = os.urandom(3 * CHUNK_BYTES)
    items = add_items(case, [original])
    path = Path(storage.local_path(items[0].original_key))
    path.write_bytes(
        original[:-1] if change == "shorter" else original + os.urandom(2 * CHUNK_BYTES)
    )
    received, _ = received_until_error(
        package_stream(actor=lead, case=case, items=items), PackageIntegrityError
    )
    assert original[-CHUNK_BYTES:] not in received
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(received))
    event = list(custody_of(item=items[0]))[-1]
    assert event.action == "evidence.integrity_failed"
    assert "size" in event.details["problem"]


def test_an_original_gone_from_the_store_fails_the_download(make_staff):
    """A read error in the reading thread reaches the download, which stops unfinished."""
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, number="GONE-1")
    items = add_items(case, [os.urandom(2 * CHUNK_BYTES)])
    package = package_stream(actor=lead, case=case, items=items)
    Path(storage.local_path(items[0].original_key)).unlink()
    received, _ = received_until_error(package, FileNotFoundError)
    assert len(received) < package.size
    assert not [t for t in threading.enumerate() if t.name == "package-read-ahead"]


def test_every_entrys_crc32_is_zlibs_for_originals_of_many_chunks(make_staff):
    """The ZIP's CRC-32s come from zlib-ng's crc32 (the package module points zipstream-ng at it):
    each one, chained over many chunks, is the one the standard library's zlib computes, and
    zipfile reads every entry back with its CRC checked."""
    assert zipstream.ng.crc32 is zlib_ng.crc32
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, number="CRC-1")
    originals = [os.urandom(3 * CHUNK_BYTES + 4321), os.urandom(CHUNK_BYTES), b"", b"x"]
    items = add_items(case, originals)
    data = package_bytes(actor=lead, case=case, items=items)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        paths = {entry["item_id"]: entry["path"] for entry in manifest["files"]}
        for item, original in zip(items, originals, strict=True):
            info = archive.getinfo(paths[str(item.pk)])
            assert zlib.crc32(original) == info.CRC
            assert archive.read(info) == original
        assert all(zlib.crc32(archive.read(info)) == info.CRC for info in archive.infolist())


def test_a_deleted_item_cannot_be_packaged(case_with_items):
    lead, case, items, _, _ = case_with_items
    items[2].state = "deleted"
    with pytest.raises(ValueError, match="no stored original"):
        package_stream(actor=lead, case=case, items=items)


def test_package_from_s3_streams_the_objects_without_a_temporary_copy(
    make_staff, prosecution, s3_endpoint, tmp_path, monkeypatch
):
    with override_settings(STORAGES=s3_storages(s3_endpoint)):
        lead = make_staff(role=Role.INVESTIGATOR)
        case = make_case(lead=lead, number="S3-1")
        items = add_items(case, [os.urandom(6 << 20), os.urandom(1000)])
        with closing(storage.open_stream(items[0].original_key)) as stream:
            assert isinstance(stream, StreamingBody)

        def no_spooling(*args, **kwargs):
            raise AssertionError("an S3 object was copied to a temporary file")

        # django-storages' S3File spools the whole object through this before the first read.
        monkeypatch.setattr(tempfile, "SpooledTemporaryFile", no_spooling)
        data = package_bytes(actor=lead, case=case, items=items)
    folder = extract(data, tmp_path / "pkg")
    result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("filename", "media_type", "expected"),
    [
        ("clip.exe", "video/mp4", "mp4"),
        ("photo.JPG", "image/jpeg", "jpg"),
        ("../../x.MOV", "", "mov"),
        ("notes.tar.gz", "application/octet-stream", "gz"),
        ("odd.<script>", "", "bin"),
        ("no-extension", "", "bin"),
    ],
)
def test_zip_extension_comes_from_the_detected_type_then_a_safe_suffix(
    filename, media_type, expected
):
    from evidence.disclosure.packages import _extension

    assert _extension(filename, media_type) == expected


def test_a_download_stopped_midway_closes_the_file_being_read(make_staff, monkeypatch):
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, number="STOP-1")
    # Eight chunks: more than the reading thread can be ahead when the first one arrives
    # (READ_AHEAD queued, one held back, one waiting to be queued), so it is still reading.
    items = add_items(case, [os.urandom(8 * CHUNK_BYTES)])
    opened = []
    real_open = storage.open_stream

    def tracking_open(key):
        stream = real_open(key)
        opened.append(stream)
        return stream

    monkeypatch.setattr(storage, "open_stream", tracking_open)
    package = package_stream(actor=lead, case=case, items=items)
    received = 0
    while not opened:
        received += len(next(package))
    assert not opened[0].closed
    package.close()  # what the WSGI server does when the client disconnects
    assert opened[0].closed
    assert received < package.size
    # ...and the thread that was reading it ahead has ended.
    assert not [t for t in threading.enumerate() if t.name == "package-read-ahead"]
