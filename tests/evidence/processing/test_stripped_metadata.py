"""Copies shown beyond the assigned investigator carry no identifying metadata; the original
stays byte-exact, and a metadata policy can withhold it and what the file says about itself."""

import io
import json
import shutil
import subprocess

import pytest
from django.urls import reverse
from PIL import ExifTags, Image

from evidence import policies, samples
from evidence.models import Derivative, EvidenceItem
from portal import storage
from tests.evidence.helpers import ingest, sha256_of, wait_for

State = EvidenceItem.State
IDENTIFYING_TAGS = ("location", "creation_time", "make", "model", "com.apple", "com.android")


def stored_bytes(key: str) -> bytes:
    with storage.open_object(key) as f:
        return f.read()


def ffprobe_tags(data: bytes, tmp_path, name: str) -> list[str]:
    """Every format, stream and chapter tag name (and value) ffprobe finds in the file."""
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(  # noqa: S603 - our own test file
        [shutil.which("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
         "-show_streams", "-show_chapters", str(path)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    tags = dict(info.get("format", {}).get("tags", {}))
    for stream in info.get("streams", []):
        tags.update({f"stream:{k}": v for k, v in stream.get("tags", {}).items()})
    assert not info.get("chapters")
    return [f"{k}={v}".lower() for k, v in tags.items()]


def assert_no_identifying_tags(tags: list[str]) -> None:
    leaked = [t for t in tags if any(word in t for word in IDENTIFYING_TAGS)]
    assert not leaked, leaked
    assert not any("+40.75" in t or "iphone" in t or "2026-03-14" in t for t in tags), tags


def assert_no_exif(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        assert not exif, dict(exif)
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert "xmp" not in img.info and "exif" not in img.info
    assert b"Exif\x00\x00" not in data and b"iPhone" not in data and b"GPS" not in data


@pytest.fixture
def metadata_policy(source_hooks):
    """Register a policy for a source for one test, restoring whatever was there."""
    return lambda source, fn: source_hooks(source, sees_identifying_metadata=fn)


def test_video_derivatives_carry_no_gps_time_or_device_and_the_original_is_exact(
    celery_worker, police, tmp_path
):
    clip = samples.phone_clip_mov(tmp_path, seconds=5, lat=40.7580, lon=-73.9855)
    # The original really carries all of it, or this test would prove nothing.
    original_tags = ffprobe_tags(clip.read_bytes(), tmp_path, "orig.mov")
    assert any(t.startswith("location=") for t in original_tags)
    assert any("iphone" in t for t in original_tags)
    rotated_dir = tmp_path / "rotated"
    rotated_dir.mkdir()
    # Copied HLS (the phone clip) and transcoded HLS (a rotated clip cannot be copied).
    for source in (clip, samples.rotated_clip(rotated_dir)):
        item = wait_for(ingest(source, police))
        assert item.state == State.READY, item.state_reason
        assert item.location is not None  # the pipeline read the place from the original
        derivatives = item.derivatives.exclude(kind=Derivative.Kind.HLS_PLAYLIST)
        assert {d.kind for d in derivatives} == {"proxy_mp4", "hls_segment", "poster"}
        for d in derivatives:
            data = stored_bytes(d.key)
            assert_no_identifying_tags(ffprobe_tags(data, tmp_path, d.name))
            if d.kind == Derivative.Kind.POSTER:
                assert_no_exif(data)
        assert item.sha256 == sha256_of(source)
        assert sha256_of_key(item.original_key) == sha256_of(source)


def sha256_of_key(key: str) -> str:
    import hashlib

    return hashlib.sha256(stored_bytes(key)).hexdigest()


def test_photo_preview_has_no_exif_gps_or_device_and_the_original_keeps_it(
    celery_worker, police, tmp_path
):
    photo = samples.photo_with_exif_gps(tmp_path, orientation=6)
    item = wait_for(ingest(photo, police))
    assert item.state == State.READY
    preview = item.derivatives.get(kind=Derivative.Kind.IMAGE_PREVIEW)
    assert_no_exif(stored_bytes(preview.key))
    original = stored_bytes(item.original_key)
    assert sha256_of_key(item.original_key) == sha256_of(photo) == item.sha256
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # sealed, untouched


def test_a_viewer_the_policy_refuses_sees_stripped_copies_only(
    celery_worker, police, tmp_path, make_staff, signed_in, metadata_policy
):
    assigned, colleague = make_staff(), make_staff()
    metadata_policy("staff_upload", lambda user, item: user.pk == assigned.pk)
    clip = samples.phone_clip_mov(tmp_path, seconds=2, lat=40.7580, lon=-73.9855)
    item = wait_for(ingest(clip, police, filename="IMG_0042 at Maple St.mov"))
    assert item.state == State.READY

    page = signed_in(assigned).get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert "40.758000" in page and "iPhone 15" in page and "IMG_0042" in page
    assert "Download original" in page and "2026-03-14" in page

    client = signed_in(colleague)
    page = client.get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert 'id="metadata-withheld"' in page
    for secret in ("40.758", "-73.98", "iPhone", "Apple", "IMG_0042", "2026-03-14"):
        assert secret not in page, secret
    assert "Download original" not in page
    assert reverse("evidence:media", args=[item.pk, "index.m3u8"]) in page  # the copies play
    original = client.post(reverse("evidence:download_issue", args=[item.pk]))
    assert original.status_code == 403
    proxy = client.post(
        reverse("evidence:download_issue", args=[item.pk]), {"derivative": "proxy.mp4"}
    )
    assert proxy.status_code == 302

    api = client.get(reverse("api-evidence-detail", args=[item.pk])).json()
    assert api["identifying_metadata_hidden"] is True
    assert api["location"] is None and api["capture_time"] is None
    assert api["original_filename"] == "" and "make" not in api["metadata"]
    assert api["metadata"]["video_codec"] == "h264"
    listed = client.get(reverse("api-evidence-list")).json()["results"][0]
    assert listed["location"] is None and listed["original_filename"] == ""
    refused = client.post(reverse("api-evidence-download-url", args=[item.pk]), {})
    assert refused.status_code == 403
    allowed = client.post(
        reverse("api-evidence-download-url", args=[item.pk]), {"derivative": "poster.jpg"}
    )
    assert allowed.status_code == 200
    custody = client.get(reverse("api-evidence-custody", args=[item.pk])).content.decode()
    report = client.get(reverse("evidence:custody_report", args=[item.pk])).content.decode()
    listing = client.get(reverse("evidence:list")).content.decode()
    for text in (custody, report, listing):
        assert "IMG_0042" not in text

    full = signed_in(assigned).get(reverse("api-evidence-detail", args=[item.pk])).json()
    assert full["identifying_metadata_hidden"] is False
    assert full["location"]["lat"] == pytest.approx(40.758, abs=1e-4)
    assert full["metadata"]["make"] == "Apple"


@pytest.mark.django_db
def test_without_a_policy_every_viewer_of_the_item_sees_its_metadata(police, make_staff):
    item = EvidenceItem(agency=police, source="footage_request")
    assert policies.can_see_identifying_metadata(make_staff(), item) is True
