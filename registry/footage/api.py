"""Footage request API: staff create, approve, refuse, list and read; owners answer by token.

Owner endpoints take the link's token in the `Canvass-Footage-Token` header (never in the URL,
so it stays out of access logs). They use no session, so no CSRF applies: a page on another
origin cannot send that header without a CORS preflight, which we never answer.
"""

from typing import Any, cast

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence.rest import GrantSerializer
from portal.api.permissions import IsVerifiedUser
from portal.text import CleanTextSerializerMixin
from registry.footage import selectors as sel
from registry.footage import services as rs
from registry.footage.policies import can_request_footage, can_view_footage_requests
from registry.models import FootageRequest

TOKEN_HEADER = "Canvass-Footage-Token"  # noqa: S105 - a header name, not a secret


class CanRequestFootage(IsVerifiedUser):
    message = "Only investigators and supervisors of a police agency see and make footage requests."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_view_footage_requests(request.user)


class CreateSerializer(CleanTextSerializerMixin, serializers.Serializer):
    search = serializers.UUIDField(help_text="The camera search the cameras were chosen from.")
    cameras = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)
    case_number = serializers.CharField(max_length=100)
    reason = serializers.CharField(max_length=2000, help_text="Legal basis or reason.")
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    deadline = serializers.DateTimeField()
    ask_approval = serializers.BooleanField(
        default=False, help_text="Needed for a window over the agency's cap."
    )


class ItemRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()
    original_filename = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    received_at = serializers.DateTimeField()


class RequestCameraSerializer(serializers.Serializer):
    """An answered camera. Unanswered ones are only counted (`counts`), never listed."""

    camera = serializers.UUIDField(source="rc.camera_id")
    camera_name = serializers.CharField(source="rc.camera.name")
    status = serializers.ChoiceField(choices=["uploaded", "no_footage", "declined"])
    answered_at = serializers.DateTimeField(source="rc.answered_at", allow_null=True)
    items = ItemRefSerializer(many=True)


class AnswerCountsSerializer(serializers.Serializer):
    asked = serializers.IntegerField()
    uploaded = serializers.IntegerField()
    no_footage = serializers.IntegerField()
    declined = serializers.IntegerField()
    no_answer = serializers.IntegerField(help_text="asked - uploaded - no_footage - declined")


class RequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.full_name")
    camera_count = serializers.IntegerField()
    answered_count = serializers.IntegerField()
    counts = serializers.SerializerMethodField()
    first_answer_at = serializers.DateTimeField(allow_null=True)
    # Owners whose last email could not be sent (resend from the request's page).
    email_failed_count = serializers.IntegerField()

    class Meta:
        model = FootageRequest
        fields = [
            "id",
            "status",
            "case_number",
            "reason",
            "message",
            "window_start",
            "window_end",
            "deadline",
            "requested_by",
            "sent_at",
            "decided_at",
            "refusal_reason",
            "created_at",
            "camera_count",
            "answered_count",
            "counts",
            "first_answer_at",
            "email_failed_count",
        ]

    @extend_schema_field(AnswerCountsSerializer)
    def get_counts(self, req) -> dict[str, int]:
        return sel.answer_counts(req).as_dict()


class RequestDetailSerializer(RequestSerializer):
    cameras = serializers.SerializerMethodField()

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "cameras"]

    @extend_schema_field(RequestCameraSerializer(many=True))
    def get_cameras(self, req) -> list[dict[str, Any]]:
        # many=True gives a list (ReturnList); the stubs type .data as one object's dict.
        return cast(
            list[dict[str, Any]], RequestCameraSerializer(self.context["rows"], many=True).data
        )


def _detail(request, req) -> dict[str, Any]:
    rows = sel.answered_camera_rows(actor=request.user, request=req)
    rs.footage_request_record_view(
        actor=request.user, request=req, items=sum(len(r.items) for r in rows), via="api"
    )
    fresh = sel.footage_request_get_for(actor=request.user, id=req.pk)
    return RequestDetailSerializer(fresh, context={"rows": rows}).data


