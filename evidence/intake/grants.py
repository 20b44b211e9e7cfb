"""Upload grants: who may write files into the store, how many, how large, and until when."""

import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.intake.errors import UploadRefused
from evidence.models import Upload, UploadGrant
from evidence.policies import can_upload_evidence
from portal.audit import audit_record
from portal.models import Agency
from portal.tokens import token_issue, token_matches

GRANT_HEADER = "Canvass-Upload-Grant"


MAX_FILES_PER_GRANT = 1000


MAX_GRANT_TTL = timedelta(days=30)


STAFF_MEDIA_TYPES = ("video/", "image/", "audio/")


# Browsers and camera exports say this (or nothing) when they do not know a file's type:
# it declares nothing, so it is not held against the grant's types.
_UNDECLARED_TYPES = {"", "application/octet-stream"}


_MEDIA_TYPE_PREFIX = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]*")


def flow_max_bytes(flow: str) -> int:
    """The largest single file the upload flow takes (UPLOAD_MAX_BYTES_BY_FLOW)."""
    return settings.UPLOAD_MAX_BYTES_BY_FLOW[str(flow)]


def _bytes_text(size: int) -> str:
    """'1000 bytes', or '4294967296 bytes (4 GiB)' when a reader needs the unit."""
    return f"{size} bytes ({size / 1024**3:.3g} GiB)" if size >= 1024**3 else f"{size} bytes"


def _validate_grant_limits(
    *, flow: str, max_files: int, max_file_bytes: int, media_types, expires_at: datetime
) -> list[str]:
    if not 1 <= max_files <= MAX_FILES_PER_GRANT:
        raise ValidationError(f"A grant allows from 1 to {MAX_FILES_PER_GRANT} files.")
    limit = flow_max_bytes(flow)
    if not 1 <= max_file_bytes <= limit:
        raise ValidationError(
            f"A {UploadGrant.Flow(flow).label.lower()} grant's file size limit is from 1 to "
            f"{_bytes_text(limit)}."
        )
    types = [str(t).strip().lower() for t in media_types]
    if not types or not all(_MEDIA_TYPE_PREFIX.fullmatch(t) for t in types):
        raise ValidationError("Media types are MIME prefixes such as 'video/' or 'image/jpeg'.")
    now = timezone.now()
    if not now < expires_at <= now + MAX_GRANT_TTL:
        raise ValidationError("A grant expires in the future, at most 30 days from now.")
    return types


def _grant_details(grant: UploadGrant, audit_source: dict | None = None) -> dict:
    return {
        "flow": grant.flow,
        **_audited_source(grant.source_ref, audit_source),
        "max_files": grant.max_files,
        "max_file_bytes": grant.max_file_bytes,
        "media_types": grant.media_types,
        "expires_at": grant.expires_at.isoformat(),
    }


def _audited_source(source_ref: str, audit_source: dict | None) -> dict:
    # What a grant's audit rows say it is for. A flow whose source_ref would single someone
    # out before they have sent anything (a footage request's camera) passes something coarser.
    return {"source_ref": source_ref} if audit_source is None else dict(audit_source)


def grant_create_for_staff(
    *,
    actor,
    max_files: int = 50,
    max_file_bytes: int | None = None,
    media_types: tuple[str, ...] | list[str] = STAFF_MEDIA_TYPES,
    ttl: timedelta = timedelta(hours=12),
) -> UploadGrant:
    """Let a verified investigator's own session upload evidence for their agency."""
    if not can_upload_evidence(actor):
        raise PermissionDenied("Only verified investigators and supervisors upload evidence.")
    if max_file_bytes is None:
        max_file_bytes = flow_max_bytes(UploadGrant.Flow.STAFF_UPLOAD)
    expires_at = timezone.now() + ttl
    types = _validate_grant_limits(
        flow=UploadGrant.Flow.STAFF_UPLOAD,
        max_files=max_files,
        max_file_bytes=max_file_bytes,
        media_types=media_types,
        expires_at=expires_at,
    )
    return _grant_made(
        UploadGrant(
            flow=UploadGrant.Flow.STAFF_UPLOAD,
            agency=actor.agency,
            user=actor,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            media_types=types,
            expires_at=expires_at,
        ),
        audit={"actor": actor},
    )


def grant_create_with_secret(
    *,
    agency: Agency,
    flow: str,
    source_ref: str,
    max_files: int,
    max_file_bytes: int,
    media_types,
    expires_at: datetime,
    actor_label: str,
    audit_source: dict | None = None,
) -> tuple[UploadGrant, str]:
    """A grant carried by a secret instead of a session (tips, footage links, devices).

    Returns the grant and its secret; only the secret's SHA-256 is stored, so this is the one
    time it can be read. The client sends `Canvass-Upload-Grant: <grant id>.<secret>`.
    `audit_source` replaces `{"source_ref": source_ref}` in the audit row (see _audited_source);
    the grant itself, and the evidence received through it, keep the full source_ref.
    """
    types = _validate_grant_limits(
        flow=flow,
        max_files=max_files,
        max_file_bytes=max_file_bytes,
        media_types=media_types,
        expires_at=expires_at,
    )
    secret, secret_digest = token_issue()
    grant = _grant_made(
        UploadGrant(
            flow=UploadGrant.Flow(flow),
            agency=agency,
            secret_hash=secret_digest,
            source_ref=source_ref,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            media_types=types,
            expires_at=expires_at,
        ),
        audit={"actor_label": actor_label},
        audit_source=audit_source,
    )
    return grant, secret


