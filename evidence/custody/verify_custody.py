#!/usr/bin/env python3
"""Check an evidence item's custody proof (custody-proof.json) without Canvass or its database.

    python3 verify_custody.py custody-proof.json [--public-key custody-checkpoint-key.pem]

Python 3.9+ standard library only. The Ed25519 signature is checked when the `cryptography`
package is installed; without it the script says so and still checks every hash and path.

What is checked:
  1. every row's fields, written as canonical JSON, hash to the row's audit hash (with its
     prev_hash) and to its Merkle leaf: SHA-256(0x00 || canonical JSON);
  2. every row's inclusion path (RFC 9162, section 2.1.3.2) leads from that leaf to the
     checkpoint's root, at leaf index seq - 1 of a tree of the checkpoint's size;
  3. the checkpoint (tree size, root, time, key id) is signed by the Ed25519 key;
  4. every row is about this item (its target is the item named in the proof).
Rows the recipient may not read in full ("withheld") are checked for inclusion only.

What is not proven: that these are ALL of the item's rows (only that each one is in the log),
nor that the key is the agency's: compare the key's fingerprint with the one it publishes.

Exit status: 0 all checked and valid; 3 hashes and paths valid but the signature NOT checked
(no `cryptography`); 1 something does not verify; 2 the file cannot be read.
"""

import argparse
import base64
import hashlib
import json
import sys

FORMAT = "canvass-custody-proof"
CHECKPOINT_HEADER = "canvass-custody-checkpoint v1"
ITEM_TARGET_TYPE = "evidence.evidenceitem"
# Every field a row's hash covers, besides prev_hash (see portal/audit.py canonical_json).
ROW_FIELDS = (
    "seq", "at", "actor_id", "actor_label", "actor_role", "actor_agency", "agency_id", "action",
    "target_type", "target_id", "reason", "case_ref", "request_id", "outcome", "details",
)  # fmt: skip


class ProofError(ValueError):
    pass


def canonical_json(fields):
    """The exact text the audit log hashes for a row."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def leaf_hash(canonical):
    return hashlib.sha256(b"\x00" + canonical.encode("utf-8")).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def checkpoint_message(checkpoint):
    """The bytes the checkpoint's signature covers."""
    return (
        f"{CHECKPOINT_HEADER}\n"
        f"tree_size {int(checkpoint['tree_size'])}\n"
        f"root_hash {checkpoint['root_hash']}\n"
        f"signed_at {checkpoint['signed_at']}\n"
        f"key_id {checkpoint['key_id']}\n"
    ).encode()


def _hex32(value, what):
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise ProofError(f"{what} is not hexadecimal") from None
    if len(raw) != 32:
        raise ProofError(f"{what} is not 32 bytes")
    return raw


