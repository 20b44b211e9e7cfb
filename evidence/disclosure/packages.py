"""The case package: one streaming ZIP of a case's originals with their proof.

Layout (every name chosen by the server; a user's filename is only ever in the manifest):

    manifest.json      each file's path, size, SHA-256, source, capture time and place
                       (each with where it came from) and the item's custody events
    SHA256SUMS         `sha256sum -c SHA256SUMS` after extracting checks every other file
    custody.html       the chain of custody as a self-contained page
    case.jsonld        the case as a CASE/UCO bundle (evidence.caseuco)
    custody-proof/<item-id>.json    each item's custody rows with every hashed field and a
                       Merkle inclusion path to a signed checkpoint (evidence.custody.proof)
    verify_custody.py  checks those proofs offline: `python3 verify_custody.py
                       custody-proof/<item-id>.json --public-key custody-checkpoint-key.pem`
    custody-checkpoint-key.pem      the public key the checkpoints are signed with
    originals/exhibit-<n>.<ext>     n: the item's exhibit number in the case (zero-padded to
                       three digits; the manifest gives each file's item id and exhibit number;
                       an item no longer in the case keeps its id: originals/<item-id>.<ext>)
    proxies/exhibit-<n>.<kind>.<ext>    (with include_proxies, and always for a sealed original)
    tracks/exhibit-<n>.geojson   the GPS track recorded with an item (a body camera's), RFC 7946:
                       a LineString with each position's time in properties.times and its
                       time on the video in properties.video_seconds (evidence.sources)

Redacted copies only (a share with `require_redacted`, and the defence link made from it): no
original and no playable copy goes in. Each item's original is listed (size, SHA-256,
`released_as`: "redacted" or "withheld") without a path; its releasable redacted copy
(evidence.selectors.releasable_redaction) goes in as `redacted/exhibit-<n>.redacted.<ext>`
(manifest: its SHA-256, frame SHA-256, the recipe's and the original's SHA-256) with the recipe
sidecar as `redacted/exhibit-<n>.recipe.json`. An item without one is listed as withheld.

Identifying metadata (evidence.policies.can_see_identifying_metadata, asked per item for the
person the package is made for): when they may see it (for a tip, the assigned investigator,
or anyone when the tipster chose to share it) the package holds the original byte-exact with
everything the file says about itself, because it is theirs to hand on under their own
responsibility. When they may not, the original stays sealed in the store: the ZIP holds only
the stripped playable copies, the manifest lists the original's size and SHA-256 (so its
integrity can still be proven against the store) marked "sealed", and no file-derived capture
time, place, device detail, GPS track or uploader's file name appears anywhere in the package.

Audience: a package made through a share (a prosecutor's download or the defence link made
from it) tells the recipient only about their own share. Custody events that belong to another
share (other offices' views, plays and downloads) and the other shares themselves are left out.

The ZIP is generated as it is sent (zipstream-ng, ZIP64 past 4 GiB, media stored rather than
deflated): no temporary copy, and memory stays at a few chunks whatever the size. Its length
is known before the first byte, so the response can carry a Content-Length. Each entry's ZIP
CRC-32 is computed with zlib-ng's crc32 (carry-less multiply instructions) rather than zlib's.
"""

import datetime as dt
import hashlib
import json
import mimetypes
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import zipstream.ng
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from zipstream import ZIP_STORED, ZipStream
from zlib_ng import zlib_ng

from evidence import audit_actions
from evidence.custody import proof as custody_proof
from evidence.disclosure.caseuco import case_bundle
from evidence.disclosure.selectors import custody_through_share
from evidence.models import Case, Derivative, EvidenceItem, Share
from evidence.selectors import (
    RELEASE_WITHHELD_REASON,
    custody_details_for,
    custody_of,
    item_facts_for,
    item_track_for,
    releasable_redaction,
)
from portal import storage
from portal.audit import audit_record
from portal.models import AuditEvent, User

