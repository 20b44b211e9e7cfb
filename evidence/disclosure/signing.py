"""Each agency's Ed25519 signing key, for receipts: made on first use, private half sealed.

Where the private key lives, and why: in the database, sealed with AES-256-GCM under a key
derived (HKDF-SHA256) from SECRET_KEY, with the agency and key id as associated data. A
database dump or backup alone does not give the key away, yet every web process of a
deployment (several hosts, S3 for objects, no shared disk) reaches the same key without a
file to copy around, which a 0600 file under DATA_DIR would need. Rotating SECRET_KEY keeps
old keys readable as long as the old value stays in SECRET_KEY_FALLBACKS.
"""

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from evidence.models import SigningKey
from portal.checkpoints import CheckpointSigner
from portal.models import Agency

_SEAL_INFO = b"canvass receipt signing key seal v1"
_SEAL_PREFIX = "v1:"


def key_id_of(public_raw: bytes) -> str:
    """A short fingerprint of a raw public key: the first 16 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


def public_key_from_hex(value: str) -> Ed25519PublicKey:
    """The public key from its 64-hex-digit raw form; ValueError when it is not one."""
    raw = bytes.fromhex(value.strip())
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _seal_keys() -> list[bytes]:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO).derive(
            secret.encode()
        )
        for secret in secrets
    ]


def _seal(private_raw: bytes, aad: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_seal_keys()[0]).encrypt(nonce, private_raw, aad)
    return _SEAL_PREFIX + base64.b64encode(nonce + sealed).decode()


def _unseal(value: str, aad: bytes) -> bytes:
    if not value.startswith(_SEAL_PREFIX):
        raise ValueError("unknown sealing format")
    blob = base64.b64decode(value[len(_SEAL_PREFIX) :])
    for key in _seal_keys():
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
        except InvalidTag:
            continue
    raise ValueError("the signing key cannot be unsealed with SECRET_KEY or its fallbacks")


def _aad(agency_id: int, key_id: str) -> bytes:
    return f"{agency_id}:{key_id}".encode()


def signing_key_for(*, agency: Agency) -> SigningKey:
    """The agency's active key, made on first use (one per agency even under a race)."""
    found = SigningKey.objects.filter(agency=agency, retired_at__isnull=True).first()
    if found is not None:
        return found
    private = Ed25519PrivateKey.generate()
    raw_public = public_raw(private.public_key())
    key_id = key_id_of(raw_public)
    private_raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                agency=agency,
                key_id=key_id,
                public_key=raw_public.hex(),
                private_key_sealed=_seal(private_raw, _aad(agency.pk, key_id)),
            )
    except IntegrityError:
        # Another process made the agency's first key a moment ago: use that one.
        return SigningKey.objects.get(agency=agency, retired_at__isnull=True)


def private_key_of(key: SigningKey) -> Ed25519PrivateKey:
    raw = _unseal(key.private_key_sealed, _aad(key.agency_id, key.key_id))
    return Ed25519PrivateKey.from_private_bytes(raw)


def published_keys(*, agency: Agency):
    """Every key the agency has signed with, active first: old receipts still verify."""
    return SigningKey.objects.filter(agency=agency).order_by(
        F("retired_at").asc(nulls_first=True), "-created_at"
    )


def checkpoint_signer_for(agency: Agency) -> CheckpointSigner:
    """The agency's receipt key, lent to the audit log's daily checkpoints (portal.checkpoints):
    one published key per agency for everything it signs, told apart by each statement's type."""
    key = signing_key_for(agency=agency)
    return CheckpointSigner(key.key_id, key.public_key, private_key_of(key).sign)
