"""Secrets sealed at rest: AES-256-GCM under a key derived from SECRET_KEY.

For secrets Canvass must use again in the clear (a webhook's HMAC secret, a camera's RTSP
credentials), so a digest would not do, and a database dump alone must not give them away.
The key is derived with HKDF, with a label (`info`) per kind of secret, and the owner's id is
the associated data (`context`), so a sealed value moved to another row does not open.
SECRET_KEY_FALLBACKS still open values sealed before a SECRET_KEY rotation.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_SEAL_PREFIX = "v1:"


def _seal_keys(info: bytes) -> list[bytes]:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(k.encode())
        for k in keys
    ]


def secret_seal(secret: str, *, info: bytes, context: str) -> str:
    """The secret sealed under SECRET_KEY for this kind (`info`) and owner (`context`)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_seal_keys(info)[0]).encrypt(nonce, secret.encode(), context.encode())
    return _SEAL_PREFIX + base64.b64encode(nonce + sealed).decode()


def secret_unseal(value: str, *, info: bytes, context: str) -> str:
    """The secret back; ValueError if it was sealed for another kind, owner or key."""
    if not value.startswith(_SEAL_PREFIX):
        raise ValueError("unknown sealing format")
    blob = base64.b64decode(value[len(_SEAL_PREFIX) :])
    for key in _seal_keys(info):
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode()).decode()
        except InvalidTag:
            continue
    raise ValueError("the secret cannot be unsealed with SECRET_KEY or its fallbacks")
