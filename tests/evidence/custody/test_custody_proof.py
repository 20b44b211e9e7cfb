"""Custody verifiable offline: an item's rows with every hashed field, Merkle inclusion paths to
a signed checkpoint, and a standalone verifier that fails on any changed byte."""

import copy
import datetime as dt
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings as settings_module
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from evidence import services
from evidence.audit_actions import CHECKPOINT_SIGNED, CUSTODY_PROOF_EXPORTED, CUSTODY_PROOF_REFUSED
from evidence.custody import proof as custody_proof
from evidence.models import Source
from evidence.models.custody import AuditLeaf
from evidence.selectors import custody_of
from portal.models import AuditEvent
from tests.evidence.disclosure.packaging import verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db


def load_verifier():
    """The script by its file, as a recipient would have it: not through our package."""
    spec = importlib.util.spec_from_file_location(
        "standalone_verifier", custody_proof.VERIFIER_PATH
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERIFIER = load_verifier()


# RFC 9162 section 2.1.1 and 2.1.3.1, written out as the RFC defines them (recursive split at
# the largest power of two below n), to hold our bottom-up tree against.
def rfc_root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc_root(leaves[:k]) + rfc_root(leaves[k:])).digest()


def rfc_path(m, leaves):
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return rfc_path(m, leaves[:k]) + [rfc_root(leaves[k:])]
    return rfc_path(m - k, leaves[k:]) + [rfc_root(leaves[:k])]


def test_the_tree_and_paths_are_rfc_9162s_for_every_size_up_to_40():
    leaves = [hashlib.sha256(b"\x00" + bytes([n])).digest() for n in range(40)]
    for size in range(1, 41):
        levels = custody_proof.tree_levels(leaves[:size])
        assert levels[-1][0] == rfc_root(leaves[:size])
        for m in range(size):
            path = custody_proof.inclusion_path(levels, m)
            assert path == rfc_path(m, leaves[:size])
            found = VERIFIER.root_from_path(m, size, leaves[m], [p.hex() for p in path])
            assert found == levels[-1][0]
            if size > 1:
                with pytest.raises(VERIFIER.ProofError):
                    VERIFIER.root_from_path(m, size, leaves[m], [p.hex() for p in path[:-1]])


@pytest.fixture
def busy_item(police, make_staff):
    """An item whose rows are interleaved with rows about another item of the agency."""
    user = verified(make_staff())
    item = stored_item(agency=police)
    other = stored_item(agency=police)
    for target in (item, other, item, other):
        services.item_record_view(actor=user, item=target, via="page")
    services.item_metadata_change(
        actor=user,
        item=item,
        reason="Clock on the camera was an hour fast",
        capture_time=timezone.now() - dt.timedelta(hours=1),
    )
    return user, item, other


def exported(client, item) -> dict:
    response = client.get(reverse("api-evidence-custody-proof", args=[item.pk]))
    assert response.status_code == 200, response.content
    return response.json()


def test_api_proof_gives_every_hashed_field_and_verifies(busy_item, signed_in):
    user, item, _ = busy_item
    proof = exported(signed_in(user), item)
    rows = proof["rows"]
    assert [r["fields"]["seq"] for r in rows] == list(
        custody_of(item=item).values_list("seq", flat=True)
    )
    # The export is itself custody, and the proof covers its own row.
    assert rows[-1]["fields"]["action"] == CUSTODY_PROOF_EXPORTED.name
    for row in rows:
        event = AuditEvent.objects.get(seq=row["fields"]["seq"])
        assert row["hash"] == event.hash and row["prev_hash"] == event.prev_hash
        assert set(row["fields"]) == set(VERIFIER.ROW_FIELDS)
    signed, lines = VERIFIER.verify(proof, custody_proof.public_key_pem().decode())
    assert signed is True
    assert len(lines) == len(rows) + 2
    checkpoint = AuditEvent.objects.get(seq=proof["checkpoint"]["audit_seq"])
    assert checkpoint.action == CHECKPOINT_SIGNED.name
    assert checkpoint.details["root_hash"] == proof["checkpoint"]["root_hash"]


