import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from evidence.processing.integrity import originals_verify
from portal import storage
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import stored_item

pytestmark = pytest.mark.django_db


def test_saving_over_an_original_key_fails_and_keeps_the_bytes(police):
    item = stored_item(agency=police, content=b"original bytes")
    with pytest.raises(storage.ObjectExists):
        storage.save_once(item.original_key, ContentFile(b"replacement"))
    with storage.open_object(item.original_key) as f:
        assert f.read() == b"original bytes"


def test_verify_records_a_match(police, capsys):
    item = stored_item(agency=police)
    call_command("evidence_verify")
    assert "OK: 1 original(s) verified" in capsys.readouterr().out
    check = item.checks.get()
    assert check.ok and check.sha256_found == item.sha256
    item.refresh_from_db()
    assert item.last_verified_at is not None
    assert AuditEvent.objects.filter(action="evidence.verified", target_id=str(item.pk)).exists()


def test_a_flipped_byte_in_storage_is_flagged_audited_and_emailed(
    police, make_staff, django_capture_on_commit_callbacks
):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    item = stored_item(agency=police, content=b"A" * 1000)
    path = storage.local_path(item.original_key)
    with open(path, "r+b") as f:
        f.seek(500)
        f.write(b"B")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="1 of 1"),
    ):
        call_command("evidence_verify")
    check = item.checks.get()
    assert not check.ok and check.sha256_found != item.sha256
    event = AuditEvent.objects.get(action="evidence.integrity_failed")
    assert event.details["expected"] == item.sha256
    assert mail.outbox and mail.outbox[0].to == [admin.email]
    assert str(item.pk) in mail.outbox[0].body


def test_only_items_not_verified_recently_are_checked(police):
    first = stored_item(agency=police)
    originals_verify()
    second = stored_item(agency=police, content=b"other")
    checks = originals_verify(older_than_days=7)
    assert [c.item_id for c in checks] == [second.pk]
    assert first.checks.count() == 1


def test_a_missing_original_is_a_failure_not_a_crash(police):
    item = stored_item(agency=police)
    storage.delete_object(item.original_key)
    check = originals_verify()[0]
    assert not check.ok and "could not be read" in check.problem
