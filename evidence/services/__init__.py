"""The evidence store's public writes: what views, tasks and other apps may call.

Items and retention live here; cases and disclosure have services of their own
(`evidence.cases.services`, `evidence.disclosure.services`); other apps get the few below,
with `case_get_for`, the scoped getter they need before filing into a case. Other apps bring
files in only through `upload_grant_issue` (a client uploads, resumably) and `item_ingest_file`
(a file made on the server); they never import `evidence.intake` or `evidence.processing`.
"""

from evidence.cases.selectors import case_get_for
from evidence.cases.services import (
    can_view_evidence_role,
    case_item_add,
    case_item_link_by_number,
    case_open_for_incident,
)
from evidence.services.intake import (
    GRANT_HEADER,
    MAX_FILES_PER_GRANT,
    MAX_GRANT_TTL,
    UPLOAD_ENDPOINT,
    UploadGrantIssued,
    item_ingest_file,
    item_process_now,
    upload_flow_max_bytes,
    upload_grant_issue,
    upload_grants_revoke,
    uploads_completed_count,
)
from evidence.services.items import (
    DOWNLOAD_SECONDS,
    EDITABLE_FIELDS,
    download_token_read,
    download_url_issue,
    item_clock_shift_in_case,
    item_metadata_change,
    item_record_media_fetch,
    item_record_view,
    item_source_details_set,
    items_record_list,
)
from evidence.services.redaction import (
    draft_sha256,
    redaction_approve,
    redaction_cancel,
    redaction_draft_save,
    redaction_start,
    redaction_track,
)
from evidence.services.retention import (
    deletion_approve,
    deletion_refuse,
    deletion_request,
    item_legal_hold_set,
    item_protection,
    item_retention_set,
    retention_apply,
    retention_category_create,
    retention_due,
)

__all__ = [
    "draft_sha256",
    "redaction_approve",
    "redaction_cancel",
    "redaction_draft_save",
    "redaction_start",
    "redaction_track",
    "item_clock_shift_in_case",
    "can_view_evidence_role",
    "case_get_for",
    "case_item_add",
    "case_item_link_by_number",
    "case_open_for_incident",
    "GRANT_HEADER",
    "MAX_FILES_PER_GRANT",
    "MAX_GRANT_TTL",
    "UPLOAD_ENDPOINT",
    "UploadGrantIssued",
    "item_ingest_file",
    "item_process_now",
    "upload_flow_max_bytes",
    "upload_grant_issue",
    "upload_grants_revoke",
    "uploads_completed_count",
    "DOWNLOAD_SECONDS",
    "EDITABLE_FIELDS",
    "deletion_approve",
    "deletion_refuse",
    "deletion_request",
    "download_token_read",
    "download_url_issue",
    "item_legal_hold_set",
    "item_metadata_change",
    "item_protection",
    "item_record_media_fetch",
    "item_record_view",
    "item_source_details_set",
    "item_retention_set",
    "items_record_list",
    "retention_apply",
    "retention_category_create",
    "retention_due",
]
