"""The audit chain's daily checkpoints: signed with the agency's published key, downloadable
by anyone, and `audit_verify --checkpoint` catching a cut tail or a rewrite behind one."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from portal import audit_actions as actions
from portal.audit import audit_record, compute_hash, verify_chain
from portal.checkpoints import audit_checkpoints_take
from portal.models import AuditCheckpoint, AuditEvent
from portal.tasks import take_audit_checkpoints

pytestmark = pytest.mark.django_db


def _write(n):
    return [
        audit_record(action=actions.LOGOUT.name, actor_label="system", details={"i": i})
        for i in range(n)
    ]


def _as_owner(*statements):
    """SQL as the role that owns the table (the tests' own connection), trigger off: what
    someone holding the owner's password could do, and what the checkpoints must catch."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks block ALTER
        cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER audit_append_only")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("ALTER TABLE portal_auditevent ENABLE TRIGGER audit_append_only")


def _download(checkpoint, tmp_path, name="checkpoint.json"):
    response = Client().get(
        reverse(
            "checkpoints:download",
            kwargs={"agency_slug": checkpoint.agency.slug, "checkpoint_id": checkpoint.pk},
        )
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def _published_key(checkpoint):
    response = Client().get(
        reverse(
            "receipts:public_key",
            kwargs={"agency_slug": checkpoint.agency.slug, "key_id": checkpoint.key_id},
        )
    )
    assert response.status_code == 200
    return response.content.decode().strip()


def _verify(*args):
    """audit_verify's output; CommandError (exit 1) carries what it found wrong."""
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def checkpoint(police, other_police):
    _write(5)
    made = audit_checkpoints_take()
    return next(c for c in made if c.agency == police)


def test_every_agency_signs_the_same_head_once_a_day(police, other_police):
    _write(4)
    made = audit_checkpoints_take()
    assert {c.agency for c in made} == {police, other_police}
    assert {(c.seq, c.head_hash) for c in made} == {(4, AuditEvent.objects.get(seq=4).hash)}
    # Each checkpoint is audited in its agency's log, after the head it signed.
    rows = AuditEvent.objects.filter(action=actions.AUDIT_CHECKPOINT_TAKEN.name)
    assert sorted((r.agency_id, r.seq) for r in rows) == [(police.pk, 5), (other_police.pk, 6)]
    assert audit_checkpoints_take() == []
    assert take_audit_checkpoints() == 0  # the beat job: today's are taken already
    assert AuditCheckpoint.objects.count() == 2


def test_an_empty_log_has_nothing_to_anchor(police):
    assert audit_checkpoints_take() == []


def test_the_signature_verifies_with_the_published_key_and_fails_when_a_byte_changes(
    checkpoint, tmp_path
):
    path = _download(checkpoint, tmp_path)
    key = _published_key(checkpoint)
    document = json.loads(path.read_bytes())
    assert document["checkpoint"]["seq"] == 5
    assert document["checkpoint"]["agency"]["slug"] == "riverton-pd"
    assert document["signature"]["public_key"] == key
    out = _verify("--checkpoint", str(path), "--public-key", key)
    assert f"OK: checkpoint {path}: signature good" in out

    # One byte of the signed statement changed: the day.
    changed = path.read_text().replace(document["checkpoint"]["day"], "1999-01-01")
    bad = tmp_path / "changed.json"
    bad.write_text(changed)
    with pytest.raises(CommandError, match="signature INVALID"):
        _verify("--checkpoint", str(bad), "--public-key", key)
    # ...or one hex digit of the head hash.
    head = document["checkpoint"]["head_hash"]
    flipped = head[:-1] + ("0" if head[-1] != "0" else "1")
    bad.write_text(path.read_text().replace(head, flipped))
    with pytest.raises(CommandError, match="signature INVALID"):
        _verify("--checkpoint", str(bad), "--public-key", key)


def test_another_agencys_key_does_not_verify_it(checkpoint, other_police, tmp_path):
    path = _download(checkpoint, tmp_path)
    other = AuditCheckpoint.objects.get(agency=other_police)
    assert other.key_id != checkpoint.key_id
    with pytest.raises(CommandError, match="signature INVALID"):
        _verify("--checkpoint", str(path), "--public-key", _published_key(other))


def test_a_key_swapped_into_the_file_is_refused_without_a_pinned_key(
    checkpoint, other_police, tmp_path
):
    path = _download(checkpoint, tmp_path)
    document = json.loads(path.read_bytes())
    document["signature"]["public_key"] = AuditCheckpoint.objects.get(
        agency=other_police
    ).public_key
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="signature INVALID"):
        _verify("--checkpoint", str(path))


def test_a_tail_deleted_by_the_owner_is_caught_by_the_checkpoint(checkpoint, tmp_path):
    path = _download(checkpoint, tmp_path)
    _write(3)
    # Rows 4 onwards go, the checkpoint's head (5) among them: the chain left walks clean.
    _as_owner(("DELETE FROM portal_auditevent WHERE seq >= %s", [4]))
    assert verify_chain().ok
    assert "chain intact" in _verify()
    with pytest.raises(CommandError) as caught:
        _verify("--checkpoint", str(path), "--public-key", _published_key(checkpoint))
    assert (
        f"checkpoint {path}: TRUNCATED: the log ends at seq 3, but the checkpoint signed seq 5: "
        "2 row(s) are missing from the tail"
    ) in str(caught.value)


def test_a_tail_cut_and_written_again_is_caught_as_a_rewrite(checkpoint, tmp_path):
    path = _download(checkpoint, tmp_path)
    _as_owner(("DELETE FROM portal_auditevent WHERE seq >= %s", [4]))
    _write(4)  # new rows 4..7 chain on from row 3: the log is longer than the checkpoint again
    assert verify_chain().ok
    with pytest.raises(CommandError, match="REWRITTEN: the row at seq 5 has hash"):
        _verify("--checkpoint", str(path))


def test_a_rewrite_behind_the_checkpoint_with_every_hash_recomputed_is_caught(checkpoint, tmp_path):
    path = _download(checkpoint, tmp_path)
    # Row 2 is changed and every hash after it recomputed, so the chain itself walks clean.
    statements = []
    prev = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__gte=2).order_by("seq"):
        if event.seq == 2:
            event.details = {"i": "something else"}
        event.prev_hash = prev
        event.hash = compute_hash(event, prev)
        prev = event.hash
        statements.append(
            (
                "UPDATE portal_auditevent SET details = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [json.dumps(event.details), event.prev_hash, event.hash, event.seq],
            )
        )
    _as_owner(*statements)
    assert verify_chain().ok
    with pytest.raises(CommandError) as caught:
        _verify("--checkpoint", str(path), "--public-key", _published_key(checkpoint))
    assert "REWRITTEN: the row at seq 5 has hash" in str(caught.value)
    assert "the log was changed at or before seq 5" in str(caught.value)