def root_from_path(index, size, leaf, path):
    """RFC 9162 2.1.3.2: the root an inclusion path gives for leaf `index` of `size` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for step, sibling in enumerate(path):
        p = _hex32(sibling, f"path step {step}")
        if sn == 0:
            raise ProofError("the path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the path is shorter than the tree is deep")
    return r


def check_row(row, item_id, checkpoint, root):
    """One exported row: its hashes, its path, and that it is about the item."""
    fields = row["fields"]
    if set(fields) != set(ROW_FIELDS):
        raise ProofError("its fields are not exactly the hashed fields")
    canonical = canonical_json(fields)
    chained = hashlib.sha256((canonical + "|" + row["prev_hash"]).encode("utf-8")).hexdigest()
    if chained != row["hash"]:
        raise ProofError("its fields and prev_hash do not give its audit hash")
    if row["leaf_index"] != fields["seq"] - 1:
        raise ProofError("its leaf index is not its sequence number less one")
    leaf = leaf_hash(canonical)
    if root_from_path(row["leaf_index"], checkpoint["tree_size"], leaf, row["path"]) != root:
        raise ProofError("its inclusion path does not lead to the checkpoint's root")
    if fields["target_type"] != ITEM_TARGET_TYPE or fields["target_id"] != item_id:
        raise ProofError("it is not about this item")


def check_withheld(row, checkpoint, root):
    """A row shown only by its leaf hash: its inclusion, not its content."""
    leaf = _hex32(row["leaf_hash"], "its leaf hash")
    if root_from_path(row["leaf_index"], checkpoint["tree_size"], leaf, row["path"]) != root:
        raise ProofError("its inclusion path does not lead to the checkpoint's root")


def public_key_raw(text):
    """A 32-byte Ed25519 public key from a PEM (SubjectPublicKeyInfo) or 64 hex digits."""
    text = text.strip()
    if "BEGIN PUBLIC KEY" in text:
        body = "".join(line for line in text.splitlines() if "-----" not in line)
        der = base64.b64decode(body)
        # SubjectPublicKeyInfo for Ed25519 is a fixed 12-byte prefix and the 32-byte key.
        if len(der) != 44 or der[:12] != bytes.fromhex("302a300506032b6570032100"):
            raise ProofError("the public key is not an Ed25519 key")
        return der[12:]
    return _hex32(text, "the public key")


def key_id_of(raw):
    return hashlib.sha256(raw).hexdigest()[:32]


def check_signature(checkpoint, public_raw):
    """True when checked and valid; None when `cryptography` is missing; raises when invalid."""
    if key_id_of(public_raw) != checkpoint["key_id"]:
        raise ProofError("the checkpoint names another key than the one given")
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
    except (TypeError, ValueError):
        raise ProofError("the checkpoint's signature is not base64") from None
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            signature, checkpoint_message(checkpoint)
        )
    except InvalidSignature:
        raise ProofError("the checkpoint's signature is not valid") from None
    return True


def verify(proof, public_key_text=None):
    """Check a loaded proof; returns (signature_checked, report lines); raises ProofError."""
    if proof.get("format") != FORMAT or proof.get("version") != 1:
        raise ProofError("not a canvass-custody-proof version 1")
    item_id = proof["item_id"]
    checkpoint = proof["checkpoint"]
    if not isinstance(checkpoint["tree_size"], int) or checkpoint["tree_size"] < 1:
        raise ProofError("the checkpoint's tree size is not a positive whole number")
    root = _hex32(checkpoint["root_hash"], "the checkpoint's root hash")
    lines = []
    for row in proof["rows"]:
        seq = row.get("fields", {}).get("seq") if isinstance(row, dict) else None
        try:
            check_row(row, item_id, checkpoint, root)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProofError(f"row {seq}: malformed ({exc})") from None
        except ProofError as exc:
            raise ProofError(f"row {seq}: {exc}") from None
        lines.append(f"ok   row {seq} {row['fields']['action']}")
    for row in proof.get("withheld", []):
        try:
            check_withheld(row, checkpoint, root)
        except (KeyError, TypeError) as exc:
            raise ProofError(f"withheld row {row.get('seq')}: malformed ({exc})") from None
        except ProofError as exc:
            raise ProofError(f"withheld row {row.get('seq')}: {exc}") from None
        lines.append(f"ok   row {row['seq']} withheld: in the log; content not shown to you")
    raw = public_key_raw(proof["public_key"])
    if public_key_text:
        given = public_key_raw(public_key_text)
        if given != raw:
            raise ProofError("the proof carries another key than the published one you gave")
    signed = check_signature(checkpoint, raw)
    lines.append(
        f"ok   checkpoint: {checkpoint['tree_size']} rows, root {checkpoint['root_hash']}, "
        f"signed at {checkpoint['signed_at']}"
    )
    if signed:
        lines.append(f"ok   signature by key {key_id_of(raw)} (compare with the published key)")
    else:
        lines.append("NOT CHECKED: the signature (install the `cryptography` package to check it)")
    return bool(signed), lines


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify a Canvass custody proof offline.")
    parser.add_argument("proof", help="custody-proof.json")
    parser.add_argument("--public-key", help="the published key (PEM or hex); else the proof's")
    args = parser.parse_args(argv)
    try:
        with open(args.proof, encoding="utf-8") as handle:
            proof = json.load(handle)
        key_text = None
        if args.public_key:
            with open(args.public_key, encoding="utf-8") as handle:
                key_text = handle.read()
    except (OSError, ValueError) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        signed, lines = verify(proof, key_text)
    except (ProofError, KeyError, TypeError, ValueError, AttributeError) as exc:
        print(f"FAILED: {exc}")
        return 1
    print("\n".join(lines))
    if not signed:
        print("hashes and paths verified; the signature was NOT checked")
        return 3
    print(f"verified: {len(proof['rows'])} row(s) of item {proof['item_id']} are in the signed log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
