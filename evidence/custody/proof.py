"""Custody verifiable offline: a Merkle tree over the audit log, signed checkpoints, and
per-item proofs that evidence/custody/verify_custody.py checks without the database.

The hash chain (portal.audit) proves the log as a whole, but an item's rows chain to rows
about other items, so an item's custody alone could not be checked. Here every audit row is
also a leaf of an RFC 9162 (Certificate Transparency) Merkle tree, leaf index seq - 1:

    leaf = SHA-256(0x00 || canonical JSON of the row)        (portal.audit.canonical_json)
    node = SHA-256(0x01 || left || right)

Leaves are kept (evidence.models.custody.AuditLeaf) so an export reads 32 bytes a row rather
than re-encoding the whole log; the hourly checkpoint re-derives them all from the rows.
A checkpoint (tree size, root, time, key id) is signed with the deployment's Ed25519 key and
recorded as an audit row itself (audit.checkpoint_signed), hourly and when a proof is made.
A proof gives each of the item's rows with every field its hash covers and its inclusion
path to the checkpoint's root. It proves inclusion, not completeness: a row about the item
that the exporter left out is not detected (a later consistency or per-item index would be).

An export writes its own row before the proof is made, so the latest checkpoint never covers
it and each export signs a new one over the whole log. Two things keep that from being a lever
against the server: a user may export CUSTODY_PROOF_EXPORTS_PER_HOUR proofs an hour (case
packages are not counted: one tree serves a whole package), and trees are built one at a time
across processes (a PostgreSQL advisory lock), so exports arriving together queue, and the
ones after the first reuse the checkpoint the one before them signed.

The key lives in a 0600 PEM file (settings.CUSTODY_CHECKPOINT_KEY_FILE, under DATA_DIR by
default), made on first use; several hosts must share that file (or be given the same one).
"""

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import connection, transaction

from evidence.audit_actions import (
    CHECKPOINT_SIGNED,
    CUSTODY_PROOF_EXPORTED,
    CUSTODY_PROOF_REFUSED,
)
from evidence.custody import verify_custody
from evidence.models import EvidenceItem
from evidence.models.custody import AuditLeaf
from evidence.selectors import ITEM_TARGET_TYPE, custody_details_for, custody_of
from portal import ratelimit
from portal.audit import audit_record, canonical_json
from portal.models import AuditEvent, User

VERIFIER_PATH = Path(verify_custody.__file__)
PUBLIC_KEY_NAME = "custody-checkpoint-key.pem"
# Withheld rows: their details name the file, its time or place, hidden from this reader.
WITHHELD_WHY = (
    "This row's details name the file, its time or place, which you may not see: only its "
    "leaf hash is given, so its place in the log is proven but not its content."
)


# An arbitrary constant naming the custody-tree lock among PostgreSQL advisory locks (the
# audit log's append lock is portal.audit's own, another constant).
_TREE_LOCK_KEY = 0x437573746F647954
_EXPORTS_BUCKET = "custody-proof"
_EXPORTS_WINDOW_SECONDS = 3600


class CustodyProofError(Exception):
    """The log no longer gives the root a checkpoint signed: rows were changed or removed."""


class ProofExportsExceeded(Exception):
    """The user has used up this hour's custody proof exports."""

    def __init__(self, retry_after: int, allowed: int):
        self.retry_after = retry_after
        self.allowed = allowed
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"You have exported {allowed} custody proofs this hour, the most allowed: each one "
            f"signs the whole audit log. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )


# The tree


def leaf_of(event: AuditEvent) -> bytes:
    return verify_custody.leaf_hash(canonical_json(event))


def tree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of the RFC 9162 tree, leaves first, root last.

    Pairing nodes left to right and carrying an odd last node up unchanged gives the same
    tree as RFC 9162's split at the largest power of two below n.
    """
    if not leaves:
        raise ValueError("an empty tree has no root to sign")
    levels = [leaves]
    level = leaves
    while len(level) > 1:
        pairs = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            pairs.append(level[-1])
        levels.append(pairs)
        level = pairs
    return levels


def inclusion_path(levels: list[list[bytes]], index: int) -> list[bytes]:
    """The sibling hashes from leaf `index` up to the root (RFC 9162 inclusion proof)."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index >>= 1
    return path