def flipped(value):
    """The value with one byte (or digit, or flag) changed, keeping its JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value ^ 1
    if value is None:
        return 1
    if isinstance(value, str):
        if not value:
            return "x"
        first = value[0]
        return chr(ord(first) ^ 1) + value[1:]
    if isinstance(value, list):
        return [flipped(value[0]), *value[1:]] if value else ["x"]
    if isinstance(value, dict):
        if not value:
            return {"x": 1}
        key = sorted(value)[0]
        return {**value, key: flipped(value[key])}
    raise TypeError(type(value))


def tampered_copies(proof):
    """(what, proof) for one changed byte in each field of each row, in each path step, and in
    the checkpoint, key and item id."""
    for n, row in enumerate(proof["rows"]):
        for field in row["fields"]:
            copy_ = copy.deepcopy(proof)
            copy_["rows"][n]["fields"][field] = flipped(row["fields"][field])
            yield f"row {n} field {field}", copy_
        for part in ("prev_hash", "hash", "leaf_index"):
            copy_ = copy.deepcopy(proof)
            copy_["rows"][n][part] = flipped(row[part])
            yield f"row {n} {part}", copy_
        for step in range(len(row["path"])):
            copy_ = copy.deepcopy(proof)
            copy_["rows"][n]["path"][step] = flipped(row["path"][step])
            yield f"row {n} path step {step}", copy_
    for part in ("tree_size", "root_hash", "signed_at", "key_id", "signature"):
        copy_ = copy.deepcopy(proof)
        copy_["checkpoint"][part] = flipped(proof["checkpoint"][part])
        yield f"checkpoint {part}", copy_
    for part in ("public_key", "item_id"):
        copy_ = copy.deepcopy(proof)
        copy_[part] = flipped(proof[part])
        yield part, copy_


def test_one_changed_byte_anywhere_fails_and_the_untouched_proof_passes(busy_item, signed_in):
    user, item, _ = busy_item
    proof = exported(signed_in(user), item)
    key = custody_proof.public_key_pem().decode()
    assert VERIFIER.verify(proof, key)[0] is True
    tried = 0
    for what, bad in tampered_copies(proof):
        with pytest.raises(VERIFIER.ProofError):
            VERIFIER.verify(bad, key)
            pytest.fail(f"a changed byte in {what} was not detected")
        tried += 1
    fields = len(VERIFIER.ROW_FIELDS) + 3
    assert tried >= len(proof["rows"]) * fields + 7


def test_a_row_about_another_item_is_refused_even_with_a_valid_path(busy_item):
    user, item, other = busy_item
    tree = custody_proof.checkpoint_covering(AuditEvent.objects.order_by("-seq").first().seq)
    mine = custody_proof.item_proof(actor=user, item=item, events=custody_of(item=item), tree=tree)
    theirs = custody_proof.item_proof(
        actor=user, item=other, events=custody_of(item=other), tree=tree
    )
    mixed = copy.deepcopy(mine)
    mixed["rows"].append(theirs["rows"][0])
    key = custody_proof.public_key_pem().decode()
    assert VERIFIER.verify(mine, key)[0] is True
    with pytest.raises(VERIFIER.ProofError, match="not about this item"):
        VERIFIER.verify(mixed, key)


def run_verifier(tmp_path, proof, *flags):
    """The script copied alone into an empty folder and run isolated (-I): no Django, no DB."""
    folder = tmp_path / "offline"
    folder.mkdir(exist_ok=True)
    shutil.copy(custody_proof.VERIFIER_PATH, folder / "verify_custody.py")
    (folder / "custody-proof.json").write_text(json.dumps(proof))
    (folder / "key.pem").write_bytes(custody_proof.public_key_pem())
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-I", *flags, "verify_custody.py", "custody-proof.json"]
        + ["--public-key", "key.pem"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_the_verifier_runs_alone_without_django_or_a_database(busy_item, signed_in, tmp_path):
    user, item, _ = busy_item
    proof = exported(signed_in(user), item)
    result = run_verifier(tmp_path, proof)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"of item {item.pk}" in result.stdout
    # -S: no site-packages at all (no Django, no cryptography): hashes and paths still checked.
    result = run_verifier(tmp_path, proof, "-S")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "signature was NOT checked" in result.stdout
    bad = copy.deepcopy(proof)
    bad["rows"][0]["fields"]["actor_label"] = flipped(bad["rows"][0]["fields"]["actor_label"])
    for flags in ((), ("-S",)):
        result = run_verifier(tmp_path, bad, *flags)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED" in result.stdout


def test_rows_hidden_from_the_reader_are_proven_by_leaf_only(busy_item, make_staff, source_hooks):
    user, item, _ = busy_item
    item.source = Source.TIP
    item.save(update_fields=["source"])
    source_hooks(Source.TIP, sees_identifying_metadata=lambda u, i: False)
    proof = custody_proof.item_proof(actor=user, item=item, events=custody_of(item=item))
    changed = AuditEvent.objects.get(target_id=str(item.pk), action="evidence.metadata_changed")
    assert [w["seq"] for w in proof["withheld"]] == [changed.seq]
    assert changed.seq not in [r["fields"]["seq"] for r in proof["rows"]]
    assert "Clock on the camera" not in json.dumps(proof)
    key = custody_proof.public_key_pem().decode()
    assert VERIFIER.verify(proof, key)[0] is True
    proof["withheld"][0]["leaf_hash"] = flipped(proof["withheld"][0]["leaf_hash"])
    with pytest.raises(VERIFIER.ProofError):
        VERIFIER.verify(proof, key)


def test_hourly_checkpoint_is_an_audit_row_and_is_skipped_when_nothing_new(busy_item):
    from evidence.tasks import sign_custody_checkpoint

    assert settings_module.CELERY_BEAT_SCHEDULE["sign-custody-checkpoint"]["task"] == (
        "evidence.tasks.sign_custody_checkpoint"
    )
    size = sign_custody_checkpoint()
    first = custody_proof.latest_checkpoint()
    assert first.tree_size == size == first.audit_seq - 1
    assert sign_custody_checkpoint() == size
    assert custody_proof.latest_checkpoint() == first
    assert AuditEvent.objects.filter(action=CHECKPOINT_SIGNED.name).count() == 1
    # The next one covers the first checkpoint's own row.
    user, item, _ = busy_item
    services.item_record_view(actor=user, item=item, via="page")
    assert sign_custody_checkpoint() == first.audit_seq + 1


def _alter_reason(pk):
    """The way someone with table rights could: the append-only trigger off."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute("UPDATE portal_auditevent SET reason = 'edited' WHERE id = %s", [pk])
        cursor.execute("ALTER TABLE portal_auditevent ENABLE TRIGGER audit_append_only")


