"""Signed proof of receipt: what a prosecutor acknowledged, signed with the sharing agency's key.

A receipt is a JSON document of two parts:

    {"receipt": {...what was received, by whom, when...},
     "signature": {"algorithm": "Ed25519", "key_id": "...", "value": "<128 hex digits>"}}

The signature covers the canonical JSON of "receipt" (keys sorted, no spaces, UTF-8), so
a copy re-indented by a text editor still verifies, while any change to what it says does
not. Hex rather than base64 for the signature: base64's padding bits let two different
texts decode to the same bytes; every hex digit counts. Verification needs only the public
key (published per agency, see receipt_views) and no database.
"""

import json
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from evidence.disclosure.packages import iso
from evidence.disclosure.policies import can_view_shared
from evidence.disclosure.selectors import release_of, shared_items
from evidence.disclosure.signing import (
    key_id_of,
    private_key_of,
    public_key_from_hex,
    public_raw,
    signing_key_for,
)
from evidence.models import Share
from evidence.selectors import item_facts_for
from portal.audit import audit_record, register_action
from portal.models import AuditEvent, User

RECEIPT_TYPE = "canvass.share-receipt"
RECEIPT_VERSION = 1
RECEIPT_ISSUED = register_action(
    "share.receipt_issued", "A signed receipt was issued for an acknowledged share"
)
# Far above any real receipt (a few hundred bytes an item); refuses floods on the verify page.
MAX_RECEIPT_BYTES = 2 << 20


class ReceiptError(ValueError):
    """A document that is not a well-formed receipt; the message says what is wrong."""


def canonical(value) -> bytes:
    """The exact bytes a signature covers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _receipt_body(share: Share, key_id: str) -> dict:
    case = share.case
    recipient = share.acknowledged_by
    if recipient is None:  # receipt_issue checked this already; the type checker learns it here
        raise ValueError("The share has not been acknowledged yet.")
    items = shared_items(share=share)  # what the prosecutor could see and acknowledged
    return {
        "type": RECEIPT_TYPE,
        "version": RECEIPT_VERSION,
        "receipt_id": str(uuid.uuid4()),
        "issued_at": iso(timezone.now()),
        "acknowledged_at": iso(share.acknowledged_at),
        "sharing_agency": {"name": case.agency.name, "slug": case.agency.slug},
        "case": {"id": str(case.pk), "number": case.number, "title": case.title},
        "share": {
            "id": str(share.pk),
            "created_at": iso(share.created_at),
            "created_by": share.created_by_label,
            "copies": "redacted copies only" if share.require_redacted else "originals",
        },
        "recipient": {
            "user": recipient.label,
            "user_id": str(recipient.pk),
            "office": share.recipient_agency.name,
            "office_slug": share.recipient_agency.slug,
        },
        # The original's hash always; its file name only where the recipient may see it (a
        # tipster who kept their file's metadata: "" and sealed, see item_facts_for).
        "items": [
            _receipt_item(share, item, item_facts_for(actor=recipient, item=item)) for item in items
        ],
        "hash_algorithm": "SHA-256",
        "key_id": key_id,
    }


def _receipt_item(share: Share, item, facts) -> dict:
    """One item as received. A redacted-only share received no original: its entry names the
    original (by SHA-256, as `original_sha256`) and what was released in its place, the
    redacted copy's hash, its frames' hash and its recipe's, or that the item was withheld."""
    entry: dict = {"id": str(item.pk), "original_filename": facts.original_filename}
    if not share.require_redacted:
        entry.update(size=item.size, sha256=item.sha256)
    else:
        entry["original_sha256"] = item.sha256
        release = release_of(item=item)
        if release["withheld"]:
            entry.update(released_as="withheld", withheld_why=release["why"])
        else:
            entry.update(
                released_as="redacted",
                redacted={
                    "name": release["name"],
                    "media_type": release["media_type"],
                    "size": release["size"],
                    "sha256": release["sha256"],
                    "frame_sha256": release["frame_sha256"],
                },
                recipe={"sha256": release["recipe_sha256"]},
            )
    if facts.identifying_hidden:
        entry["original_sealed"] = True
    return entry


def receipt_for(*, share: Share) -> dict | None:
    """The receipt already issued for the share, as it was signed; None if there is none."""
    event = (
        AuditEvent.objects.filter(
            action=RECEIPT_ISSUED.name, target_type=Share._meta.label_lower, target_id=str(share.pk)
        )
        .order_by("seq")
        .first()
    )
    return event.details["receipt"] if event is not None else None


def _may_receive(actor: User, share: Share) -> bool:
    if not can_view_shared(actor) or actor.agency_id != share.recipient_agency_id:
        return False
    named = share.recipients.all()
    return not named.exists() or named.filter(pk=actor.pk).exists()


