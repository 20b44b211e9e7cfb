"""Daily checkpoints anchoring the audit chain: its head, signed, for outsiders to keep.

The hash chain (portal.audit) shows any change to a row, but not a tail cut off cleanly, nor
a log rewritten from some row on with the hashes recomputed: both leave a chain that walks
clean. A checkpoint held outside the database catches both. Every day each agency signs the
chain's head (sequence number, hash, time) with its Ed25519 key and publishes the statement
(portal.checkpoint_views); `manage.py audit_verify --checkpoint FILE` then says whether the
log still reaches that sequence number and still has that hash there.

The chain is one log for the deployment, so every agency signs the same head. The key is the
agency's receipt key (evidence.disclosure.signing, lent through register_checkpoint_signer,
since portal imports no domain app), already published at receipts:public_key; a statement's
"type" (canvass.audit-checkpoint) keeps it from ever reading as a receipt, and a receipt as
one. A checkpoint is a JSON document of two parts, as receipts are:

    {"checkpoint": {"type": "canvass.audit-checkpoint", "version": 1, "agency": {...},
                    "day": "2026-12-04", "seq": 41234, "head_hash": "<64 hex>",
                    "head_at": "...Z", "signed_at": "...Z"},
     "signature": {"algorithm": "Ed25519", "key_id": "...", "public_key": "<64 hex>",
                   "value": "<128 hex>"}}

The signature covers the canonical JSON of "checkpoint" (keys sorted, no spaces, UTF-8).
"""

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.audit_actions import AUDIT_CHECKPOINT_TAKEN
from portal.models import Agency, AuditCheckpoint, AuditEvent

CHECKPOINT_TYPE = "canvass.audit-checkpoint"
CHECKPOINT_VERSION = 1
# Far above any real checkpoint (under 1 KiB); refuses a flood handed to the verifier.
MAX_CHECKPOINT_BYTES = 64 << 10
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


class CheckpointError(ValueError):
    """A document that is not a well-formed checkpoint; the message says what is wrong."""


@dataclass(frozen=True)
class CheckpointSigner:
    """An agency's signing key as the checkpoints need it: its id, public half and sign()."""

    key_id: str
    public_key: str  # 64 hex digits, the raw Ed25519 public key
    sign: Callable[[bytes], bytes]


_signers: list[Callable[[Agency], CheckpointSigner]] = []


def register_checkpoint_signer(fn: Callable[[Agency], CheckpointSigner]) -> None:
    """Name the function giving an agency's signer (evidence does, for its receipt keys)."""
    _signers[:] = [fn]


def checkpoint_signer_for(agency: Agency) -> CheckpointSigner:
    """The agency's signer; ValueError if its key was sealed under another SECRET_KEY."""
    return _signers[0](agency)


def canonical(value) -> bytes:
    """The exact bytes a signature covers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def key_id_of(public_key_hex: str) -> str:
    """The key id receipts use: the first 16 bytes of the raw public key's SHA-256, in hex."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:32]


# --- taking checkpoints --------------------------------------------------------------------


def _take_one(*, agency: Agency, head: Mapping[str, Any], day: dt.date) -> AuditCheckpoint | None:
    signer = checkpoint_signer_for(agency)
    body = {
        "type": CHECKPOINT_TYPE,
        "version": CHECKPOINT_VERSION,
        "agency": {"slug": agency.slug, "name": agency.name},
        "day": day.isoformat(),
        "seq": head["seq"],
        "head_hash": head["hash"],
        "head_at": _iso(head["at"]),
        "signed_at": _iso(timezone.now()),
    }
    signature = signer.sign(canonical(body)).hex()
    try:
        with transaction.atomic():
            checkpoint = AuditCheckpoint.objects.create(
                agency=agency,
                day=day,
                seq=head["seq"],
                head_hash=head["hash"],
                head_at=head["at"],
                signed_at=dt.datetime.fromisoformat(body["signed_at"]),
                key_id=signer.key_id,
                public_key=signer.public_key,
                signature=signature,
                body=body,
            )
            audit_record(
                action=AUDIT_CHECKPOINT_TAKEN.name,
                actor_label="audit checkpoint",
                agency=agency,
                target=checkpoint,
                details={"seq": head["seq"], "head_hash": head["hash"], "key_id": signer.key_id},
            )
    except IntegrityError:
        return None  # another run took this agency's checkpoint for the day a moment ago
    return checkpoint