def test_a_row_altered_after_signing_fails_offline_and_stops_the_hourly_checkpoint(busy_item):
    from evidence.tasks import sign_custody_checkpoint

    user, item, _ = busy_item
    custody_proof.checkpoint_sign(why="test")
    row = custody_of(item=item).first()
    _alter_reason(row.pk)
    # The export still answers (its leaves are kept), but the altered row does not verify.
    proof = custody_proof.item_proof(actor=user, item=item, events=custody_of(item=item))
    with pytest.raises(VERIFIER.ProofError, match=f"row {row.seq}:"):
        VERIFIER.verify(proof, None)
    with pytest.raises(custody_proof.CustodyProofError, match=f"audit row {row.seq} "):
        sign_custody_checkpoint()


def test_kept_leaves_that_no_longer_give_the_signed_root_stop_the_export(busy_item):
    user, item, _ = busy_item
    checkpoint = custody_proof.checkpoint_sign(why="test")
    AuditLeaf.objects.filter(seq=1).update(leaf=b"\x00" * 32)
    with pytest.raises(custody_proof.CustodyProofError, match="no longer gives the root"):
        custody_proof.checkpoint_covering(checkpoint.tree_size)


def test_proof_routes_are_scoped_audited_and_in_the_schema(
    busy_item, make_staff, other_police, signed_in, client
):
    user, item, _ = busy_item
    stranger = signed_in(make_staff(agency=other_police))
    assert stranger.get(reverse("api-evidence-custody-proof", args=[item.pk])).status_code == 404
    assert stranger.get(reverse("evidence:custody_proof", args=[item.pk])).status_code == 404
    mine = signed_in(user)
    response = mine.get(reverse("evidence:custody_proof", args=[item.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert VERIFIER.verify(json.loads(response.content), None)[0] is True
    vias = list(
        AuditEvent.objects.filter(action=CUSTODY_PROOF_EXPORTED.name, target_id=str(item.pk))
        .order_by("seq")
        .values_list("details__via", flat=True)
    )
    assert vias == ["page"]
    page = mine.get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert reverse("evidence:custody_proof", args=[item.pk]) in page
    assert reverse("evidence_public:custody_verifier") in page
    script = client.get(reverse("evidence_public:custody_verifier"))
    assert b"".join(script) == custody_proof.VERIFIER_PATH.read_bytes()
    key = client.get(reverse("evidence_public:custody_key")).content
    assert key == custody_proof.public_key_pem()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/evidence/{item_id}/custody/proof" in schema["paths"]


def test_the_key_is_made_once_kept_private_and_a_new_key_gets_a_new_checkpoint(
    busy_item, settings, tmp_path
):
    settings.CUSTODY_CHECKPOINT_KEY_FILE = tmp_path / "keys" / "checkpoint.key"
    first = custody_proof.public_key_pem()
    assert custody_proof.public_key_pem() == first
    assert (settings.CUSTODY_CHECKPOINT_KEY_FILE.stat().st_mode & 0o777) == 0o600
    user, item, _ = busy_item
    old = custody_proof.item_proof(actor=user, item=item, events=custody_of(item=item))
    settings.CUSTODY_CHECKPOINT_KEY_FILE = tmp_path / "keys" / "rotated.key"
    new = custody_proof.item_proof(actor=user, item=item, events=custody_of(item=item))
    assert new["public_key"] != old["public_key"]
    assert new["checkpoint"]["audit_seq"] > old["checkpoint"]["audit_seq"]
    for proof in (old, new):
        assert VERIFIER.verify(proof, None)[0] is True


def test_the_hourly_checkpoint_on_an_empty_log_signs_nothing():
    from evidence.tasks import sign_custody_checkpoint

    assert not AuditEvent.objects.exists()
    assert sign_custody_checkpoint() == 0
    assert custody_proof.latest_checkpoint() is None


def test_past_the_hourly_allowance_both_routes_answer_429_per_user(
    busy_item, make_staff, signed_in, settings
):
    settings.CUSTODY_PROOF_EXPORTS_PER_HOUR = 2
    user, item, _ = busy_item
    page = reverse("evidence:custody_proof", args=[item.pk])
    api = reverse("api-evidence-custody-proof", args=[item.pk])
    mine = signed_in(user)
    assert mine.get(page).status_code == 200
    assert mine.get(api).status_code == 200
    signed = AuditEvent.objects.filter(action=CHECKPOINT_SIGNED.name).count()

    refused_page = mine.get(page)
    assert refused_page.status_code == 429
    assert int(refused_page["Retry-After"]) > 0
    assert "exported 2 custody proofs this hour" in refused_page.content.decode()
    refused_api = mine.get(api)
    assert refused_api.status_code == 429
    assert int(refused_api["Retry-After"]) > 0
    assert "Try again in" in refused_api.json()["detail"]

    # Refused: no export row, no checkpoint over the log, and the refusal is audited.
    exports = AuditEvent.objects.filter(action=CUSTODY_PROOF_EXPORTED.name, actor=user)
    assert exports.count() == 2
    assert AuditEvent.objects.filter(action=CHECKPOINT_SIGNED.name).count() == signed
    refusals = AuditEvent.objects.filter(action=CUSTODY_PROOF_REFUSED.name, actor=user)
    assert sorted(refusals.values_list("details__via", flat=True)) == ["api", "page"]
    assert set(refusals.values_list("outcome", flat=True)) == {AuditEvent.Outcome.DENIED}

    # The allowance is the user's own: a colleague is not held up by it.
    colleague = signed_in(verified(make_staff(agency=item.agency)))
    assert colleague.get(page).status_code == 200
    assert colleague.get(api).status_code == 200
    assert colleague.get(api).status_code == 429


def _waiting_for_the_tree() -> int:
    """Sessions waiting (not granted) on the custody-tree advisory lock."""
    key = custody_proof._TREE_LOCK_KEY
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_exports_arriving_together_queue_and_share_one_checkpoint(busy_item, make_staff):
    user, item, _ = busy_item
    colleague = verified(make_staff(agency=item.agency))
    before = AuditEvent.objects.filter(action=CHECKPOINT_SIGNED.name).count()
    proofs, errors = {}, []

    def export(actor):
        try:
            proofs[actor.pk] = custody_proof.item_proof_export(actor=actor, item=item, via="api")
        except Exception as exc:  # noqa: BLE001 - reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=export, args=(actor,)) for actor in (user, colleague)]
    # A tree being built elsewhere: this session holds the lock, as an export would.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [custody_proof._TREE_LOCK_KEY])
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while _waiting_for_the_tree() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_for_the_tree() == 2, "both exports should wait for the tree lock"
        assert not proofs and not errors
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(proofs) == 2
    # Both export rows were written before either tree was built: the first export's
    # checkpoint covers the second's row, which reuses it.
    assert AuditEvent.objects.filter(action=CHECKPOINT_SIGNED.name).count() == before + 1
    assert len({p["checkpoint"]["audit_seq"] for p in proofs.values()}) == 1
    for proof in proofs.values():
        assert VERIFIER.verify(proof, None)[0] is True