class RequestListCreate(generics.GenericAPIView):
    """The agency's footage requests (newest first); POST asks the owners of chosen cameras."""

    permission_classes = [CanRequestFootage]
    serializer_class = RequestSerializer

    def get_queryset(self):
        return sel.footage_requests_for(actor=self.request.user)

    @extend_schema(
        parameters=[OpenApiParameter("case_number", str, required=False)],
        responses=RequestSerializer(many=True),
    )
    def get(self, request):
        requests = self.get_queryset()
        if case_number := request.query_params.get("case_number", "").strip():
            requests = sel.footage_requests_for_case_number(
                actor=request.user, case_number=case_number
            )
        page = self.paginate_queryset(requests)
        rs.footage_requests_record_list(actor=request.user, count=len(page))
        return self.get_paginated_response(RequestSerializer(page, many=True).data)

    @extend_schema(request=CreateSerializer, responses={201: RequestDetailSerializer})
    def post(self, request):
        if not can_request_footage(request.user):
            raise PermissionDenied
        asked = CreateSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        found = sel.camera_search_get_for_footage_viewer(actor=request.user, id=data.pop("search"))
        made = rs.footage_request_create(
            actor=request.user, search=found, camera_ids=data.pop("cameras"), **data
        )
        return Response(_detail(request, made), status=status.HTTP_201_CREATED)


class RequestDetail(APIView):
    """One request: how many owners answered and how, each answered camera and what it sent."""

    permission_classes = [CanRequestFootage]

    @extend_schema(responses=RequestDetailSerializer)
    def get(self, request, request_id):
        return Response(
            _detail(request, sel.footage_request_get_for(actor=request.user, id=request_id))
        )


class RefuseSerializer(CleanTextSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class RequestApprove(APIView):
    """A supervisor (not the requester) approves a window over the cap; owners are emailed."""

    permission_classes = [CanRequestFootage]

    @extend_schema(request=None, responses=RequestDetailSerializer)
    def post(self, request, request_id):
        req = sel.footage_request_get_for(actor=request.user, id=request_id)
        rs.footage_request_approve(actor=request.user, request=req)
        return Response(_detail(request, req))


class RequestRefuse(APIView):
    """A supervisor refuses a request over the cap; nobody is contacted."""

    permission_classes = [CanRequestFootage]

    @extend_schema(request=RefuseSerializer, responses=RequestDetailSerializer)
    def post(self, request, request_id):
        req = sel.footage_request_get_for(actor=request.user, id=request_id)
        asked = RefuseSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        rs.footage_request_refuse(
            actor=request.user, request=req, reason=asked.validated_data["reason"]
        )
        return Response(_detail(request, req))


# --- the owner's token endpoints -----------------------------------------------------------

_TOKEN_PARAM = OpenApiParameter(
    TOKEN_HEADER, str, location=OpenApiParameter.HEADER, required=True,
    description="The token from the owner's emailed link (the `t` parameter).",
)  # fmt: skip


class OwnerView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def recipient(self, request, request_id):
        return rs.recipient_for_link(
            request_id=request_id, token=request.headers.get(TOKEN_HEADER, "")
        )

    def handle_exception(self, exc):
        if isinstance(exc, rs.LinkClosed):
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_410_GONE)
        return super().handle_exception(exc)


WindowSerializer = inline_serializer(
    "FootageWindow",
    {
        "zone": serializers.CharField(),
        "local_start": serializers.CharField(
            source="local_start_iso", help_text="ISO 8601 with the camera zone's offset."
        ),
        "local_end": serializers.CharField(source="local_end_iso"),
        "utc_start": serializers.DateTimeField(),
        "utc_end": serializers.DateTimeField(),
    },
)


class OwnerCameraSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="rc.pk", help_text="Use this id to answer or upload.")
    name = serializers.CharField(source="rc.camera.name")
    status = serializers.CharField(source="rc.status")
    window = WindowSerializer


class OwnerRequestSerializer(serializers.Serializer):
    link = serializers.ChoiceField(
        source="state",
        choices=["open", "answered", "expired"],
        help_text="open; answered (the link was used); expired (the deadline passed).",
    )
    agency = serializers.CharField(source="asking.agency")
    role = serializers.CharField(source="asking.role")
    officer = serializers.CharField(
        source="asking.officer", help_text="Empty unless the agency shows names."
    )
    reason = serializers.CharField(source="req.reason")
    message = serializers.CharField(source="req.message")
    deadline = serializers.DateTimeField(source="req.deadline")
    cameras = OwnerCameraSerializer(many=True)


def _owner_view(recipient) -> dict:
    request = recipient.request
    return {
        "state": rs.link_state(recipient),
        "asking": sel.asking_party(request),
        "req": request,
        "cameras": [
            {"rc": rc, "window": sel.window_in_zones(request, rc.camera)}
            for rc in recipient.cameras.select_related("camera")
        ],
    }


class OwnerRequest(OwnerView):
    """What the owner's link shows: who asks, why, the window per camera, the deadline."""

    @extend_schema(parameters=[_TOKEN_PARAM], responses=OwnerRequestSerializer, auth=[])
    def get(self, request, request_id):
        recipient = self.recipient(request, request_id)
        if rs.link_state(recipient) == "open":
            rs.recipient_open(recipient=recipient)
        return Response(OwnerRequestSerializer(_owner_view(recipient)).data)


class AnswerSerializer(CleanTextSerializerMixin, serializers.Serializer):
    camera = serializers.IntegerField(help_text="The camera's id in this request.")
    answer = serializers.ChoiceField(choices=sorted(rs.ANSWERS))


class OwnerAnswer(OwnerView):
    """Answer for one camera: no footage of that time, or decline."""

    @extend_schema(
        parameters=[_TOKEN_PARAM],
        request=AnswerSerializer,
        responses=OwnerRequestSerializer,
        auth=[],
    )
    def post(self, request, request_id):
        recipient = self.recipient(request, request_id)
        asked = AnswerSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        rs.footage_answer(
            recipient=recipient,
            request_camera_id=asked.validated_data["camera"],
            answer=asked.validated_data["answer"],
        )
        return Response(OwnerRequestSerializer(_owner_view(recipient)).data)


class OwnerGrant(OwnerView):
    """An upload grant for one camera of the request, for tus at /api/uploads/."""

    @extend_schema(
        parameters=[_TOKEN_PARAM], request=None, responses={201: GrantSerializer}, auth=[]
    )
    def post(self, request, request_id, rc_id):
        recipient = self.recipient(request, request_id)
        issued = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc_id)
        return Response(GrantSerializer(issued.offer()).data, status=status.HTTP_201_CREATED)


class ReceiptFileSerializer(serializers.Serializer):
    filename = serializers.CharField(source="original_filename")
    size = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    sha256 = serializers.CharField(help_text="Empty while it is being computed.")


class ReceiptCameraSerializer(serializers.Serializer):
    camera = serializers.CharField(source="rc.camera.name")
    answer = serializers.CharField(source="rc.status")
    answered_at = serializers.DateTimeField(source="rc.answered_at", allow_null=True)
    files = ReceiptFileSerializer(source="items", many=True)


class OwnerReceipt(OwnerView):
    """What the owner sent, each file with its SHA-256 once the pipeline has computed it."""

    @extend_schema(parameters=[_TOKEN_PARAM], responses=ReceiptCameraSerializer(many=True), auth=[])
    def get(self, request, request_id):
        rows = rs.footage_receipt_record(recipient=self.recipient(request, request_id))
        return Response(ReceiptCameraSerializer(rows, many=True).data)
