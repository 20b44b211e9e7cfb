"""The CAD webhook, mounted at /api/cad/v1/: a CAD posts each incident (an EIDO JSON subset)
signed with its agency's secret. No session and no bearer token: the HMAC is the credential.

Answers: 401 for an unknown agency, a stale timestamp or a bad signature (the sender is not
shown to be the CAD); 409 for a nonce already used: the signature was good, so this is the
same delivery again (a retry, or a replay by someone who saw it), and a CAD retrying should
send a fresh nonce rather than fix its credentials; 400 naming the field for a message that is
not a usable incident; 429 when a client or an agency sends more than the limits allow.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import cad, webhook_api, webhooks
from devices.models import CadLink
from devices.services import cad as cad_services

HEADERS = webhook_api.signed_headers(
    OpenApiParameter(
        webhooks.AGENCY_HEADER,
        str,
        location=OpenApiParameter.HEADER,
        required=True,
        description="The agency's slug, as shown on its CAD settings page.",
    ),  # fmt: skip
    "CAD secret",
)

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
        if too_many := webhook_api.client_over_limit(request):
            return too_many
        link = (
            CadLink.objects.select_related("agency")
            .filter(agency__slug=headers.get(webhooks.AGENCY_HEADER, "").strip())
            .first()
        )
        if link is None:
            return webhook_api.refuse("Unknown agency, or it has no CAD link.")
        timestamp = headers.get(webhooks.TIMESTAMP_HEADER, "")
        if not webhooks.timestamp_fresh(timestamp, now):
            return webhook_api.refuse("The timestamp is missing or more than 5 minutes off.")
        secret = cad_services.cad_secret_of(link)
        if not webhooks.signature_ok(
            secret, timestamp, body, headers.get(webhooks.SIGNATURE_HEADER, "")
        ):
            return webhook_api.refuse("The signature does not match.")
        if too_many := webhook_api.sender_over_limit("cad", str(link.agency_id)):
            return too_many
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
                    return webhook_api.refuse(
                        "This nonce was already used.", status.HTTP_409_CONFLICT
                    )
                except ValidationError:
                    return webhook_api.refuse("Send a Canvass-Nonce of 1 to 128 characters.")
                row = cad_services.cad_incident_receive(
                    agency=link.agency, incident=incident, payload=payload
                )
        except cad_services.CaseLeadMissing as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except PermissionDenied:
            return webhook_api.refuse("The agency has no CAD link.")
        return Response(
            {"incident": row.incident_id, "case": row.incident_id, "units": row.units},
            status=status.HTTP_200_OK,
        )