def _derived_leaves(after: int, upto: int) -> list[bytes]:
    """Leaves of rows after..upto, computed from the rows, which must follow on without gaps.

    Rows are read as plain values (no model instances) and written by the audit log's own
    canonical_json.
    """
    fields = verify_custody.ROW_FIELDS
    rows = (
        AuditEvent.objects.filter(seq__gt=after, seq__lte=upto)
        .order_by("seq")
        .values_list(*fields)
        .iterator(chunk_size=10000)
    )
    leaves: list[bytes] = []
    for values in rows:
        # The row's fields without a model instance; canonical_json reads only these attributes.
        row: Any = SimpleNamespace(**dict(zip(fields, values, strict=True)))
        if row.seq != after + len(leaves) + 1:
            raise CustodyProofError(
                f"the audit log skips from row {after + len(leaves)} to {row.seq}"
            )
        leaves.append(verify_custody.leaf_hash(canonical_json(row)))
    if len(leaves) != upto - after:
        raise CustodyProofError(f"the audit log has {after + len(leaves)} rows, not {upto}")
    return leaves


def _stored_leaves(upto: int) -> list[bytes]:
    """The kept leaves of rows 1..k (k <= upto), the longest run without a gap."""
    leaves: list[bytes] = []
    for seq, leaf in (
        AuditLeaf.objects.filter(seq__lte=upto)
        .order_by("seq")
        .values_list("seq", "leaf")
        .iterator(chunk_size=50000)
    ):
        if seq != len(leaves) + 1:
            break
        leaves.append(bytes(leaf))
    return leaves


def _keep_leaves(first_seq: int, leaves: list[bytes]) -> None:
    AuditLeaf.objects.bulk_create(
        (AuditLeaf(seq=first_seq + n, leaf=leaf) for n, leaf in enumerate(leaves)),
        batch_size=5000,
        ignore_conflicts=True,  # another export kept the same leaves a moment ago
    )


def log_leaves(tree_size: int, *, rederive: bool = False) -> list[bytes]:
    """The leaves of audit rows 1..tree_size: the kept ones, and the rest derived and kept.

    With `rederive`, every leaf is computed again from its row and must equal the kept one:
    a row changed after its leaf was kept is found here (CustodyProofError).
    """
    kept = _stored_leaves(tree_size)
    fresh = _derived_leaves(0 if rederive else len(kept), tree_size)
    if rederive:
        changed = next((n for n, leaf in enumerate(kept) if fresh[n] != leaf), None)
        if changed is not None:
            raise CustodyProofError(f"audit row {changed + 1} no longer gives its kept leaf")
        _keep_leaves(len(kept) + 1, fresh[len(kept) :])
        return fresh
    _keep_leaves(len(kept) + 1, fresh)
    return kept + fresh


# The key


def _key_file() -> Path:
    return Path(settings.CUSTODY_CHECKPOINT_KEY_FILE)


def _write_new_key(path: Path) -> None:
    """A new key, written whole to a temporary file and linked into place only if none is
    there yet, so two processes starting at once end up with the same key."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".custody-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        # Another process linked its key first: keep that one.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        os.unlink(temp)


def signing_key() -> Ed25519PrivateKey:
    """The deployment's checkpoint key, made on first use."""
    path = _key_file()
    if not path.exists():
        _write_new_key(path)
    # _write_new_key writes an Ed25519 key; the loader's type names every kind of key.
    return cast(
        Ed25519PrivateKey, serialization.load_pem_private_key(path.read_bytes(), password=None)
    )


def public_key_pem() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def public_key_raw() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


# Checkpoints


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str
    signed_at: str
    key_id: str
    signature: str
    audit_seq: int

    def as_dict(self) -> dict:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": self.signature,
            "audit_seq": self.audit_seq,
        }


