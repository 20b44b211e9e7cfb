"""The tips API for native apps and the tip page's script: no account, no cookies.

A tipster is known only by the receipt, sent back in the `Canvass-Receipt` header. Every
endpoint here is public, so none uses session authentication (and so none needs CSRF): abuse
is held off by ALTCHA proof-of-work on creation and by hashed-address rate limits (429 with
Retry-After). Errors are JSON `{"detail": ...}`.
"""

import datetime as dt
import zoneinfo

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import geocoding
from portal.models import Agency
from portal.text import CleanTextSerializerMixin
from submissions import abuse, selectors, services
from submissions.forms import CHOOSE_CATEGORY, SAY_WHAT_HAPPENED, SAY_WHEN
from submissions.limits import rate_limited, refuse_if_limited
from submissions.models import Tip, TipCategory, TipMessage

RECEIPT_HEADER = "Canvass-Receipt"
WRONG_RECEIPT = "That receipt does not open a tip. Check it and try again."


# What a returning tipster is told (services.public_status); named in the OpenAPI schema as
# TipPublicStatusEnum (settings.SPECTACULAR_SETTINGS), apart from the staff side's statuses.
PUBLIC_STATUSES = ("received", "under_review", "closed")


class PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        # A body over DATA_UPLOAD_MAX_MEMORY_SIZE: say so in JSON, not a bare HTML 400.
        if isinstance(exc, RequestDataTooBig):
            return _error(
                _(
                    "This request is too large. Text is limited to a few thousand characters; "
                    "photos and videos are sent as files after the tip."
                ),
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return super().handle_exception(exc)


def _error(message: str, code: int = 400) -> Response:
    return Response({"detail": str(message)}, status=code)


def _first_error(errors) -> str:
    if isinstance(errors, dict):
        for field, value in errors.items():
            text = _first_error(value)
            return text if field == "non_field_errors" else f"{field}: {text}"
    if isinstance(errors, list) and errors:
        return _first_error(errors[0])
    return str(errors)


def _invalid(serializer) -> Response:
    return Response(
        {"detail": _first_error(serializer.errors), "errors": serializer.errors}, status=400
    )


def aware_in_agency_zone(value: dt.datetime, agency: Agency) -> dt.datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value, zoneinfo.ZoneInfo(agency.time_zone))
    return value


# --- serializers --------------------------------------------------------------------------


class GrantOfferSerializer(serializers.Serializer):
    endpoint = serializers.CharField(help_text="The tus creation URL.")
    header = serializers.CharField(help_text="The request header that carries the grant.")
    grant = serializers.CharField(help_text="The header's value.")
    max_files = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()
    media_types = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()


class TipCreateSerializer(CleanTextSerializerMixin, serializers.Serializer):
    agency = serializers.SlugField(max_length=60)
    category = serializers.SlugField(
        max_length=60,
        error_messages={"required": CHOOSE_CATEGORY, "blank": CHOOSE_CATEGORY},
    )
    description = serializers.CharField(
        max_length=services.MAX_DESCRIPTION,
        trim_whitespace=True,
        error_messages={"required": SAY_WHAT_HAPPENED, "blank": SAY_WHAT_HAPPENED},
    )
    occurred_at = serializers.CharField(
        max_length=40,
        error_messages={"required": SAY_WHEN, "blank": SAY_WHEN},
        help_text="ISO 8601; without an offset it is read in the agency's time zone.",
    )
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    longitude = serializers.FloatField(
        required=False, allow_null=True, min_value=-180, max_value=180
    )
    address = serializers.CharField(
        required=False, allow_blank=True, max_length=services.MAX_ADDRESS
    )
    contact = serializers.CharField(
        required=False, allow_blank=True, max_length=services.MAX_CONTACT
    )
    share_file_metadata = serializers.BooleanField(
        help_text="May investigators beyond the assigned one see time and place stored in files?"
    )
    altcha = serializers.CharField(
        max_length=4000, help_text="The solved ALTCHA challenge (base64 payload)."
    )

    def validate_occurred_at(self, value):
        try:
            # ValueError: well formed but no such time (30 February, year 0, offset +99:00).
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise serializers.ValidationError(
                _("Give the time as ISO 8601, e.g. 2025-05-01T14:30.")
            )
        try:
            return services.occurred_at_checked(parsed)
        except ValidationError as error:
            raise serializers.ValidationError(error.messages) from error


