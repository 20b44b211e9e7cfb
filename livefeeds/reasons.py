"""What every live view states before it opens: a reason, a case or incident number and a
reason category from the list (body cameras, CCTV cameras and the live wall alike)."""

from django.core.exceptions import ValidationError

from livefeeds.models import REASON_CATEGORIES_OFFERED


def view_reason_checked(reason: str, case_ref: str, reason_category: str) -> tuple[str, str]:
    """The reason and case number of a view, trimmed; ValidationError (by field) without a
    reason, a case or incident number, or a category from the list."""
    reason, case_ref = reason.strip()[:300], case_ref.strip()[:64]
    errors = {}
    if not reason:
        errors["reason"] = "Say why you are watching."
    if not case_ref:
        errors["case_ref"] = "Give the case or incident number."
    if reason_category not in dict(REASON_CATEGORIES_OFFERED):
        errors["reason_category"] = "Choose what kind of need this is."
    if errors:
        raise ValidationError(errors)
    return reason, case_ref


def view_details(
    app: str, stream: str, reason: str, case_ref: str, reason_category: str
) -> dict[str, str]:
    """What the audit rows of a view's start (or its refusal) say about it."""
    return {
        "app": app,
        "stream": stream,
        "reason": reason,
        "reason_category": reason_category,
        "case_ref": case_ref,
    }
