"""How other apps bring files into the store: the public face of `evidence.intake`.

Two ways in. A client (a tipster's phone, a camera owner's browser, a body camera) uploads
through the one tus endpoint under a grant: `upload_grant_issue`. A file made on the server (a
clip cut from a live feed, demo footage) goes in with `item_ingest_file`, through the same
grant, upload and custody steps, so it is hashed, audited and processed like any other.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from evidence.intake import grants
from evidence.intake.uploads import upload_append, upload_create
from evidence.models import EvidenceItem, UploadGrant
from evidence.processing import pipeline
from portal.models import Agency

GRANT_HEADER = grants.GRANT_HEADER
UPLOAD_ENDPOINT = "/api/uploads/"
MAX_FILES_PER_GRANT = grants.MAX_FILES_PER_GRANT
MAX_GRANT_TTL = grants.MAX_GRANT_TTL


@dataclass(frozen=True)
class UploadGrantIssued:
    """A new grant and what its client needs; `value` carries the secret, shown only once."""

    grant: UploadGrant
    value: str
    header: str = GRANT_HEADER
    endpoint: str = UPLOAD_ENDPOINT

    def offer(self) -> dict[str, Any]:
        """The grant as the upload APIs hand it to a client."""
        return {
            "id": self.grant.id,
            "header": self.header,
            "value": self.value,
            "max_files": self.grant.max_files,
            "max_file_bytes": self.grant.max_file_bytes,
            "media_types": list(self.grant.media_types),
            "expires_at": self.grant.expires_at,
        }


def upload_grant_issue(
    *,
    agency: Agency,
    flow: str,
    source_ref: str,
    max_files: int,
    max_file_bytes: int,
    media_types: list[str] | tuple[str, ...],
    expires_at: dt.datetime,
    actor_label: str,
    audit_source: dict[str, Any] | None = None,
) -> UploadGrantIssued:
    """Let a client without an account upload files for one source (audited as granted)."""
    grant, secret = grants.grant_create_with_secret(
        agency=agency,
        flow=flow,
        source_ref=source_ref,
        max_files=max_files,
        max_file_bytes=max_file_bytes,
        media_types=media_types,
        expires_at=expires_at,
        actor_label=actor_label,
        audit_source=audit_source,
    )
    return UploadGrantIssued(grant=grant, value=grants.grant_header_value(grant, secret))


def upload_grants_revoke(
    *, flow: str, source_ref: str, actor_label: str, audit_source: dict[str, Any] | None = None
) -> int:
    """Revoke the live grants of one flow and source; finished uploads stay evidence."""
    return grants.grants_revoke_for_source(
        flow=flow, source_ref=source_ref, actor_label=actor_label, audit_source=audit_source
    )


def uploads_completed_count(*, flow: str, source_ref: str) -> int:
    """How many files the grants of one flow and source have delivered."""
    return grants.uploads_completed_for_source(flow=flow, source_ref=source_ref)


def upload_flow_max_bytes(flow: str) -> int:
    """The largest single file the flow takes (UPLOAD_MAX_BYTES_BY_FLOW)."""
    return grants.flow_max_bytes(flow)


def item_ingest_file(
    *, grant: UploadGrant, path: Path, filename: str, media_type: str = ""
) -> EvidenceItem:
    """Put a file made on the server into the store under `grant`, streamed, never held whole.

    The grant's limits apply as to any client; the item is `received` and offered to the media
    workers when this returns, with custody saying which grant brought it.
    """
    size = Path(path).stat().st_size
    metadata = {"filename": filename}
    if media_type:
        metadata["filetype"] = media_type
    upload = upload_create(grant=grant, length=size, metadata=metadata)
    if size:
        with open(path, "rb") as body:
            upload_append(grant=grant, upload_id=upload.id, offset=0, body=body, body_length=size)
    return EvidenceItem.objects.get(upload=upload)


def item_process_now(*, item_id: UUID | str) -> str:
    """Run the media pipeline on an item in this process rather than on a worker (demo data
    and commands); the same steps and custody rows as a worker's run. Returns its state."""
    return pipeline.process(item_id)