# Per-chunk Python overhead is already small at 1 MiB (4 MiB measured no faster in
# bench/package.py). A download holds at most READ_AHEAD + 3 chunks: those queued, the one
# being read and hashed, the one held back and the one being sent.
CHUNK_BYTES = 1 << 20
REDACTED_KINDS = (
    Derivative.Kind.REDACTED_VIDEO,
    Derivative.Kind.REDACTED_IMAGE,
    Derivative.Kind.REDACTION_RECIPE,
)
READ_AHEAD = 2
PROXY_KINDS = (
    Derivative.Kind.PROXY_MP4,
    Derivative.Kind.AUDIO_PROXY,
    Derivative.Kind.IMAGE_PREVIEW,
)
_SAFE_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")

# zipstream-ng computes every entry's CRC-32 with the `crc32` its module imported from zipfile
# (zlib's: about 0.29 CPU seconds per GiB here, in the request's thread beside the send). zlib-ng's
# is the same checksum (same polynomial, same running value) at about 0.07 s per GiB, and like
# zlib's it releases the GIL, so the read-ahead thread's hashing is not held up. zipstream-ng has
# no option for it, so its module's name is pointed at zlib-ng's; tests/evidence/disclosure
# checks that it still is (a zipstream-ng upgrade that stops looking it up there would otherwise
# quietly fall back to the slow one) and that a package's CRCs are right (zipfile.testzip).
zipstream.ng.crc32 = zlib_ng.crc32


class PackageIntegrityError(Exception):
    """A stored file no longer matches its recorded size or SHA-256: the package is abandoned."""


@dataclass(frozen=True)
class PackageFile:
    path: str
    key: str
    size: int
    sha256: str
    media_type: str
    item: EvidenceItem
    derivative: Derivative | None = None
    # What the package says about the original, as its recipient may see it (item_facts_for).
    filename: str = ""
    capture_time: dt.datetime | None = None
    # A sealed original is listed (size, SHA-256) but not put in the ZIP.
    sealed: bool = False
    # Made for the package from the store's records (a GPS track), not read from storage.
    content: bytes | None = None
    # The item's exhibit number in the case, if it is (still) in it.
    exhibit: int | None = None
    # An original listed but kept out of a redacted-only package: "redacted" (its redacted
    # copy and recipe go instead) or "withheld" (nothing of it may be released).
    kept_back: str = ""
    # A redacted copy: the recipe's SHA-256 and the original's, for its manifest entry.
    recipe_sha256: str = ""


def iso(value: dt.datetime | None) -> str | None:
    """UTC, to the microsecond, with a Z: how every time in a package is written."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _extension(filename: str, media_type: str) -> str:
    """From the type detected by content; the sender's extension only when that says nothing."""
    if media_type and media_type != "application/octet-stream":
        guessed = (mimetypes.guess_extension(media_type) or "").lstrip(".")
        if _SAFE_EXTENSION.fullmatch(guessed):
            return guessed
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else ""
    return suffix.lower() if _SAFE_EXTENSION.fullmatch(suffix) else "bin"


def exhibit_name(item: EvidenceItem, exhibits: dict) -> str:
    """The stem of an item's files in the package: its exhibit number, else its id."""
    number = exhibits.get(item.pk)
    return f"exhibit-{number:03d}" if number else str(item.pk)


def package_files(
    *,
    items: Iterable[EvidenceItem],
    include_proxies: bool,
    facts: dict | None = None,
    exhibits: dict | None = None,
    release: dict | None = None,
) -> list[PackageFile]:
    """What the package lists, in order: each original, then (optionally) its playable copies.

    `facts` maps item pk to the recipient's ItemFacts; an item whose identifying metadata is
    hidden from them gets a sealed original (listed, not sent) and always its stripped copies.
    `exhibits` maps item pk to its exhibit number in the case, which names its files.
    `release` (a redacted-only package) maps item pk to its releasable Redaction or None: the
    original is listed (its SHA-256) but not sent, and only the redacted copy and its recipe
    go in; an item without one is listed as withheld, with nothing of it in the ZIP.
    """
    exhibits = exhibits or {}
    files = []
    if release is not None:
        return _redacted_files(items=items, facts=facts, exhibits=exhibits, release=release)
    for item in items:
        stem = exhibit_name(item, exhibits)
        original = _original_file(item, stem, (facts or {}).get(item.pk), exhibits)
        files.append(original)
        if include_proxies or original.sealed:
            for derivative in item.derivatives.filter(kind__in=PROXY_KINDS).order_by("kind"):
                ext = _extension(derivative.name, derivative.media_type)
                path = f"proxies/{stem}.{derivative.kind}.{ext}"
                files.append(
                    PackageFile(
                        path,
                        derivative.key,
                        derivative.size,
                        derivative.sha256,
                        derivative.media_type,
                        item,
                        derivative,
                        filename=path,
                        exhibit=exhibits.get(item.pk),
                    )
                )
    return files