def _checkpoint_of(event: AuditEvent) -> Checkpoint:
    d = event.details
    return Checkpoint(
        d["tree_size"], d["root_hash"], d["signed_at"], d["key_id"], d["signature"], event.seq
    )


def latest_checkpoint() -> Checkpoint | None:
    event = AuditEvent.objects.filter(action=CHECKPOINT_SIGNED.name).order_by("-seq").first()
    return _checkpoint_of(event) if event else None


def _log_size() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


@contextlib.contextmanager
def _one_tree_at_a_time():
    """A transaction holding the custody-tree lock: one tree is built at a time across
    processes, and the others wait here rather than each read and hash the whole log at once.

    A checkpoint's audit row must be the last write inside it: audit_record's append lock is
    then held only until this commits, not while a tree is built. Not to be entered with the
    append lock already held (an audit row written earlier in an open transaction): the
    holder of this lock could then wait on it forever.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TREE_LOCK_KEY])
        yield


def _signed_tree(*, why: str, rederive: bool = False) -> tuple[Checkpoint, list[list[bytes]]]:
    """Sign the tree of every row written so far (in _one_tree_at_a_time), recording the
    checkpoint as an audit row last; the tree's levels are returned for proofs to use."""
    tree_size = _log_size()
    levels = tree_levels(log_leaves(tree_size, rederive=rederive))
    root = levels[-1][0]
    key = signing_key()
    public_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    fields = {
        "tree_size": tree_size,
        "root_hash": root.hex(),
        "signed_at": dt.datetime.now(dt.UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "key_id": verify_custody.key_id_of(public_raw),
    }
    fields["signature"] = base64.b64encode(
        key.sign(verify_custody.checkpoint_message(fields))
    ).decode()
    event = audit_record(
        action=CHECKPOINT_SIGNED.name,
        actor_label="custody checkpoint",
        details={**fields, "why": why},
    )
    return _checkpoint_of(event), levels


def checkpoint_sign(*, why: str, rederive: bool = False) -> Checkpoint:
    """Sign the tree of every row written so far and record the checkpoint as an audit row.

    Rows are appended under a lock held to commit, so the committed rows are always 1..n.
    With `rederive` (hourly), every leaf is computed again from its row first.
    """
    with _one_tree_at_a_time():
        return _signed_tree(why=why, rederive=rederive)[0]


def checkpoint_sign_if_new() -> int:
    """The hourly checkpoint, every leaf re-derived from its row (a changed row stops it);
    none when nothing but the last checkpoint was written since."""
    with _one_tree_at_a_time():
        found = latest_checkpoint()
        if found is None and _log_size() == 0:
            return 0  # an empty log has no root to sign
        if found is not None and _log_size() == found.audit_seq:
            log_leaves(found.tree_size, rederive=True)
            return found.tree_size
        return _signed_tree(why="hourly", rederive=True)[0].tree_size


def checkpoint_covering(seq: int) -> tuple[Checkpoint, list[list[bytes]]]:
    """A checkpoint whose tree holds row `seq`, with the tree rebuilt from the log.

    The latest checkpoint is reused when it covers the row and was signed with the current
    key (after checking that the log still gives its root); otherwise one is signed now. It
    is looked for once this holds the tree lock, so an export that waited for another finds
    the checkpoint that one signed, which covers its row when written before that signing.
    """
    current_key = verify_custody.key_id_of(public_key_raw())
    with _one_tree_at_a_time():
        found = latest_checkpoint()
        # After a key change, old checkpoints still verify with the old key, but a proof
        # carries the current one: sign anew.
        if found is None or found.tree_size < seq or found.key_id != current_key:
            return _signed_tree(why="export")
        levels = tree_levels(log_leaves(found.tree_size))
    if levels[-1][0].hex() != found.root_hash:
        raise CustodyProofError(
            f"the audit log no longer gives the root signed at {found.signed_at}"
        )
    return found, levels


# Proofs


def _row_entry(event: AuditEvent, levels) -> dict:
    return {
        "fields": json.loads(canonical_json(event)),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "leaf_index": event.seq - 1,
        "path": [h.hex() for h in inclusion_path(levels, event.seq - 1)],
    }


def _withheld_entry(event: AuditEvent, levels) -> dict:
    return {
        "seq": event.seq,
        "leaf_index": event.seq - 1,
        "leaf_hash": levels[0][event.seq - 1].hex(),
        "path": [h.hex() for h in inclusion_path(levels, event.seq - 1)],
        "why": WITHHELD_WHY,
    }


def _readable_in_full(*, actor: User, item: EvidenceItem, event: AuditEvent) -> bool:
    details = event.details if isinstance(event.details, dict) else {}
    return custody_details_for(actor=actor, item=item, details=details) == details


def item_proof(*, actor: User, item: EvidenceItem, events, tree=None) -> dict:
    """The custody proof of `events` (the item's rows as `actor` may read them).

    A row whose details `actor` may not read (custody_details_for) is given by its leaf hash
    only: its hashed fields cannot be shown in part without breaking the hash. `tree` is a
    (checkpoint, levels) from checkpoint_covering, to share one tree between several items.
    """
    events = list(events)
    checkpoint, levels = tree or checkpoint_covering(max((e.seq for e in events), default=1))
    rows, withheld = [], []
    for event in events:
        if _readable_in_full(actor=actor, item=item, event=event):
            rows.append(_row_entry(event, levels))
        else:
            withheld.append(_withheld_entry(event, levels))
    return {
        "format": verify_custody.FORMAT,
        "version": 1,
        "item_id": str(item.pk),
        "target_type": ITEM_TARGET_TYPE,
        "leaf_hash": "SHA-256(0x00 || UTF-8 canonical JSON of the row's fields)",
        "node_hash": "SHA-256(0x01 || left || right)",
        "row_hash": "SHA-256(canonical JSON || '|' || prev_hash), the audit log's own chain",
        "checkpoint": checkpoint.as_dict(),
        "public_key": public_key_raw().hex(),
        "rows": rows,
        "withheld": withheld,
        "not_proven": (
            "Completeness: each row given is in the signed log, but rows about the item left "
            "out of this file are not detected."
        ),
    }


def proof_bytes(proof: dict) -> bytes:
    return json.dumps(proof, indent=2, ensure_ascii=False).encode()


def item_proof_record_export(*, actor: User, item: EvidenceItem, via: str) -> None:
    """Custody: the item's proof is being handed out (written first, so the proof holds it)."""
    audit_record(
        action=CUSTODY_PROOF_EXPORTED.name,
        actor=actor,
        target=item,
        agency=item.agency,
        details={"via": via},
    )


def _count_export(*, actor: User, item: EvidenceItem, via: str) -> None:
    """Count one export against the user's hourly allowance; past it, audit the refusal and
    raise ProofExportsExceeded. Keyed by the user's id: the limit is per user, whatever the
    connection or the route."""
    allowed = settings.CUSTODY_PROOF_EXPORTS_PER_HOUR
    limit = ratelimit.hit(
        _EXPORTS_BUCKET, f"u:{actor.pk}", allowed, window_seconds=_EXPORTS_WINDOW_SECONDS
    )
    if limit.allowed:
        return
    audit_record(
        action=CUSTODY_PROOF_REFUSED.name,
        actor=actor,
        target=item,
        agency=item.agency,
        outcome=AuditEvent.Outcome.DENIED,
        details={"via": via, "allowed_per_hour": allowed, "retry_after": limit.retry_after},
    )
    raise ProofExportsExceeded(limit.retry_after, allowed)


def item_proof_export(*, actor: User, item: EvidenceItem, via: str) -> dict:
    """An item (from the scoped getter) as its custody proof: counted against the user's
    hourly allowance (ProofExportsExceeded past it), audited, then proven, so the export's
    own row is among the rows the proof covers."""
    _count_export(actor=actor, item=item, via=via)
    item_proof_record_export(actor=actor, item=item, via=via)
    return item_proof(actor=actor, item=item, events=custody_of(item=item))
