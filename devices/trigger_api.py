"""The activation-trigger webhook, /api/devices/v1/triggers/: a trigger source (a TASER or
holster-sensor hub, a gunshot detector, a light-bar controller) posts each event, signed with
its own secret. No session and no device credential: the HMAC is the credential.

Answers: 401 for an unknown or revoked source, a stale timestamp or a bad signature; 409 for a
nonce already used (the same delivery again: a retry or a replay); 400 naming the field; 429
when a source or a client sends more than the limits allow.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import webhook_api, webhooks
from devices.api import PointSerializer, Rfc3339Field, TriggerReplySerializer, trigger_reply
from devices.models import TriggerSource
from devices.services import triggers as trigger_services

HEADERS = webhook_api.signed_headers(
    OpenApiParameter(
        webhooks.SOURCE_HEADER,
        str,
        location=OpenApiParameter.HEADER,
        required=True,
        description="The trigger source's id, as shown on the agency's trigger settings page.",
    ),  # fmt: skip
    "source secret",
)

ErrorSerializer = inline_serializer(
    "TriggerError",
    {"detail": serializers.CharField(), "field": serializers.CharField(required=False)},
)


class TriggerDeliverySerializer(serializers.Serializer):
    type = serializers.SlugField(
        max_length=40,
        help_text="taser_armed, holster_draw, light_bar, gunshot, sos, officer_down, watch_me, "
        "or a type the agency added.",
    )
    at = Rfc3339Field(help_text="When it happened, by the source's clock.")
    device = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="",
        help_text="The body camera's serial (the officer wearing it is found from check-out).",
    )  # fmt: skip
    unit = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="",
        help_text="The unit's call sign, when the source knows the car, not the camera.",
    )  # fmt: skip
    location = PointSerializer(required=False, allow_null=True, default=None)
    event_id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")


class TriggerReceive(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="devices_trigger_receive",
        summary="Receive an activation trigger from a trigger source, signed",
        parameters=HEADERS,
        request=TriggerDeliverySerializer,
        responses={
            201: TriggerReplySerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request):
        body = request.body  # the signature covers these exact bytes
        now = timezone.now()
        headers = request.headers
        if too_many := webhook_api.client_over_limit(request):
            return too_many
        source = (
            TriggerSource.objects.select_related("agency")
            .filter(pk=_uuid_or_none(headers.get(webhooks.SOURCE_HEADER, "")))
            .filter(revoked_at__isnull=True)
            .first()
        )
        if source is None:
            return webhook_api.refuse("Unknown or revoked trigger source.")
        timestamp = headers.get(webhooks.TIMESTAMP_HEADER, "")
        if not webhooks.timestamp_fresh(timestamp, now):
            return webhook_api.refuse("The timestamp is missing or more than 5 minutes off.")
        secret = trigger_services.trigger_source_secret(source)
        signature = headers.get(webhooks.SIGNATURE_HEADER, "")
        if not webhooks.signature_ok(secret, timestamp, body, signature):
            return webhook_api.refuse("The signature does not match.")
        if too_many := webhook_api.sender_over_limit("trigger-source", str(source.pk)):
            return too_many
        try:
            payload = webhooks.json_body(body)
        except webhooks.BodyInvalid as exc:
            return webhook_api.refuse(str(exc), status.HTTP_400_BAD_REQUEST, field="body")
        serializer = TriggerDeliverySerializer(data=payload if isinstance(payload, dict) else None)
        if not serializer.is_valid():
            field, messages = next(iter(serializer.errors.items()))
            detail = messages[0] if isinstance(messages, list) else str(messages)
            if isinstance(messages, dict):  # location.lat etc.
                inner, inner_messages = next(iter(messages.items()))
                field, detail = f"{field}.{inner}", str(inner_messages[0])
            return webhook_api.refuse(str(detail), status.HTTP_400_BAD_REQUEST, field=field)
        data = serializer.validated_data
        where = data["location"] or {}
        event = trigger_services.TriggerIn(
            kind=data["type"],
            occurred_at=data["at"],
            device_serial=data["device"].strip(),
            unit=data["unit"],
            lat=where.get("lat"),
            lon=where.get("lon"),
            external_id=data["event_id"],
            payload=payload,
        )
        try:
            with transaction.atomic():
                trigger_services.trigger_nonce_use(
                    source=source, nonce=headers.get(webhooks.NONCE_HEADER, ""), now=now
                )
                trigger = trigger_services.trigger_receive(
                    agency=source.agency, source=source, event=event
                )
        except trigger_services.NonceReplayed:
            return webhook_api.refuse("This nonce was already used.", status.HTTP_409_CONFLICT)
        except ValidationError:
            return webhook_api.refuse(f"Send a {webhooks.NONCE_HEADER} of 1 to 128 characters.")
        except trigger_services.TriggerRefused as exc:
            return webhook_api.refuse(str(exc), status.HTTP_400_BAD_REQUEST, field=exc.field)
        return Response(trigger_reply(trigger), status=status.HTTP_201_CREATED)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None
