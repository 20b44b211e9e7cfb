"""C2PA provenance of an original: is there a manifest, does it validate, who signed it.

The one module that runs c2pa-python (the C2PA reference SDK, c2pa-rs underneath). It reads
the manifest embedded in the file and checks its signature and its hash bindings to the
content. "Valid" means the file is as its signer made it; whether that signer is trusted is a
separate question, answered only when the agency configures trust anchors (C2PA_TRUST_ANCHORS,
a PEM bundle of root certificates). Nothing is fetched at run time: remote manifests and OCSP
are off.

A check that fails for any reason never stops the item: it ends "unchecked" with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import c2pa
from django.conf import settings

log = logging.getLogger(__name__)

VALID, INVALID, NONE, UNCHECKED = "valid", "invalid", "none", "unchecked"
# A signer missing from the trust list fails c2pa's trust check; we report trust separately.
_UNTRUSTED = "signingCredential.untrusted"
_MAX_ERRORS = 20
_TEXT = 300


@dataclass(frozen=True)
class Provenance:
    """The outcome of one check: a status and what to show about it."""

    status: str
    details: dict = field(default_factory=dict)


def _settings():

    return settings


def sdk_version() -> str:
    return f"c2pa-python {c2pa.sdk_version()}"


def _trust_anchors() -> tuple[str | None, str | None]:
    """(PEM text, problem): the configured anchors, or why they could not be read."""
    path = _settings().C2PA_TRUST_ANCHORS
    if not path:
        return None, None
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"The trust anchors at C2PA_TRUST_ANCHORS could not be read: {exc}"
    if "BEGIN CERTIFICATE" not in text:
        return None, "C2PA_TRUST_ANCHORS holds no PEM certificate."
    return text, None


def _context(anchors: str | None) -> c2pa.Context:
    verify = {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": bool(anchors)}
    config: dict = {"verify": verify}
    if anchors:
        config["trust"] = {"trust_anchors": anchors}
    return c2pa.Context.from_dict(config)


def _short(value) -> str:
    return str(value or "")[:_TEXT]


def _generator(manifest: dict) -> str:
    infos = manifest.get("claim_generator_info") or []
    if infos and isinstance(infos[0], dict):
        first = infos[0]
        return _short(" ".join(str(x) for x in (first.get("name"), first.get("version")) if x))
    return _short(manifest.get("claim_generator"))


def _signer(manifest: dict) -> dict:
    info = manifest.get("signature_info") or {}
    return {
        "common_name": _short(info.get("common_name")),
        "issuer": _short(info.get("issuer")),
        "algorithm": _short(info.get("alg")),
        "serial_number": _short(info.get("cert_serial_number")),
        "signed_at": _short(info.get("time")),
    }


def _failures(results: dict | None) -> list[dict]:
    active = (results or {}).get("activeManifest") or {}
    return [
        {"code": _short(f.get("code")), "explanation": _short(f.get("explanation"))}
        for f in active.get("failure") or []
        if f.get("code") != _UNTRUSTED
    ][:_MAX_ERRORS]


def check(path: Path, media_type: str) -> Provenance:
    """Read and validate the C2PA manifest of the file at `path` (type detected by content)."""
    anchors, trust_problem = _trust_anchors()
    base = {"checked_with": sdk_version(), "trust_anchors_configured": anchors is not None}
    if trust_problem:
        base["trust_problem"] = trust_problem
    try:
        with open(path, "rb") as stream:
            # The library reconciles the given type with the container it finds in the bytes.
            reader = c2pa.Reader(media_type or None, stream, None, _context(anchors))
            with reader:
                state = reader.get_validation_state() or ""
                results = reader.get_validation_results()
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError.ManifestNotFound:
        return Provenance(NONE, base)
    except c2pa.C2paError.NotSupported as exc:
        return Provenance(UNCHECKED, {**base, "reason": f"Not a format C2PA covers: {exc}"[:500]})
    except c2pa.C2paError as exc:
        # The file announces a manifest that cannot be read: as good as a broken seal.
        errors = [{"code": type(exc).__name__.lstrip("_"), "explanation": _short(exc)}]
        return Provenance(INVALID, {**base, "validation_state": "Unreadable", "errors": errors})
    except Exception as exc:  # noqa: BLE001 - a failed check must never stop the item
        log.warning("C2PA check failed: %s", exc.__class__.__name__)
        return Provenance(UNCHECKED, {**base, "reason": f"The check failed: {exc}"[:500]})
    details = {
        **base,
        "validation_state": state,
        "signer": _signer(manifest),
        "claim_generator": _generator(manifest),
        "title": _short(manifest.get("title")),
        "errors": _failures(results),
        # None: no trust list to ask. True/False: whether the signer chains to one of ours.
        "signer_trusted": (state == "Trusted") if anchors else None,
    }
    status = VALID if state in ("Valid", "Trusted") and not details["errors"] else INVALID
    return Provenance(status, details)
