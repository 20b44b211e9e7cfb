"""The evidence store's public writes: what views, tasks and other apps may call.

Items and retention live here; cases and disclosure have services of their own
(`evidence.cases.services`, `evidence.disclosure.services`). Other apps bring files in only
through `upload_grant_issue` (a client uploads, resumably) and `item_ingest_file` (a file made
on the server); they never import `evidence.intake` or `evidence.processing`.
"""

from evidence.services.items import (
    DOWNLOAD_SECONDS,
    EDITABLE_FIELDS,
    download_token_read,
    download_url_issue,
    item_create_from_upload,
    item_metadata_change,
    item_record_media_fetch,
    item_record_view,
    items_record_list,
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
    "DOWNLOAD_SECONDS",
    "EDITABLE_FIELDS",
    "deletion_approve",
    "deletion_refuse",
    "deletion_request",
    "download_token_read",
    "download_url_issue",
    "item_create_from_upload",
    "item_legal_hold_set",
    "item_metadata_change",
    "item_protection",
    "item_record_media_fetch",
    "item_record_view",
    "item_retention_set",
    "items_record_list",
    "retention_apply",
    "retention_category_create",
    "retention_due",
]
