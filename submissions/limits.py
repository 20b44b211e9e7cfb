"""The tips line's rate limits, by hashed client address (see submissions/abuse.py)."""

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _

from submissions import abuse

_LIMITS = {
    "create": "TIPS_RATE_CREATE_PER_HOUR",
    "nojs_create": "TIPS_RATE_NOJS_PER_HOUR",
    "wrong_receipt": "TIPS_RATE_WRONG_RECEIPTS_PER_HOUR",
    "return_action": "TIPS_RATE_RETURN_ACTIONS_PER_HOUR",
    "challenge": "TIPS_RATE_CHALLENGES_PER_HOUR",
    "geocode": "TIPS_RATE_GEOCODE_PER_HOUR",
}


def _limit(bucket: str) -> int:
    return getattr(settings, _LIMITS[bucket])


def too_many(retry_after: int) -> JsonResponse:
    response = JsonResponse(
        {"detail": _("Too many attempts from this connection. Try again later.")}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(request, bucket: str) -> JsonResponse | None:
    """Count one event; the 429 to send when the hour's allowance is used up, else None."""
    result = abuse.hit(bucket, request.tipster_key, _limit(bucket))
    return None if result.allowed else too_many(result.retry_after)


def refuse_if_limited(request, bucket: str) -> JsonResponse | None:
    """The 429 to send when the allowance is already used up, without counting an event."""
    result = abuse.peek(bucket, request.tipster_key, _limit(bucket))
    return None if result.allowed else too_many(result.retry_after)