def _original_file(item, stem: str, item_facts, exhibits: dict, **extra) -> PackageFile:
    """An item's original as a package entry, its name and capture time as the recipient may
    see them (`item_facts`), sealed when they may not."""
    if item.state == "deleted" or not item.sha256:
        raise ValueError(f"Item {item.pk} has no stored original to package.")
    ext = _extension(item.original_filename, item.media_type)
    return PackageFile(
        f"originals/{stem}.{ext}",
        item.original_key,
        item.size,
        item.sha256,
        item.media_type,
        item,
        filename=item_facts.original_filename if item_facts else item.original_filename,
        capture_time=item_facts.capture_time if item_facts else item.capture_time,
        sealed=bool(item_facts and item_facts.identifying_hidden),
        exhibit=exhibits.get(item.pk),
        **extra,
    )


def _redacted_files(*, items, facts, exhibits, release) -> list[PackageFile]:
    files = []
    for item in items:
        stem = exhibit_name(item, exhibits)
        redaction = release.get(item.pk)
        kept_back = "redacted" if redaction is not None else "withheld"
        files.append(
            _original_file(item, stem, (facts or {}).get(item.pk), exhibits, kept_back=kept_back)
        )
        if redaction is None:
            continue
        for derivative, suffix in ((redaction.output, "redacted"), (redaction.recipe, "recipe")):
            ext = _extension(derivative.name, derivative.media_type)
            path = f"redacted/{stem}.{suffix}.{ext}"
            files.append(
                PackageFile(
                    path, derivative.key, derivative.size, derivative.sha256,
                    derivative.media_type, item, derivative, filename=path,
                    exhibit=exhibits.get(item.pk), recipe_sha256=redaction.recipe.sha256,
                )
            )  # fmt: skip
    return files


def track_files(
    *, actor: User, items: Iterable[EvidenceItem], exhibits: dict | None = None
) -> list[PackageFile]:
    """Each item's GPS track as the recipient may see it (item_track_for), as a GeoJSON file."""
    exhibits = exhibits or {}
    files = []
    for item in items:
        stem = exhibit_name(item, exhibits)
        track = item_track_for(actor=actor, item=item)
        if track is None:
            continue
        data = json.dumps(track, indent=1, ensure_ascii=False).encode()
        files.append(
            PackageFile(
                f"tracks/{stem}.geojson",
                "",
                len(data),
                hashlib.sha256(data).hexdigest(),
                "application/geo+json",
                item,
                filename=f"{stem}.geojson",
                content=data,
                exhibit=exhibits.get(item.pk),
            )
        )
    return files


def _track_entry(file: PackageFile) -> dict:
    properties = json.loads(file.content or b"{}")["features"][0]["properties"]
    return {
        "path": file.path,
        "role": "gps_track",
        "item_id": str(file.item.pk),
        "exhibit_number": file.exhibit,
        "size": file.size,
        "sha256": file.sha256,
        "media_type": file.media_type,
        "positions": len(properties["times"]),
        "first": properties["times"][0],
        "last": properties["times"][-1],
        "video_started_at": properties["video_started_at"],
    }


