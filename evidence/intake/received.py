"""The last step of intake: a finished upload becomes an evidence item, `received`."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from evidence import audit_actions as actions
from evidence import policies, queue, sources
from evidence.cases import selectors as case_selectors
from evidence.cases import services as case_services
from evidence.intake.errors import UploadInvalid
from evidence.models import (
    EvidenceItem,
    Source,
    Upload,
    UploadGrant,
)
from portal.audit import audit_record
from portal.storage import new_object_key

log = logging.getLogger(__name__)

# The tus metadata key under which the staff upload page names the case to file into.
CASE_METADATA_KEY = "case"

_FLOW_SOURCE: dict[str, str] = {
    UploadGrant.Flow.STAFF_UPLOAD: Source.STAFF_UPLOAD,
    UploadGrant.Flow.TIP: Source.TIP,
    UploadGrant.Flow.FOOTAGE_REQUEST: Source.FOOTAGE_REQUEST,
    UploadGrant.Flow.BODYCAM: Source.BODYCAM,
    UploadGrant.Flow.LIVE_CLIP: Source.LIVE_CLIP,
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
        uploaded_by_label=uploader.label if uploader else _grant_label(grant),
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
            **_received_filename(item),
            "client_type": item.declared_type,
            "client_checksum": item.declared_checksum,
        },
    )
    sources.item_received_tell(item)
    _file_into_chosen_case(item, grant, upload)
    transaction.on_commit(lambda: queue.item_processing_queue(item.pk), robust=True)
    return item


def _file_into_chosen_case(item: EvidenceItem, grant: UploadGrant, upload: Upload) -> None:
    """File a staff upload into the case chosen on the upload page. The item is kept whatever
    happens here: a case that can no longer take it (closed, or the uploader taken off it
    since the upload began) leaves the item out of the case, in its own savepoint."""
    case_id = upload.metadata.get(CASE_METADATA_KEY)
    if not case_id or grant.flow != UploadGrant.Flow.STAFF_UPLOAD or grant.user is None:
        return
    try:
        with transaction.atomic():
            case = case_selectors.case_for_upload(uploader=grant.user, id=case_id)
            case_services.case_item_file_from_upload(uploader=grant.user, case=case, item=item)
    except (Http404, PermissionDenied, ValidationError):
        log.warning("Item %s was not filed into case %s: it no longer can be", item.pk, case_id)


def check_chosen_case(grant: UploadGrant, metadata: dict[str, str]) -> None:
    """Refuse, before any byte, an upload naming a case its uploader may not add to."""
    case_id = metadata.get(CASE_METADATA_KEY)
    if not case_id:
        return
    if grant.flow != UploadGrant.Flow.STAFF_UPLOAD or grant.user is None:
        raise UploadInvalid("Only a staff upload can be filed into a case.")
    try:
        case_selectors.case_for_upload(uploader=grant.user, id=case_id)
    except Http404 as exc:
        raise UploadInvalid(
            "That case is not one of your open cases: choose another case, or none."
        ) from exc


def _received_filename(item: EvidenceItem) -> dict:
    # The audit log outlives any policy change and is read by people the sender never chose:
    # when the sender did not share file details, the name stays on the item (where the
    # metadata policy guards it) and the received row only says it was withheld. Custody is
    # intact: the row still names the upload, size and checksums.
    if policies.metadata_sealed_at_source(item):
        return {"client_filename_withheld": True}
    return {"client_filename": item.original_filename}


def _grant_label(grant: UploadGrant) -> str:
    # Never the client's own words: a custody label is ours to write.
    ref = f" {grant.source_ref}" if grant.source_ref else ""
    return f"{grant.get_flow_display()}{ref} (upload grant {grant.pk})"
