"""What the signed webhooks (CAD incidents, activation triggers) share over HTTP: the headers
they document, their refusals, and their rate limits (devices/webhooks.py has the signing)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from devices import webhooks
from portal import ratelimit


def signed_headers(sender: OpenApiParameter, secret: str) -> list[OpenApiParameter]:
    """The sender's own header, then the timestamp, nonce and signature every delivery carries."""
    return [
        sender,
        OpenApiParameter(
            webhooks.TIMESTAMP_HEADER, str, location=OpenApiParameter.HEADER, required=True,
            description="Unix seconds when sent; refused more than 5 minutes from our clock.",
        ),
        OpenApiParameter(
            webhooks.NONCE_HEADER, str, location=OpenApiParameter.HEADER, required=True,
            description="Unique per delivery (1-128 characters); a repeat is refused with 409.",
        ),
        OpenApiParameter(
            webhooks.SIGNATURE_HEADER, str, location=OpenApiParameter.HEADER, required=True,
            description=f'Hex HMAC-SHA256 of timestamp + "." + body, keyed with the {secret}.',
        ),
    ]  # fmt: skip


def refuse(detail: str, code: int = status.HTTP_401_UNAUTHORIZED, **extra: str) -> Response:
    return Response({"detail": detail, **extra}, status=code)


def _over(bucket: str, key: str, per_minute: int) -> Response | None:
    limit = ratelimit.hit(bucket, key, per_minute, window_seconds=60)
    if limit.allowed:
        return None
    response = refuse("Too many deliveries; retry later.", status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(limit.retry_after)
    return response


def client_over_limit(request: Request) -> Response | None:
    """The 429 for a client address past WEBHOOK_RATE_PER_CLIENT_PER_MINUTE, before any work."""
    return _over(
        "webhook:client",
        ratelimit.client_key(request),
        settings.WEBHOOK_RATE_PER_CLIENT_PER_MINUTE,
    )


def sender_over_limit(bucket: str, key: str) -> Response | None:
    """The 429 for an authenticated sender past WEBHOOK_RATE_PER_SENDER_PER_MINUTE."""
    return _over(f"webhook:{bucket}", key, settings.WEBHOOK_RATE_PER_SENDER_PER_MINUTE)