def _custody_entry(event: AuditEvent) -> dict:
    return {
        "seq": event.seq,
        "at": iso(event.at),
        "action": event.action,
        "actor": event.actor_label,
        "actor_role": event.actor_role,
        "actor_agency": event.actor_agency,
        "outcome": event.outcome,
        "reason": event.reason,
        "case_ref": event.case_ref,
        "details": event.details,
        "audit_hash": event.hash,
    }


def _file_entry(file: PackageFile, custody: list[dict], facts=None) -> dict:
    item = file.item
    if file.derivative is not None and file.derivative.kind in REDACTED_KINDS:
        return _redacted_entry(file)
    if file.derivative is not None:
        return {
            "path": file.path,
            "role": "proxy",
            "item_id": str(item.pk),
            "exhibit_number": file.exhibit,
            "derivative_kind": file.derivative.kind,
            "size": file.size,
            "sha256": file.sha256,
            "media_type": file.media_type,
            "made_with": file.derivative.command,
            "tool_versions": file.derivative.tool_versions,
            "made_at": iso(file.derivative.created_at),
        }
    location = facts.location if facts else item.location
    place = None
    if location is not None:
        place = {
            "latitude": location.y,
            "longitude": location.x,
            "source": facts.location_source if facts else item.location_source,
        }
    entry = {
        "path": None if file.sealed else file.path,
        "role": "original",
        "item_id": str(item.pk),
        "exhibit_number": file.exhibit,
        "original_filename": file.filename,
        "size": file.size,
        "sha256": file.sha256,
        "media_type": file.media_type,
        "source": item.source,
        "source_label": item.get_source_display(),
        "source_ref": item.source_ref,
        "received_at": iso(item.received_at),
        "received_by": item.uploaded_by_label,
        "capture_time": {
            "value": iso(file.capture_time),
            "source": facts.capture_time_source if facts else item.capture_time_source,
            "confidence": facts.capture_time_confidence if facts else item.capture_time_confidence,
        },
        "capture_place": place,
        "custody": custody,
    }
    if file.kept_back:
        entry["path"] = None
        entry["released_as"] = file.kept_back
        entry["released_why"] = (
            "This package holds redacted copies only: the original stays in the evidence "
            "store; its SHA-256 above is the one recorded when it was received."
            if file.kept_back == "redacted"
            else "Withheld: this package holds redacted copies only, and this item has "
            f"{RELEASE_WITHHELD_REASON}."
        )
    if file.sealed:
        entry["sealed"] = True
        entry["sealed_why"] = (
            "The sender chose not to share what the file says about its time, place and "
            "device: the original stays sealed in the evidence store, byte-exact, and this "
            "package holds copies made without that metadata. The SHA-256 above is the "
            "original's, recorded when it was received."
        )
    return entry


def _redacted_entry(file: PackageFile) -> dict:
    derivative = file.derivative
    if derivative is None:
        raise ValueError(f"{file.path} is not a redacted copy.")
    recipe = derivative.kind == Derivative.Kind.REDACTION_RECIPE
    entry = {
        "path": file.path,
        "role": "redaction_recipe" if recipe else "redacted",
        "item_id": str(file.item.pk),
        "exhibit_number": file.exhibit,
        "derivative_kind": derivative.kind,
        "size": file.size,
        "sha256": file.sha256,
        "media_type": file.media_type,
        "original_sha256": file.item.sha256,
        "made_at": iso(derivative.created_at),
    }
    if not recipe:
        entry["frame_sha256"] = derivative.frame_sha256
        entry["recipe_sha256"] = file.recipe_sha256
        entry["made_with"] = derivative.command
        entry["tool_versions"] = derivative.tool_versions
    return entry


def _shares_touching(
    case: Case, item_ids: set, only: Share | None = None
) -> list[tuple[Share, list[EvidenceItem]]]:
    shares = case.shares.select_related("recipient_agency", "acknowledged_by")
    if only is not None:
        shares = shares.filter(pk=only.pk)
    found = []
    for share in shares.order_by("created_at"):
        shared = [item for item in share.items.all() if item.pk in item_ids]
        if shared:
            found.append((share, shared))
    return found