class TipCreatedSerializer(serializers.Serializer):
    tip = serializers.CharField(help_text="The tip's public reference.")
    receipt = serializers.CharField(help_text="Shown once; the only way back to the tip.")
    upload = GrantOfferSerializer()


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = TipMessage
        fields = ["direction", "body", "created_at"]


class MineSerializer(serializers.Serializer):
    tip = serializers.CharField(source="reference")
    status = serializers.ChoiceField(choices=PUBLIC_STATUSES)
    message = serializers.CharField(source="public_message", allow_blank=True)
    category = serializers.CharField(source="category.name")
    received_at = serializers.DateTimeField()
    messages = MessageSerializer(many=True)


class MessageCreateSerializer(CleanTextSerializerMixin, serializers.Serializer):
    body = serializers.CharField(max_length=services.MAX_MESSAGE)


# --- views --------------------------------------------------------------------------------


class ChallengeView(PublicAPIView):
    """A fresh ALTCHA proof-of-work challenge for the next tip."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "AltchaChallenge",
                {"parameters": serializers.DictField(), "signature": serializers.CharField()},
            )
        }
    )
    def get(self, request):
        limited = rate_limited(request, "challenge")
        if limited:
            return limited
        response = Response(abuse.challenge_create())
        response["Cache-Control"] = "no-store"
        return response


class CategoriesView(PublicAPIView):
    """The agency's tip categories and the limits its tips line sets."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "TipAgency",
                {
                    "agency": serializers.CharField(),
                    "name": serializers.CharField(),
                    "time_zone": serializers.CharField(),
                    "receipt_style": serializers.CharField(),
                    "max_file_bytes": serializers.IntegerField(),
                    "results": inline_serializer(
                        "TipCategoryItem",
                        {"slug": serializers.CharField(), "name": serializers.CharField()},
                        many=True,
                    ),
                },
            )
        }
    )
    def get(self, request, slug):
        agency = get_object_or_404(Agency, slug=slug, kind="police")
        tip_settings = selectors.settings_for(agency)
        categories = TipCategory.objects.filter(agency=agency, active=True)
        return Response(
            {
                "agency": agency.slug,
                "name": agency.name,
                "time_zone": agency.time_zone,
                "receipt_style": tip_settings.receipt_style,
                "max_file_bytes": tip_settings.max_file_bytes,
                "results": [{"slug": c.slug, "name": str(c)} for c in categories],
            }
        )


