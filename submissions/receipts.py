"""Receipts: the one way back to a tip. Shown once, kept only as a deterministic Argon2id hash.

Why deterministic (one site-wide salt) rather than a per-row salt: a tipster returns with the
receipt alone, so the tip must be found by an indexed equality on the hash. A per-row salt
would mean hashing the guess against every tip. The salt is derived from SECRET_KEY, so a
copy of the database without the key cannot be searched at all; with the key, each guess
still costs one Argon2id run against 10^16 (digits) or 7772^6 (words) possibilities.

Cost: m=4 MiB, t=1, p=1 takes ~2 ms on this class of machine (bench/tips.py). The OWASP
password profile (19 MiB, t=2, ~24 ms) would cap the tips line at about 80 submissions per
second per core and make every return request as slow; receipts are not passwords (53+ bits of
server-chosen randomness, never reused, guesses rate-limited), so the lighter profile is the
trade we make. Changing these numbers orphans existing receipts: bump HASH_VERSION and look
up under both.
"""

import re
import secrets
from functools import cache
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from django.utils.crypto import salted_hmac

from submissions.models import ReceiptStyle

HASH_VERSION = "a1"
_MEMORY_KIB = 4096
_TIME_COST = 1
_PARALLELISM = 1
_WORDS = 6
_DIGITS = 16


@cache
def _salt() -> bytes:
    return salted_hmac("canvass.tip-receipt-salt", "argon2id").digest()[:16]


@cache
def wordlist() -> tuple[str, ...]:
    """The EFF long word list (CC BY 3.0) as shipped by xkcdpass, without its four hyphenated
    words (so a receipt survives any spacing or punctuation): 7,772 words, ~77 bits for six."""
    import xkcdpass

    path = Path(xkcdpass.__file__).parent / "static" / "eff-long"
    words = tuple(w.strip() for w in path.read_text().split() if w.strip().isalpha())
    if len(words) < 7700:
        raise RuntimeError(f"The EFF word list has only {len(words)} plain words.")
    return words


def new_receipt(style: str) -> str:
    """A fresh receipt in the agency's style: '1234 5678 9012 3456' or six lowercase words."""
    if style == ReceiptStyle.PASSPHRASE:
        words = wordlist()
        return " ".join(secrets.choice(words) for _ in range(_WORDS))
    digits = "".join(str(secrets.randbelow(10)) for _ in range(_DIGITS))
    return " ".join(digits[i : i + 4] for i in range(0, _DIGITS, 4))


def normalise(receipt: str) -> str:
    """What is hashed: digits without separators, or words lowercased and single-spaced.

    People copy receipts with odd spacing, dashes or capitals; those never make a receipt wrong.
    """
    text = receipt.strip().lower()
    if re.fullmatch(r"[0-9\s\-.]+", text):
        return re.sub(r"[^0-9]", "", text)
    return " ".join(re.findall(r"[a-z]+", text))


def receipt_hash(receipt: str) -> str:
    """The stored, indexed form of a receipt."""
    raw = hash_secret_raw(
        secret=normalise(receipt).encode(),
        salt=_salt(),
        time_cost=_TIME_COST,
        memory_cost=_MEMORY_KIB,
        parallelism=_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    )
    return f"{HASH_VERSION}${raw.hex()}"


def looks_like_receipt(receipt: str) -> bool:
    """Cheap shape check before any hashing: 16 digits, or 6 words."""
    value = normalise(receipt)
    return bool(re.fullmatch(r"[0-9]{16}", value)) or len(value.split()) == _WORDS