def _custody_for(*, actor: User, item: EvidenceItem, share: Share | None) -> list[dict]:
    """The item's custody as the package's recipient may read it (through a share: without
    other shares' events), with details that repeat the file's name, time or place dropped
    for those not to see them."""
    events = (
        custody_of(item=item) if share is None else custody_through_share(item=item, share=share)
    )
    entries = []
    for event in events:
        entry = _custody_entry(event)
        entry["details"] = custody_details_for(
            actor=actor, item=item, details=event.details if isinstance(event.details, dict) else {}
        )
        entries.append(entry)
    return entries


def _custody_proof_documents(
    *, actor, items: list[EvidenceItem], share: Share | None
) -> dict[str, bytes]:
    """Per item, the proof of the custody rows the package shows (as the recipient may read
    them), the verifier and the public key: custody that checks without Canvass."""
    events = {
        item.pk: list(
            custody_of(item=item)
            if share is None
            else custody_through_share(item=item, share=share)
        )
        for item in items
    }
    # One checkpoint and one tree for the whole package: the log is read once.
    last = max((e.seq for rows in events.values() for e in rows), default=1)
    tree = custody_proof.checkpoint_covering(last)
    documents = {}
    for item in items:
        proof = custody_proof.item_proof(actor=actor, item=item, events=events[item.pk], tree=tree)
        documents[f"custody-proof/{item.pk}.json"] = custody_proof.proof_bytes(proof)
    documents["verify_custody.py"] = custody_proof.VERIFIER_PATH.read_bytes()
    documents[custody_proof.PUBLIC_KEY_NAME] = custody_proof.public_key_pem()
    return documents


class _ReadAhead:
    """Reads one stored file and SHA-256 hashes it in a thread of its own, a few chunks ahead.

    hashlib and the file reads release the GIL, so this thread's reading and hashing run on
    one core while the request's thread computes the ZIP's CRC-32 and sends the previous chunks
    on another: the download then goes at about the speed of reading and hashing alone
    (bench/package.py). At most READ_AHEAD chunks wait in the queue, so memory stays flat.
    The thread touches no database: the caller checks the hash and writes any audit row.
    """

    def __init__(self, key: str, size: int):
        self.digest = hashlib.sha256()
        self.seen = 0
        self.error: Exception | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(key, size), name="package-read-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, key: str, size: int) -> None:
        try:
            with closing(storage.open_stream(key)) as stream:
                while not self._stop.is_set():
                    chunk = stream.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    self.digest.update(chunk)
                    self.seen += len(chunk)
                    if self.seen > size:  # more bytes than recorded: no need to read on
                        break
                    self._queue.put(chunk)
        except Exception as exc:  # noqa: BLE001 - raised in the request's thread (__iter__)
            self.error = exc
        if not self._stop.is_set():
            self._queue.put(None)

    def __iter__(self) -> Iterator[bytes]:
        """The chunks in order; once exhausted, `digest`, `seen` and `error` are final."""
        while (chunk := self._queue.get()) is not None:
            yield chunk
        self._thread.join()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Stop early (the download was abandoned): the thread ends and closes the file.

        After the stop is set the thread puts at most one more chunk, which the emptied queue
        has room for, so the join below cannot wait on a full queue."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()


def _verified_chunks(file: PackageFile) -> Iterator[bytes]:
    """The stored bytes of one file, re-hashed as they stream.

    The manifest and SHA256SUMS state the hash recorded at intake, so a file whose bytes no
    longer match must never leave in a package that vouches for it: on a mismatch the stream
    is aborted (PackageIntegrityError) and the recipient is left with an unfinished ZIP. The
    last chunk is held back until the hash is checked, so the file itself never arrives whole.
    """
    reader = _ReadAhead(file.key, file.size)
    held = b""
    try:
        for chunk in reader:
            if held:
                yield held
            held = chunk
    finally:
        reader.close()
    found = reader.digest.hexdigest()
    seen = reader.seen
    if seen != file.size or found != file.sha256:
        problem = (
            f"{file.path}: stored bytes do not match the recorded "
            f"{'size' if seen != file.size else 'SHA-256'}"
        )
        audit_record(
            action=audit_actions.INTEGRITY_FAILED.name,
            actor_label="case package",
            target=file.item,
            agency=file.item.agency,
            details={"path": file.path, "problem": problem, "sha256_found": found},
        )
        raise PackageIntegrityError(problem)
    if held:
        yield held