def _grant_made(
    grant: UploadGrant, *, audit: dict, audit_source: dict | None = None
) -> UploadGrant:
    """Save a new grant and its `upload.granted` row in one transaction."""
    with transaction.atomic():
        grant.save(force_insert=True)
        audit_record(
            action=actions.UPLOAD_GRANTED.name,
            target=grant,
            agency=grant.agency,
            details=_grant_details(grant, audit_source),
            **audit,
        )
    return grant


def grant_header_value(grant: UploadGrant, secret: str = "") -> str:
    """What a client puts in the Canvass-Upload-Grant header for this grant."""
    return f"{grant.id}.{secret}" if secret else str(grant.id)


def grants_revoke_for_source(
    *, flow: str, source_ref: str, actor_label: str, audit_source: dict | None = None
) -> int:
    """Revoke the live secret-bearing grants of one flow and source (a new one replaces them).

    Uploads already complete stay evidence; unfinished ones under these grants stop.
    """
    with transaction.atomic():
        revoked = list(
            UploadGrant.objects.filter(
                flow=flow,
                source_ref=source_ref,
                user__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).select_for_update()
        )
        if revoked:
            UploadGrant.objects.filter(pk__in=[g.pk for g in revoked]).update(
                revoked_at=timezone.now()
            )
            audit_record(
                action=actions.UPLOAD_GRANTS_REVOKED.name,
                actor_label=actor_label,
                agency=revoked[0].agency,
                details={
                    "grants": [str(g.pk) for g in revoked],
                    **_audited_source(source_ref, audit_source),
                },
            )
    return len(revoked)


def uploads_completed_for_source(*, flow: str, source_ref: str) -> int:
    """How many files the grants of one flow and source have delivered, across all grants."""
    return Upload.objects.filter(
        grant__flow=flow, grant__source_ref=source_ref, state=Upload.State.COMPLETE
    ).count()


def _grant_is_live(grant: UploadGrant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


def _staff_may_use(user, grant: UploadGrant) -> bool:
    # Checked on every request, so a role change or a lost second factor stops uploads at once.
    return (
        grant.user_id is not None
        and getattr(user, "pk", None) == grant.user_id
        and user.agency_id == grant.agency_id
        and can_upload_evidence(user)
    )


def grant_header_id(request) -> uuid.UUID | None:
    """The grant id the Canvass-Upload-Grant header names, if it names one (no query)."""
    grant_id = request.headers.get(GRANT_HEADER, "").strip().partition(".")[0]
    try:
        return uuid.UUID(grant_id)
    except ValueError:
        return None


def grant_from_header(request, *, known: UploadGrant | None = None) -> UploadGrant | None:
    """The live grant the request's Canvass-Upload-Grant header names, or None.

    `<grant id>` is a staff-session grant: the signed-in, verified user must be its owner.
    `<grant id>.<secret>` is a secret-bearing grant. Unknown, expired, revoked, someone else's
    or a wrong secret all give None alike, so a caller cannot tell them apart. `known` is a
    grant the caller has just read from the database (an upload's own): when the header names
    it, it is checked as it is instead of being read again.
    """
    grant_uuid = grant_header_id(request)
    if grant_uuid is None:
        return None
    secret = request.headers.get(GRANT_HEADER, "").strip().partition(".")[2]
    if known is not None and known.pk == grant_uuid:
        grant: UploadGrant | None = known
    else:
        # No select_related: every PATCH comes through here, and the agency row carries its
        # jurisdiction polygon, which is costly to load and not needed to check a grant.
        grant = UploadGrant.objects.filter(pk=grant_uuid).first()
    if grant is None or not _grant_is_live(grant, timezone.now()):
        return None
    if grant.secret_hash:
        usable = token_matches(secret, grant.secret_hash)
    else:
        usable = not secret and _staff_may_use(request.user, grant)
    return grant if usable else None


def _claim_file_slot(grant: UploadGrant) -> None:
    # One conditional UPDATE, so concurrent creations can never start more than max_files.
    claimed = UploadGrant.objects.filter(
        pk=grant.pk,
        files_started__lt=F("max_files"),
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(files_started=F("files_started") + 1)
    if not claimed:
        raise UploadRefused(
            f"This upload grant allows {grant.max_files} file(s) and all of them have been "
            "started. Ask for a new grant to upload more."
        )