class TipCreateView(PublicAPIView):
    """Send an anonymous tip. The receipt in the answer is shown once and never again."""

    @extend_schema(request=TipCreateSerializer, responses={201: TipCreatedSerializer})
    def post(self, request):
        limited = rate_limited(request, "create")
        if limited:
            return limited
        asked = TipCreateSerializer(data=request.data)
        if not asked.is_valid():
            return _invalid(asked)
        data = asked.validated_data
        # The category, its agency and the agency's tips settings in one query (the agency's
        # boundary, which can be large, is not needed here).
        category = (
            TipCategory.objects.select_related("agency", "agency__tip_settings")
            .defer("agency__jurisdiction")
            .filter(
                agency__slug=data["agency"],
                agency__kind="police",
                slug=data["category"],
                active=True,
            )
            .first()
        )
        if category is None:
            if not Agency.objects.filter(slug=data["agency"], kind="police").exists():
                return _error(_("No such agency."), 404)
            return _error(_("Choose one of this agency's categories."))
        agency = category.agency
        try:
            abuse.pow_spend(data["altcha"])
        except abuse.PowRefused as refused:
            return _error(str(refused), 403)
        try:
            new = services.tip_create(
                agency=agency,
                category=category,
                description=data["description"],
                occurred_at=aware_in_agency_zone(data["occurred_at"], agency),
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                address=data.get("address", ""),
                contact=data.get("contact", ""),
                share_file_metadata=data["share_file_metadata"],
            )
        except ValidationError as error:
            return _error(" ".join(error.messages))
        body = TipCreatedSerializer(
            {"tip": new.tip.reference, "receipt": new.receipt, "upload": new.upload.as_dict()}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class GeocodeView(PublicAPIView):
    """Turn an address into a point on the map, through the agency's configured geocoder."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True)],
        responses={
            200: inline_serializer(
                "TipPlace",
                {
                    "latitude": serializers.FloatField(),
                    "longitude": serializers.FloatField(),
                    "label": serializers.CharField(),
                },
            )
        },
    )
    def get(self, request):
        limited = rate_limited(request, "geocode")
        if limited:
            return limited
        try:
            place = geocoding.geocode(request.query_params.get("q", ""))
        except ValueError as error:
            return _error(str(error))
        except geocoding.GeocoderUnavailable:
            return _error(
                _(
                    "Address search is not available right now. Tap the map to show the place instead."
                ),
                503,
            )
        if place is None:
            return _error(_("No place was found for that address. Tap the map instead."), 404)
        return Response(
            {"latitude": place.latitude, "longitude": place.longitude, "label": place.label}
        )


def tip_from_receipt_header(request) -> Tip | HttpResponseBase:
    """The tip the request's receipt opens, or the refusal to send (generic; 429 when guessing)."""
    limited = refuse_if_limited(request, "wrong_receipt")
    if limited:
        return limited
    tip = services.tip_find_by_receipt(receipt=request.headers.get(RECEIPT_HEADER, "")[:200])
    if tip is None:
        limited = rate_limited(request, "wrong_receipt")
        return limited or _error(_(WRONG_RECEIPT), 404)
    return tip


_RECEIPT_PARAM = OpenApiParameter(
    RECEIPT_HEADER, str, location=OpenApiParameter.HEADER, required=True,
    description="The receipt shown when the tip was sent.",
)  # fmt: skip


class MineView(PublicAPIView):
    """The tipster's own tip: status, the investigators' message and the conversation."""

    @extend_schema(parameters=[_RECEIPT_PARAM], responses={200: MineSerializer})
    def get(self, request):
        tip = tip_from_receipt_header(request)
        if isinstance(tip, HttpResponseBase):
            return tip
        services.tip_record_return(tip=tip)
        tip.status = services.public_status(tip)
        return Response(MineSerializer(tip).data)


class MineMessagesView(PublicAPIView):
    """Answer the investigators (or add something in words)."""

    @extend_schema(
        parameters=[_RECEIPT_PARAM],
        request=MessageCreateSerializer,
        responses={201: MessageSerializer},
    )
    def post(self, request):
        tip = tip_from_receipt_header(request)
        if isinstance(tip, HttpResponseBase):
            return tip
        limited = rate_limited(request, "return_action")
        if limited:
            return limited
        asked = MessageCreateSerializer(data=request.data)
        if not asked.is_valid():
            return _invalid(asked)
        try:
            message = services.tipster_message_add(tip=tip, body=asked.validated_data["body"])
        except ValidationError as error:
            return _error(" ".join(error.messages))
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MineUploadsView(PublicAPIView):
    """A new upload grant to add files to the tip."""

    @extend_schema(parameters=[_RECEIPT_PARAM], request=None, responses={201: GrantOfferSerializer})
    def post(self, request):
        tip = tip_from_receipt_header(request)
        if isinstance(tip, HttpResponseBase):
            return tip
        limited = rate_limited(request, "return_action")
        if limited:
            return limited
        try:
            offer = services.tipster_upload_grant(tip=tip)
        except ValidationError as error:
            return _error(" ".join(error.messages), 409)
        return Response(GrantOfferSerializer(offer.as_dict()).data, status=201)