def sha256sums(entries: Iterable[tuple[str, str]]) -> bytes:
    """The `sha256sum` text format: hash, two spaces (text mode), path relative to the root."""
    return "".join(f"{sha}  {path}\n" for path, sha in entries).encode()


class CasePackage:
    """An iterator over the ZIP's bytes, with its exact size and a safe download name."""

    def __init__(self, zip_stream: ZipStream, filename: str, manifest: dict):
        self.size = len(zip_stream)
        self.filename = filename
        self.manifest = manifest
        self._chunks = iter(zip_stream)

    def __iter__(self) -> "CasePackage":
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early (the client went away): the file being read is closed at once."""
        self._chunks.close()


def package_stream(
    *,
    actor: User,
    case: Case,
    items: Iterable[EvidenceItem],
    include_proxies: bool = False,
    share: Share | None = None,
) -> CasePackage:
    """The case package for these items (already scoped to the actor by the caller), as a stream.

    `actor` is who the package is for (a prosecutor, or the prosecutor whose link defence
    counsel uses): identifying metadata follows their policy, item by item. `share` is set
    for a download through a share: the package then speaks of that share only.
    The metadata files are built now (small); the originals are read only as the ZIP is sent.
    """
    items = list(items)
    facts = {item.pk: item_facts_for(actor=actor, item=item) for item in items}
    exhibits = dict(case.case_items.values_list("item_id", "exhibit_number"))
    redacted_only = share is not None and share.require_redacted
    release = (
        {item.pk: releasable_redaction(item=item) for item in items} if redacted_only else None
    )
    files = package_files(
        items=items, include_proxies=include_proxies, facts=facts, exhibits=exhibits,
        release=release,
    )  # fmt: skip
    # A withheld item sends nothing of itself, its GPS track (where it was made) included.
    tracked = [i for i in items if release is None or release.get(i.pk) is not None]
    tracks = track_files(actor=actor, items=tracked, exhibits=exhibits)
    generated_at = timezone.now()
    custody = {item.pk: _custody_for(actor=actor, item=item, share=share) for item in items}
    entries = [
        _file_entry(f, custody[f.item.pk], facts[f.item.pk])
        if f.derivative is None
        else _file_entry(f, [])
        for f in files
    ] + [_track_entry(f) for f in tracks]
    shares = _shares_touching(case, {item.pk for item in items}, only=share)
    labels = {f.item.pk: f.filename for f in files if f.derivative is None}
    context = {
        "case": case,
        "generated_at": generated_at,
        "generated_by": actor.label,
        "entries": entries,
        "custody": [(item, labels[item.pk], custody[item.pk]) for item in items],
        "shares": shares,
        "sealed_count": sum(1 for f in files if f.sealed),
        "redacted_only": redacted_only,
    }
    custody_html = render_to_string("evidence/disclosure/package_custody.html", context).encode()
    jsonld = json.dumps(
        case_bundle(
            case=case, files=files, tracks=tracks, shares=shares, generated_at=generated_at
        ),
        indent=2,
        ensure_ascii=False,
    ).encode()
    proofs = _custody_proof_documents(actor=actor, items=items, share=share)
    manifest: dict[str, Any] = {
        "format": "canvass-case-package",
        "version": 1,
        "generated_at": iso(generated_at),
        "generated_by": actor.label,
        "generated_for_agency": actor.agency.name if actor.agency is not None else "",
        "case": {
            "id": str(case.pk),
            "number": case.number,
            "title": case.title,
            "agency": case.agency.name,
            "status": case.status,
            "incident_time": iso(case.incident_time),
        },
        "hash_algorithm": "SHA-256",
        "files": entries,
        "documents": {
            "custody.html": hashlib.sha256(custody_html).hexdigest(),
            "case.jsonld": hashlib.sha256(jsonld).hexdigest(),
            **{name: hashlib.sha256(data).hexdigest() for name, data in proofs.items()},
        },
    }
    if share is not None:
        manifest["share"] = {
            "id": str(share.pk),
            "recipient_office": share.recipient_agency.name,
            "copies": "redacted copies only" if redacted_only else "originals",
        }
    sent = [f for f in files if not f.sealed and not f.kept_back]
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    sums = sha256sums(
        [
            ("manifest.json", hashlib.sha256(manifest_bytes).hexdigest()),
            ("custody.html", manifest["documents"]["custody.html"]),
            ("case.jsonld", manifest["documents"]["case.jsonld"]),
            *((name, manifest["documents"][name]) for name in proofs),
            *((f.path, f.sha256) for f in sent),
            *((f.path, f.sha256) for f in tracks),
        ]
    )
    # sized: the total length is computed up front (stored entries of known sizes).
    zip_stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    zip_stream.add(manifest_bytes, "manifest.json")
    zip_stream.add(sums, "SHA256SUMS")
    zip_stream.add(custody_html, "custody.html")
    zip_stream.add(jsonld, "case.jsonld")
    for name, data in proofs.items():
        zip_stream.add(data, name)
    for file in sent:
        zip_stream.add(_verified_chunks(file), file.path, size=file.size)
    for file in tracks:
        zip_stream.add(file.content, file.path)
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", case.number).strip("-.") or "case"
    return CasePackage(zip_stream, f"case-{number}-{generated_at:%Y%m%dT%H%M%SZ}.zip", manifest)


def package_released(manifest: dict) -> dict | None:
    """Per item of a redacted-only package (None for any other): the redacted copy's and the
    recipe's SHA-256, for the download's custody rows."""
    if manifest.get("share", {}).get("copies") != "redacted copies only":
        return None
    released: dict[str, dict] = {}
    for entry in manifest["files"]:
        if entry["role"] == "redacted":
            released[entry["item_id"]] = {
                "redacted": {"sha256": entry["sha256"], "frame_sha256": entry["frame_sha256"]},
                "recipe": {"sha256": entry["recipe_sha256"]},
            }
    return released


@transaction.atomic
def package_record_download(
    *,
    actor,
    case: Case,
    items: Iterable[EvidenceItem],
    via: str,
    share: Share | None = None,
    sealed: Iterable = (),
    released: dict | None = None,
) -> None:
    """Custody for a package download: one event per item in it, and one for the case.

    Through a share, every row carries the share's id, so the case's disclosure log has them.
    """
    items = list(items)
    sealed = {str(pk) for pk in sealed}
    details = {"case": str(case.pk), "case_number": case.number, "via": via, "in": "case package"}
    if share is not None:
        details["share"] = str(share.pk)
    for item in items:
        what = (
            "stripped copies (original sealed), downloaded in a case package"
            if str(item.pk) in sealed
            else "original, downloaded in a case package"
        )
        extra: dict[str, Any] = {}
        if released is not None:
            # A redacted-only package: the redacted copy went, or nothing (withheld).
            extra = released.get(str(item.pk), {})
            what = (
                "redacted copy and its recipe, downloaded in a case package"
                if extra.get("redacted")
                else "withheld (no releasable redacted copy): not in the case package"
            )
        audit_record(
            action=(
                audit_actions.RELEASE_WITHHELD
                if released is not None and not extra.get("redacted")
                else audit_actions.DOWNLOADED
            ).name,
            actor=actor,
            target=item,
            agency=item.agency,
            case_ref=case.number,
            details={**details, "what": what, **extra},
        )
    audit_record(
        action="case.package_downloaded",
        actor=actor,
        target=case,
        agency=case.agency,
        case_ref=case.number,
        details={**details, "items": [str(item.pk) for item in items], "sealed": sorted(sealed)},
    )
