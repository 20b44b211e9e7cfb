"""Evidence writes: items from finished uploads, and the custody events of reading them."""

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.models import Derivative, EvidenceItem, Source, Upload, UploadGrant
from portal import storage
from portal.audit import audit_record
from portal.storage import new_object_key

DOWNLOAD_SECONDS = 300
_DOWNLOAD_SALT = "canvass.evidence-download"

_FLOW_SOURCE = {
    UploadGrant.Flow.STAFF_UPLOAD: Source.STAFF_UPLOAD,
    UploadGrant.Flow.TIP: Source.TIP,
    UploadGrant.Flow.FOOTAGE_REQUEST: Source.FOOTAGE_REQUEST,
    UploadGrant.Flow.BODYCAM: Source.BODYCAM,
}


def item_create_from_upload(*, upload: Upload, declared_checksum: str = "") -> EvidenceItem:
    """Turn a complete upload into an item in state `received`; processing is queued on commit.

    Called by the upload service inside the transaction that marks the upload complete, so
    the upload and its item commit together. Idempotent: a second call returns the same item.
    """
    existing = EvidenceItem.objects.filter(upload=upload).first()
    if existing is not None:
        return existing
    grant = upload.grant
    uploader = grant.user
    item = EvidenceItem.objects.create(
        agency=grant.agency,
        source=_FLOW_SOURCE[grant.flow],
        source_ref=grant.source_ref,
        upload=upload,
        original_key=new_object_key(f"evidence/{grant.agency.slug}/originals"),
        original_filename=str(upload.metadata.get("filename", ""))[:255],
        declared_type=str(upload.metadata.get("filetype", ""))[:100],
        size=upload.length,
        declared_checksum=declared_checksum[:120],
        state=EvidenceItem.State.RECEIVED,
        uploaded_by=uploader,
        uploaded_by_label=uploader.label
        if uploader
        else upload.metadata.get("uploader", "anonymous"),
        received_at=timezone.now(),
    )
    audit_record(
        action=actions.RECEIVED.name,
        actor=uploader,
        actor_label="" if uploader else item.uploaded_by_label,
        target=item,
        agency=item.agency,
        details={
            "upload": str(upload.id),
            "size": item.size,
            "source": item.source,
            "client_filename": item.original_filename,
            "client_type": item.declared_type,
            "client_checksum": item.declared_checksum,
        },
    )
    transaction.on_commit(lambda: _queue_processing(item.pk))
    return item


def _queue_processing(item_id) -> None:
    from evidence.tasks import process_item

    process_item.delay(str(item_id))


def item_record_view(*, actor, item: EvidenceItem, via: str) -> None:
    """Custody: someone looked at the item (page, API record or custody report)."""
    action = actions.CUSTODY_VIEWED if via == "custody" else actions.VIEWED
    audit_record(
        action=action.name, actor=actor, target=item, agency=item.agency, details={"via": via}
    )


def item_record_play(*, actor, item: EvidenceItem, derivative: Derivative) -> None:
    """Custody: someone started playback (the playlist or proxy was fetched)."""
    audit_record(
        action=actions.PLAYED.name,
        actor=actor,
        target=item,
        agency=item.agency,
        details={"derivative": derivative.name, "sha256": derivative.sha256},
    )


def items_record_list(*, actor, filters: dict, count: int) -> None:
    """Searching the evidence list is an access too."""
    audit_record(
        action=actions.LISTED.name, actor=actor, details={"filters": filters, "rows": count}
    )


def download_url_issue(
    *, actor, item: EvidenceItem, derivative: Derivative | None = None
) -> tuple[str, int]:
    """A short-lived URL for the original (or a derivative), audited as a download.

    On S3 it is a presigned URL; on local storage a signed link to our own download view.
    """
    key = derivative.key if derivative else item.original_key
    name = derivative.name if derivative else (item.original_filename or f"{item.pk}")
    sha256 = derivative.sha256 if derivative else item.sha256
    audit_record(
        action=actions.DOWNLOADED.name,
        actor=actor,
        target=item,
        agency=item.agency,
        details={
            "what": derivative.kind if derivative else "original",
            "name": name,
            "sha256": sha256,
        },
    )
    url = storage.signed_download_url(key, filename=name, seconds=DOWNLOAD_SECONDS)
    if url is None:
        token = signing.dumps({"k": key, "n": name, "u": actor.pk}, salt=_DOWNLOAD_SALT)
        url = reverse("evidence:download", args=[token])
    return url, DOWNLOAD_SECONDS


def download_token_read(*, token: str, actor) -> tuple[str, str]:
    """The (key, filename) a local download link grants, if it is fresh and the same user's."""
    data = signing.loads(token, salt=_DOWNLOAD_SALT, max_age=DOWNLOAD_SECONDS)
    if data.get("u") != actor.pk:
        raise signing.BadSignature("This link was issued to someone else.")
    return data["k"], data["n"]
