"""The CAD webhook, mounted at /api/cad/v1/: a CAD posts each incident (an EIDO JSON subset)
signed with its agency's secret. No session and no bearer token: the HMAC is the credential.

Answers: 401 for an unknown agency, a stale timestamp or a bad signature (the sender is not
shown to be the CAD); 409 for a nonce already used: the signature was good, so this is the
same delivery again (a retry, or a replay by someone who saw it), and a CAD retrying should
send a fresh nonce rather than fix its credentials; 400 naming the field for a message that is
not a usable incident; 429 when a client or an agency sends more than the limits allow.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import cad, webhooks
from devices.models import CadLink
from devices.services import cad as cad_services
from portal import ratelimit

HEADERS = [
    OpenApiParameter(
        webhooks.AGENCY_HEADER, str, location=OpenApiParameter.HEADER, required=True,
        description="The agency's slug, as shown on its CAD settings page.",
    ),
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
        description='Hex HMAC-SHA256 of timestamp + "." + body, keyed with the CAD secret.',
    ),
]  # fmt: skip

ReceivedSerializer = inline_serializer(
    "CadIncidentReceived",
    {
        "incident": serializers.CharField(),
        "case": serializers.CharField(help_text="The case number (the CAD incident id)."),
        "units": serializers.ListField(child=serializers.CharField()),
    },
)
ErrorSerializer = inline_serializer(
    "CadError",
    {"detail": serializers.CharField(), "field": serializers.CharField(required=False)},
)


def _refuse(detail: str, code: int = status.HTTP_401_UNAUTHORIZED) -> Response:
    return Response({"detail": detail}, status=code)


def _too_many(limit: ratelimit.Limit) -> Response:
    response = _refuse("Too many deliveries; retry later.", status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(limit.retry_after)
    return response


class IncidentReceive(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="cad_incident_receive",
        summary="Receive a CAD incident (EIDO JSON subset), signed",
        parameters=HEADERS,
        request=OpenApiTypes.OBJECT,
        responses={
            200: ReceivedSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request):
        # The signature covers the exact bytes, so read them before anything parses the body.
        body = request.body
        now = timezone.now()
        headers = request.headers
        per_client = ratelimit.hit(
            "webhook:client",
            ratelimit.client_key(request),
            settings.WEBHOOK_RATE_PER_CLIENT_PER_MINUTE,
            window_seconds=60,
        )
        if not per_client.allowed:
            return _too_many(per_client)
        link = (
            CadLink.objects.select_related("agency")
            .filter(agency__slug=headers.get(webhooks.AGENCY_HEADER, "").strip())
            .first()
        )
        if link is None:
            return _refuse("Unknown agency, or it has no CAD link.")
        timestamp = headers.get(webhooks.TIMESTAMP_HEADER, "")
        if not webhooks.timestamp_fresh(timestamp, now):
            return _refuse("The timestamp is missing or more than 5 minutes off.")
        secret = cad_services.cad_secret_of(link)
        if not webhooks.signature_ok(
            secret, timestamp, body, headers.get(webhooks.SIGNATURE_HEADER, "")
        ):
            return _refuse("The signature does not match.")
        per_agency = ratelimit.hit(
            "webhook:cad",
            str(link.agency_id),
            settings.WEBHOOK_RATE_PER_SENDER_PER_MINUTE,
            window_seconds=60,
        )
        if not per_agency.allowed:
            return _too_many(per_agency)
        try:
            payload = webhooks.json_body(body)
            incident = cad.incident_parse(payload)
        except ValueError as exc:  # BodyInvalid or CadInvalid: each says what is wrong
            field = getattr(exc, "field", "body")
            detail = str(exc)
            return Response({"detail": detail, "field": field}, status=status.HTTP_400_BAD_REQUEST)
        try:
            # The nonce is spent in the same transaction as the incident is taken: a delivery
            # Canvass cannot take now (no supervisor to lead the case) leaves its nonce unspent,
            # so the CAD's retry of the same delivery is accepted once the agency is set up.
            with transaction.atomic():
                try:
                    cad_services.cad_nonce_use(
                        agency=link.agency, nonce=headers.get(webhooks.NONCE_HEADER, ""), now=now
                    )
                except cad_services.NonceReplayed:
                    return _refuse("This nonce was already used.", status.HTTP_409_CONFLICT)
                except ValidationError:
                    return _refuse("Send a Canvass-Nonce of 1 to 128 characters.")
                row = cad_services.cad_incident_receive(
                    agency=link.agency, incident=incident, payload=payload
                )
        except cad_services.CaseLeadMissing as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except PermissionDenied:
            return _refuse("The agency has no CAD link.")
        return Response(
            {"incident": row.incident_id, "case": row.incident_id, "units": row.units},
            status=status.HTTP_200_OK,
        )
