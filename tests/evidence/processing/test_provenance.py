"""C2PA provenance on ingest: signed, tampered and unsigned files through the real pipeline."""

import shutil
import subprocess

import pytest
from django.urls import reverse

from evidence import samples
from evidence.models import EvidenceItem
from evidence.processing import provenance
from portal.models import AuditEvent
from tests.evidence.helpers import ingest, sha256_of, wait_for
from tests.evidence.processing.c2pa_signing import flip_content_byte, make_signer

State = EvidenceItem.State


@pytest.fixture(scope="module")
def signer():
    return make_signer(common_name="Riverton Test Camera", org="Canvass Test CA")


def signed_photo(signer, tmp_path):
    photo = samples.photo_with_exif_gps(tmp_path, name="unsigned.jpg")
    return signer.sign(photo, tmp_path / "signed.jpg")


def signed_clip(signer, tmp_path):
    clip = samples.phone_clip_mov(tmp_path, seconds=1, size="320x240", name="unsigned.mp4")
    return signer.sign(clip, tmp_path / "signed.mp4")


def test_signed_photo_and_clip_are_valid_with_signer_and_generator(
    celery_worker, police, signer, tmp_path, make_staff, signed_in
):
    photo, clip = signed_photo(signer, tmp_path), signed_clip(signer, tmp_path)
    for path, kind in ((photo, "image"), (clip, "video")):
        item = wait_for(ingest(path, police))
        assert item.state == State.READY, item.state_reason
        assert item.media_kind == kind
        assert item.provenance_status == "valid", item.provenance_details
        details = item.provenance_details
        assert details["signer"]["common_name"] == "Riverton Test Camera"
        assert details["signer"]["issuer"] == "Canvass Test CA"
        assert details["claim_generator"] == "canvass-tests 1.0"
        assert details["errors"] == []
        assert details["signer_trusted"] is None and details["trust_anchors_configured"] is False
        processed = AuditEvent.objects.get(target_id=str(item.pk), action="evidence.processed")
        assert processed.details["provenance"] == "valid"

    client = signed_in(make_staff())
    page = client.get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert "C2PA provenance" in page and "Valid" in page and "Riverton Test Camera" in page
    assert "no trust list is configured" in page
    api = client.get(reverse("api-evidence-detail", args=[item.pk])).json()
    assert api["provenance_status"] == "valid"
    assert api["provenance_details"]["signer"]["common_name"] == "Riverton Test Camera"


def test_one_byte_changed_after_signing_is_invalid_and_the_item_is_kept(
    celery_worker, police, signer, tmp_path, make_staff, signed_in
):
    photo = flip_content_byte(signed_photo(signer, tmp_path))
    clip = flip_content_byte(signed_clip(signer, tmp_path))
    expected = {photo: "assertion.dataHash.mismatch", clip: "assertion.bmffHash.mismatch"}
    for path, code in expected.items():
        item = wait_for(ingest(path, police))
        assert item.provenance_status == "invalid", item.provenance_details
        assert code in [e["code"] for e in item.provenance_details["errors"]]
        # The evidence is kept byte-exact and processed as usual, whatever its seal says.
        assert item.sha256 == sha256_of(path)
        assert item.state in (State.READY, State.UNPLAYABLE)

    client = signed_in(make_staff())
    page = client.get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert "Invalid" in page and "assertion.bmffHash.mismatch" in page
    listed = client.get(reverse("api-evidence-list")).json()["results"][0]
    assert listed["provenance_status"] == "invalid"


def test_unsigned_files_have_no_manifest(celery_worker, police, tmp_path, make_staff, signed_in):
    photo = samples.photo_with_exif_gps(tmp_path)
    clip = samples.phone_clip_mov(tmp_path, seconds=1, size="320x240", name="plain.mp4")
    for path in (photo, clip):
        item = wait_for(ingest(path, police))
        assert item.state == State.READY
        assert item.provenance_status == "none"
        assert "signer" not in item.provenance_details
    page = signed_in(make_staff()).get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert "No C2PA manifest" in page


def test_a_rejected_file_is_still_checked(celery_worker, police, tmp_path):
    item = wait_for(ingest(samples.html_named_mp4(tmp_path), police))
    assert item.state == State.REJECTED
    # "unchecked" is also the default before any check: only the check's own details (the SDK
    # that ran and why it could not read a manifest in HTML) prove it ran.
    assert item.provenance_status == "unchecked"
    assert item.provenance_details["checked_with"] == provenance.sdk_version()
    assert "Not a format C2PA covers" in item.provenance_details["reason"]
    rejected = AuditEvent.objects.get(target_id=str(item.pk), action="evidence.rejected")
    assert rejected.details["provenance"] == item.provenance_status


def test_trust_anchors_say_whether_the_signer_is_trusted(worker_pool, police, signer, tmp_path):
    anchors = signer.write_ca(tmp_path)
    worker_pool.start(C2PA_TRUST_ANCHORS=str(anchors))
    item = wait_for(ingest(signed_photo(signer, tmp_path), police))
    assert item.provenance_status == "valid"
    assert item.provenance_details["signer_trusted"] is True

    stranger = make_signer(common_name="Someone Else", org="Unknown CA")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    item = wait_for(ingest(signed_photo(stranger, other_dir), police))
    # Unaltered since signing, but by a signer the agency does not trust: valid, untrusted.
    assert item.provenance_status == "valid"
    assert item.provenance_details["signer_trusted"] is False
    assert item.provenance_details["errors"] == []


def test_check_reports_trust_from_the_configured_anchors(signer, tmp_path, settings):
    settings.C2PA_TRUST_ANCHORS = str(signer.write_ca(tmp_path))
    photo = signed_photo(signer, tmp_path)
    checked = provenance.check(photo, "image/jpeg")
    assert checked.status == "valid" and checked.details["signer_trusted"] is True
    stranger_dir = tmp_path / "s"
    stranger_dir.mkdir()
    other = provenance.check(signed_photo(make_signer(org="Unknown CA"), stranger_dir), "")
    assert other.status == "valid" and other.details["signer_trusted"] is False


def test_unreadable_trust_anchors_still_validate_and_say_why(settings, signer, tmp_path):
    settings.C2PA_TRUST_ANCHORS = str(tmp_path / "missing.pem")
    checked = provenance.check(signed_photo(signer, tmp_path), "image/jpeg")
    assert checked.status == "valid"
    assert checked.details["signer_trusted"] is None
    assert "could not be read" in checked.details["trust_problem"]


def test_a_damaged_manifest_is_invalid_not_an_error(signer, tmp_path):
    signed = signed_photo(signer, tmp_path)
    data = bytearray(signed.read_bytes())
    at = data.find(b"c2pa.signature")
    assert at > 0
    data[at + 40 : at + 48] = b"\x00" * 8
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(bytes(data))
    checked = provenance.check(damaged, "image/jpeg")
    assert checked.status == "invalid"
    assert checked.details["errors"]


def test_a_format_c2pa_does_not_cover_is_unchecked_or_none(tmp_path):
    clip = samples.hevc_or_mpeg4_clip(tmp_path)
    mkv = tmp_path / "clip.mkv"
    subprocess.run(  # noqa: S603 - a trusted, generated file
        [shutil.which("ffmpeg"), "-loglevel", "error", "-i", str(clip), "-c", "copy", str(mkv)],
        check=True,
    )
    for path, media_type in ((clip, "video/x-msvideo"), (mkv, "video/x-matroska")):
        checked = provenance.check(path, media_type)
        assert checked.status in ("none", "unchecked")
        if checked.status == "unchecked":
            assert checked.details["reason"]
