"""Footage request writes, the public API of the package (views, API, tasks, cases call these).

create.py: the agency makes, approves and sends requests (and records its reads);
owner.py: the owner answers through the emailed link (upload, no footage, decline, receipt);
sweep.py: files that arrived, deadlines that passed, reminders due.
"""

from registry.footage.services.create import (
    duration_text,
    footage_request_approve,
    footage_request_create,
    footage_request_record_view,
    footage_request_refuse,
    footage_request_resend,
    footage_requests_record_list,
    link_path,
)
from registry.footage.services.owner import (
    ANSWERS,
    LinkClosed,
    footage_answer,
    footage_receipt_record,
    footage_upload_grant,
    link_state,
    recipient_for_link,
    recipient_open,
)
from registry.footage.services.sweep import footage_requests_sweep, footage_uploads_record

__all__ = [
    "ANSWERS",
    "LinkClosed",
    "duration_text",
    "footage_answer",
    "footage_receipt_record",
    "footage_request_approve",
    "footage_request_create",
    "footage_request_record_view",
    "footage_request_refuse",
    "footage_request_resend",
    "footage_requests_record_list",
    "footage_requests_sweep",
    "footage_upload_grant",
    "footage_uploads_record",
    "link_path",
    "link_state",
    "recipient_for_link",
    "recipient_open",
]