@transaction.atomic
def receipt_issue(*, actor: User, share: Share) -> dict:
    """Sign the receipt for an acknowledged share, keep it in the audit log, and return it.

    One receipt per share: asking again returns the same signed document.
    """
    if not _may_receive(actor, share):
        raise PermissionDenied
    # Lock the share row (alone: FOR UPDATE refuses outer joins) so two clicks give one receipt.
    Share.objects.select_for_update().filter(pk=share.pk).values_list("pk").get()
    share = Share.objects.select_related("case__agency", "recipient_agency", "acknowledged_by").get(
        pk=share.pk
    )
    if share.acknowledged_at is None or share.acknowledged_by is None:
        raise ValueError("The share has not been acknowledged yet.")
    existing = receipt_for(share=share)
    if existing is not None:
        return existing
    key = signing_key_for(agency=share.case.agency)
    body = _receipt_body(share, key.key_id)
    document = {
        "receipt": body,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": key.key_id,
            "value": private_key_of(key).sign(canonical(body)).hex(),
        },
    }
    audit_record(
        action=RECEIPT_ISSUED.name,
        actor=actor,
        target=share,
        agency=share.case.agency,
        case_ref=share.case.number,
        details={"share": str(share.pk), "case": str(share.case.pk), "receipt": document},
    )
    return document


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ReceiptError(_("a field appears twice"))
    return dict(pairs)


def receipt_parse(data: bytes | str) -> dict:
    """The receipt document from its file; ReceiptError when it cannot be one."""
    if isinstance(data, bytes):
        if len(data) > MAX_RECEIPT_BYTES:
            raise ReceiptError(_("the file is too large to be a receipt"))
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReceiptError(_("the file is not UTF-8 text")) from exc
    try:
        document = json.loads(data, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise ReceiptError(
            _("not valid JSON (%(error)s at line %(line)s)")
            % {"error": exc.msg, "line": exc.lineno}
        ) from exc
    return _checked_shape(document)


def _checked_shape(document) -> dict:
    if not isinstance(document, dict) or set(document) != {"receipt", "signature"}:
        raise ReceiptError(_("not a Canvass receipt: expected exactly 'receipt' and 'signature'"))
    signature = document["signature"]
    if not isinstance(signature, dict) or set(signature) != {"algorithm", "key_id", "value"}:
        raise ReceiptError(_("the signature part is malformed"))
    if not isinstance(document["receipt"], dict):
        raise ReceiptError(_("the receipt part is malformed"))
    return document


def public_key_load(text: str | bytes) -> Ed25519PublicKey:
    """A public key from 64 hex digits or a PEM block; ValueError otherwise."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return key
    try:
        return public_key_from_hex(text)
    except ValueError as exc:
        raise ValueError("a public key is 64 hex digits or a PEM block") from exc


def receipt_verify(document, public_key) -> tuple[bool, str]:
    """(ok, reason): does the receipt say exactly what the holder of `public_key` signed?

    `document` is the parsed receipt or its text/bytes; `public_key` an Ed25519PublicKey,
    its 64 hex digits or PEM. Needs no database.
    """
    try:
        document = (
            _checked_shape(document) if isinstance(document, dict) else receipt_parse(document)
        )
    except ReceiptError as exc:
        return False, _("invalid: %(reason)s") % {"reason": exc}
    try:
        key = (
            public_key if isinstance(public_key, Ed25519PublicKey) else public_key_load(public_key)
        )
    except ValueError as exc:
        return False, _("invalid: the public key given is unusable (%(error)s)") % {"error": exc}
    receipt, signature = document["receipt"], document["signature"]
    if signature["algorithm"] != "Ed25519":
        return False, _("invalid: unsupported signature algorithm %(algorithm)r") % {
            "algorithm": signature["algorithm"]
        }
    if receipt.get("type") != RECEIPT_TYPE:
        return False, _("invalid: not a Canvass share receipt")
    if receipt.get("key_id") != signature["key_id"]:
        return False, _("invalid: the key id in the receipt and in its signature differ")
    given_id = key_id_of(public_raw(key))
    if signature["key_id"] != given_id:
        return False, _(
            "invalid: signed with key %(signed)r, not with the key given (%(given)s); fetch the "
            "sharing agency's published key"
        ) % {"signed": signature["key_id"], "given": given_id}
    value = signature["value"]
    if not isinstance(value, str) or len(value) != 128:
        return False, _("invalid: the signature is not 128 hex digits")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return False, _("invalid: the signature is not hex")
    if raw.hex() != value:
        # Upper-case digits decode the same; only the exact form that was issued is accepted.
        return False, _("invalid: the signature is not in lower-case hex as issued")
    try:
        key.verify(raw, canonical(receipt))
    except InvalidSignature:
        return False, _(
            "invalid: the signature does not match; the receipt was changed after it was signed"
        )
    agency = receipt.get("sharing_agency", {}).get("name", _("the sharing agency"))
    return True, _(
        "valid: signed by %(agency)s (key %(key)s); %(count)s item(s) received by %(user)s at %(at)s"
    ) % {
        "agency": agency,
        "key": given_id,
        "count": len(receipt.get("items", [])),
        "user": receipt.get("recipient", {}).get("user", "?"),
        "at": receipt.get("acknowledged_at"),
    }