def audit_checkpoints_take(*, day: dt.date | None = None) -> list[AuditCheckpoint]:
    """Sign the chain's head for every agency without a checkpoint for `day` (today, UTC).

    The head is read once, so every agency signs the same row; appends are serialised to
    commit (portal.audit), so the committed rows are always 1..head and none can appear
    below it later. Each checkpoint's own audit row lands after that head, in the next day's.
    """
    if not _signers:
        raise RuntimeError("No checkpoint signer is registered (the evidence app registers it).")
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash", "at").first()
    if head is None:
        return []  # an empty log has no head to anchor
    day = day or timezone.now().astimezone(dt.UTC).date()
    taken = AuditCheckpoint.objects.filter(day=day).values("agency_id")
    made = []
    for agency in Agency.objects.exclude(pk__in=taken).order_by("pk"):
        checkpoint = _take_one(agency=agency, head=head, day=day)
        if checkpoint is not None:
            made.append(checkpoint)
    return made


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict:
    """The downloadable statement: what was signed, and the signature over it."""
    return {
        "checkpoint": checkpoint.body,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": checkpoint.key_id,
            "public_key": checkpoint.public_key,
            "value": checkpoint.signature,
        },
    }


# --- checking a checkpoint ------------------------------------------------------------------


def checkpoint_parse(data: bytes) -> dict:
    """The checkpoint document in `data`, its shape checked; CheckpointError when it is not one."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"larger than {MAX_CHECKPOINT_BYTES} bytes: not a checkpoint")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"not JSON ({exc})") from exc
    if not isinstance(document, dict) or set(document) != {"checkpoint", "signature"}:
        raise CheckpointError('expected exactly the keys "checkpoint" and "signature"')
    body, signature = document["checkpoint"], document["signature"]
    if not isinstance(body, dict) or body.get("type") != CHECKPOINT_TYPE:
        raise CheckpointError(f'"checkpoint.type" is not {CHECKPOINT_TYPE!r}')
    if body.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"unknown version {body.get('version')!r}")
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise CheckpointError('"checkpoint.seq" is not a positive whole number')
    if not isinstance(body.get("head_hash"), str) or not _HEX64.match(body["head_hash"]):
        raise CheckpointError('"checkpoint.head_hash" is not 64 lower-case hex digits')
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        raise CheckpointError('"signature.algorithm" is not "Ed25519"')
    if not isinstance(signature.get("value"), str) or not _HEX128.match(signature["value"]):
        raise CheckpointError('"signature.value" is not 128 lower-case hex digits')
    return document


def checkpoint_signature_problem(document: dict, public_key_hex: str) -> str:
    """Why the signature does not verify with the key (64 hex digits); "" when it does."""
    try:
        raw = bytes.fromhex(public_key_hex.strip())
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return "the public key is not an Ed25519 key (64 hex digits)"
    try:
        key.verify(bytes.fromhex(document["signature"]["value"]), canonical(document["checkpoint"]))
    except InvalidSignature:
        return (
            "the signature does not match the checkpoint: it was changed, or signed by another key"
        )
    return ""


def checkpoint_chain_problem(body: dict) -> str:
    """How the log differs from what the checkpoint signed; "" when it still holds that head.

    A log ending before the checkpoint's sequence number lost its tail; a different hash at
    that number means the log was rewritten at or before it (a recomputed chain included).
    """
    seq, head_hash = body["seq"], body["head_hash"]
    row = AuditEvent.objects.filter(seq=seq).values("hash").first()
    if row is None:
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        if last < seq:
            return (
                f"TRUNCATED: the log ends at seq {last}, but the checkpoint signed seq {seq}: "
                f"{seq - last} row(s) are missing from the tail"
            )
        return f"MISSING: there is no row at seq {seq}, the head the checkpoint signed"
    if row["hash"] != head_hash:
        return (
            f"REWRITTEN: the row at seq {seq} has hash {row['hash']}, but the checkpoint signed "
            f"{head_hash}: the log was changed at or before seq {seq}"
        )
    return ""