def test_a_log_that_still_holds_the_head_passes_with_later_rows(checkpoint, tmp_path):
    path = _download(checkpoint, tmp_path)
    _write(3)
    out = _verify("--checkpoint", str(path))
    assert "chain intact" in out and "signature good" in out
    assert "pass --public-key" in out  # said plainly: the file's own key was used


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, police):
    path = tmp_path / "x.json"
    path.write_text('{"receipt": {}}')
    with pytest.raises(CommandError, match="not a checkpoint"):
        _verify("--checkpoint", str(path))


def test_anyone_lists_and_downloads_an_agencys_checkpoints(checkpoint, other_police):
    client = Client()
    page = client.get(reverse("checkpoints:list", kwargs={"agency_slug": "riverton-pd"}))
    assert page.status_code == 200
    assert checkpoint.head_hash in page.content.decode()
    latest = client.get(reverse("checkpoints:latest", kwargs={"agency_slug": "riverton-pd"}))
    assert latest.status_code == 200
    assert json.loads(latest.content)["signature"]["value"] == checkpoint.signature


def test_a_checkpoint_is_found_only_under_its_own_agency(checkpoint, other_police):
    other = AuditCheckpoint.objects.get(agency=other_police)
    response = Client().get(
        reverse(
            "checkpoints:download",
            kwargs={"agency_slug": "riverton-pd", "checkpoint_id": other.pk},
        )
    )
    assert response.status_code == 404
    missing = Client().get(reverse("checkpoints:list", kwargs={"agency_slug": "nobody"}))
    assert missing.status_code == 404


def test_an_agency_without_a_checkpoint_has_no_latest(police):
    response = Client().get(reverse("checkpoints:latest", kwargs={"agency_slug": "riverton-pd"}))
    assert response.status_code == 404
