"""Signed receipts: issued on acknowledgement, verified offline, and no changed byte gets past."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from evidence.disclosure import services as share_services
from evidence.disclosure.receipts import receipt_for, receipt_issue, receipt_verify
from evidence.disclosure.signing import private_key_of, signing_key_for
from evidence.models import SigningKey
from portal.models import AuditEvent
from portal.roles import Role
from tests.evidence.disclosure.packaging import add_items, make_case, make_share, verified
from tests.factories import AgencyFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
EVIL_NAME = '<script>alert("r")</script>.mp4'


@pytest.fixture
def acknowledged(make_staff, prosecution):
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead)
    items = add_items(case, [os.urandom(100), os.urandom(200)], original_filename=EVIL_NAME)
    prosecutor = verified(make_staff(role=Role.PROSECUTOR, agency=prosecution))
    share = make_share(case=case, items=items, recipient_agency=prosecution, by=lead)
    share = share_services.share_acknowledge(actor=prosecutor, share=share)
    return share, items, prosecutor


@pytest.fixture
def issued(acknowledged):
    share, items, prosecutor = acknowledged
    document = receipt_issue(actor=prosecutor, share=share)
    key = SigningKey.objects.get(agency=share.case.agency)
    return document, key.public_key, share, items, prosecutor


def test_receipt_lists_items_hashes_recipient_time_and_agency(issued):
    document, public_key, share, items, prosecutor = issued
    receipt = document["receipt"]
    assert {(i["id"], i["sha256"], i["size"]) for i in receipt["items"]} == {
        (str(item.pk), item.sha256, item.size) for item in items
    }
    assert receipt["recipient"]["user"] == prosecutor.label
    assert receipt["recipient"]["office"] == share.recipient_agency.name
    assert receipt["sharing_agency"]["name"] == share.case.agency.name
    assert receipt["acknowledged_at"].endswith("Z")
    assert receipt["key_id"] == document["signature"]["key_id"]
    assert receipt_verify(document, public_key) == (True, receipt_verify(document, public_key)[1])
    assert receipt_verify(document, public_key)[0] is True


def test_receipt_is_kept_in_the_audit_log_and_issued_once(issued):
    document, _, share, _, prosecutor = issued
    events = AuditEvent.objects.filter(action="share.receipt_issued", target_id=str(share.pk))
    assert events.count() == 1
    assert events.get().agency == share.case.agency
    assert receipt_for(share=share) == document
    assert receipt_issue(actor=prosecutor, share=share) == document
    assert events.count() == 1


def test_every_single_changed_byte_makes_the_receipt_invalid(issued):
    document, public_key, *_ = issued
    text = json.dumps(document, indent=2, ensure_ascii=False).encode()
    assert receipt_verify(text, public_key)[0] is True
    for position in range(len(text)):
        changed = bytearray(text)
        changed[position] ^= 0x01
        ok, reason = receipt_verify(bytes(changed), public_key)
        assert not ok, f"byte {position} ({chr(text[position])!r}) changed, still {reason}"


def test_a_changed_hash_is_reported_as_changed_after_signing(issued):
    document, public_key, _, items, _ = issued
    tampered = json.loads(json.dumps(document))
    sha = tampered["receipt"]["items"][0]["sha256"]
    tampered["receipt"]["items"][0]["sha256"] = ("0" if sha[0] != "0" else "1") + sha[1:]
    ok, reason = receipt_verify(tampered, public_key)
    assert not ok
    assert "changed after it was signed" in reason


def test_another_agencys_key_does_not_verify(issued):
    document, *_ = issued
    other = signing_key_for(agency=AgencyFactory())
    ok, reason = receipt_verify(document, other.public_key)
    assert not ok
    assert document["signature"]["key_id"] in reason


def test_only_an_addressed_prosecutor_gets_a_receipt(acknowledged, make_staff, prosecution):
    share, _, prosecutor = acknowledged
    elsewhere = verified(make_staff(role=Role.PROSECUTOR, agency=AgencyFactory(kind="prosecution")))
    investigator = verified(make_staff(role=Role.INVESTIGATOR))
    for stranger in (elsewhere, investigator):
        with pytest.raises(PermissionDenied):
            receipt_issue(actor=stranger, share=share)
    assert not AuditEvent.objects.filter(action="share.receipt_issued").exists()


def test_no_receipt_before_acknowledgement(make_staff, prosecution):
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead)
    items = add_items(case, [b"x" * 10])
    share = make_share(case=case, items=items, recipient_agency=prosecution, by=lead)
    prosecutor = verified(make_staff(role=Role.PROSECUTOR, agency=prosecution))
    with pytest.raises(ValueError, match="not been acknowledged"):
        receipt_issue(actor=prosecutor, share=share)


def test_private_key_is_sealed_not_stored_plain(issued, settings):
    _, _, share, _, _ = issued
    key = SigningKey.objects.get(agency=share.case.agency)
    raw = private_key_of(key).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    row = json.dumps(list(SigningKey.objects.filter(pk=key.pk).values())[0], default=str)
    assert raw.hex() not in row and raw.hex().upper() not in row
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-rotated-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    with pytest.raises(ValueError, match="cannot be unsealed"):
        private_key_of(key)
    settings.SECRET_KEY_FALLBACKS = [old]
    assert (
        private_key_of(key).private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        == raw
    )


def _command(*args: str) -> subprocess.CompletedProcess:
    # A database that does not exist: the check must not need one when the key is given.
    env = {**os.environ, "DATABASE_URL": "postgis://nobody@127.0.0.1:9/no_such_database"}
    return subprocess.run(
        [sys.executable, "manage.py", "receipt_verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_verifies_offline_and_fails_on_one_changed_byte(issued, tmp_path):
    document, public_key, *_ = issued
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(document, indent=2, ensure_ascii=False))
    key_file = tmp_path / "agency.pub"
    key_file.write_text(public_key + "\n")

    result = _command(str(good), "--public-key", public_key)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("valid:")
    assert _command(str(good), "--public-key", str(key_file)).returncode == 0

    data = bytearray(good.read_bytes())
    position = data.index(document["receipt"]["items"][1]["sha256"].encode()) + 5
    data[position] = ord("0") if data[position] != ord("0") else ord("1")
    bad = tmp_path / "changed.json"
    bad.write_bytes(bytes(data))
    result = _command(str(bad), "--public-key", public_key)
    assert result.returncode == 1
    assert "changed after it was signed" in result.stderr


def test_command_finds_the_published_key_by_its_id(issued, tmp_path):
    document, *_ = issued
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(document))
    call_command("receipt_verify", str(path))
    path.write_text(json.dumps(document).replace('"version": 1', '"version": 2'))
    with pytest.raises(CommandError, match="invalid"):
        call_command("receipt_verify", str(path))
    path.write_text("not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("receipt_verify", str(path))


def test_verify_page_needs_no_login_and_says_valid(issued):
    document, *_ = issued
    client = Client()
    url = reverse("receipts:verify")
    assert client.get(url).status_code == 200
    response = client.post(url, {"receipt": json.dumps(document, indent=2)})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h2>Valid</h2>" in body
    assert "&lt;script&gt;alert(&quot;r&quot;)&lt;/script&gt;.mp4" in body
    assert "<script>alert" not in body


def test_verify_page_rejects_an_uploaded_receipt_with_one_changed_byte(issued):
    document, *_ = issued
    text = json.dumps(document, indent=2).encode()
    # The last digit of the first item's size: still valid JSON, a different number.
    position = text.index(b",", text.index(b'"size": ')) - 1
    changed = text[:position] + bytes([text[position] ^ 0x01]) + text[position + 1 :]
    response = Client().post(
        reverse("receipts:verify"),
        {"receipt_file": SimpleUploadedFile("r.json", changed, "application/json")},
    )
    assert response.status_code == 422
    assert "<h2>Invalid</h2>" in response.content.decode()
    assert "changed after it was signed" in response.content.decode()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "no receipt was given"),
        ("{not json", "not valid JSON"),
        ('{"receipt": {}, "signature": {}, "extra": 1}', "expected exactly"),
        ('{"receipt": {}, "receipt": {}, "signature": {}}', "appears twice"),
    ],
)
def test_verify_page_explains_malformed_input(payload, reason):
    response = Client().post(reverse("receipts:verify"), {"receipt": payload})
    assert response.status_code == 422
    assert reason in response.content.decode()


def test_verify_page_refuses_an_oversized_upload():
    big = SimpleUploadedFile("r.json", b'{"receipt": "' + b"a" * (3 << 20) + b'"}', "text/json")
    response = Client().post(reverse("receipts:verify"), {"receipt_file": big})
    assert response.status_code == 422
    assert "too large" in response.content.decode()


def test_verify_page_with_an_unknown_key_id_asks_for_the_key(issued):
    document, public_key, share, *_ = issued
    SigningKey.objects.filter(agency=share.case.agency).delete()
    url = reverse("receipts:verify")
    response = Client().post(url, {"receipt": json.dumps(document)})
    assert response.status_code == 422
    assert "no published key" in response.content.decode()
    response = Client().post(url, {"receipt": json.dumps(document), "public_key": public_key})
    assert response.status_code == 200


def test_agency_key_page_publishes_the_public_key(issued):
    _, public_key, share, *_ = issued
    agency = share.case.agency
    key = SigningKey.objects.get(agency=agency)
    page = Client().get(reverse("receipts:keys", args=[agency.slug]))
    assert page.status_code == 200
    assert public_key in page.content.decode()
    download = Client().get(reverse("receipts:public_key", args=[agency.slug, key.key_id]))
    assert download.content.decode().strip() == public_key
    assert Client().get(reverse("receipts:keys", args=["no-such-agency"])).status_code == 404
    assert (
        Client()
        .get(reverse("receipts:public_key", args=["no-such-agency", key.key_id]))
        .status_code
        == 404
    )
