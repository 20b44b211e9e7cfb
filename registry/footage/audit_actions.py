"""Audited actions of footage requests. Rows that reach owners carry `camera_ids` in details."""

from portal.audit import register_action

# details: case_number, reason, camera_ids (list of str), window_start, window_end, status.
FOOTAGE_REQUEST = register_action(
    "registry.footage_request",
    "Camera owners were asked for footage",
    needs_reason=True,
    needs_case=True,
)
FOOTAGE_REQUEST_APPROVED = register_action(
    "registry.footage_request_approved", "A supervisor approved a footage request over the cap"
)
FOOTAGE_REQUEST_REFUSED = register_action(
    "registry.footage_request_refused",
    "A supervisor refused a footage request",
    needs_reason=True,
)
FOOTAGE_REQUEST_SENT = register_action(
    "registry.footage_request_sent", "A footage request was emailed to camera owners"
)
FOOTAGE_REQUEST_ANSWERED = register_action(
    "registry.footage_request_answered", "A camera owner answered a footage request"
)
FOOTAGE_UPLOAD_GRANTED = register_action(
    "registry.footage_upload_granted", "A camera owner was given an upload grant for a request"
)
FOOTAGE_REMINDER_SENT = register_action(
    "registry.footage_reminder_sent", "A footage request reminder was emailed"
)
FOOTAGE_REQUESTS_EXPIRED = register_action(
    "registry.footage_requests_expired", "Unanswered cameras of past-deadline requests expired"
)
FOOTAGE_REQUESTS_LISTED = register_action(
    "registry.footage_requests_listed", "The footage request dashboard was viewed"
)
FOOTAGE_REQUEST_VIEWED = register_action(
    "registry.footage_request_viewed", "A footage request and its evidence list were viewed"
)
# details: recipient (id), kind (request / reminder / resend), error (exception class only).
FOOTAGE_EMAIL_FAILED = register_action(
    "registry.footage_email_failed", "A footage request email to a camera owner could not be sent"
)
FOOTAGE_REQUEST_RESENT = register_action(
    "registry.footage_request_resent", "A failed footage request email was sent again"
)
