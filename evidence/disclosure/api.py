"""The disclosure API: a case's shares with prosecuting offices, and what prosecutors received."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence import audit_actions as actions
from evidence.cases import selectors as case_selectors
from evidence.disclosure import policies as share_policies
from evidence.disclosure import selectors as share_selectors
from evidence.disclosure import services as share_services
from evidence.models import Share
from evidence.rest import CanViewEvidence, ItemSerializer
from portal.api.permissions import IsVerifiedUser
from portal.models import Agency
from portal.roles import AgencyKind
from portal.text import CleanTextSerializerMixin


class CanViewShared(IsVerifiedUser):
    message = "Only prosecutors see what is shared with their office."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and share_policies.can_view_shared(
            request.user
        )


class ShareSerializer(serializers.ModelSerializer):
    case_number = serializers.CharField(source="case.number", read_only=True)
    recipient_office = serializers.CharField(source="recipient_agency.name", read_only=True)
    recipients = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    class Meta:
        model = Share
        fields = [
            "id", "case", "case_number", "recipient_office", "recipients", "items", "level",
            "reshare_allowed", "require_redacted", "expires_at", "note", "created_by_label", "created_at",
            "revoked_at", "acknowledged_at", "state",
        ]  # fmt: skip

    def get_recipients(self, share) -> list[str]:
        return [u.label for u in share.recipients.all()]

    def get_items(self, share) -> list[str]:
        return [str(pk) for pk in share.share_items.values_list("item_id", flat=True)]

    def get_state(self, share) -> str:
        if share.revoked_at:
            return "revoked"
        return "expired" if share.expires_at <= timezone.now() else "active"


class ShareCreateSerializer(CleanTextSerializerMixin, serializers.Serializer):
    office = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(kind=AgencyKind.PROSECUTION)
    )
    # Plain ids, resolved against the chosen office only (share_services.share_recipients_resolve):
    # a lookup over every user would say whose id each is.
    recipients = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500
    )
    items = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=10000)
    level = serializers.ChoiceField(choices=Share.Level.choices, default=Share.Level.VIEW)
    reshare_allowed = serializers.BooleanField(default=False)
    require_redacted = serializers.BooleanField(default=False)
    expires_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class CaseShares(generics.ListCreateAPIView):
    """The case's shares; POST shares it with a prosecuting office."""

    permission_classes = [CanViewEvidence]
    serializer_class = ShareSerializer

    def get_queryset(self):
        case = case_selectors.case_get_for(actor=self.request.user, id=self.kwargs["case_id"])
        return share_selectors.shares_of_case(case=case)

    @extend_schema(request=ShareCreateSerializer, responses={201: ShareSerializer})
    def post(self, request, case_id):
        case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
        body = ShareCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        items = None
        if "items" in data:
            items = list(case.items.filter(pk__in=data["items"]))
            if len(items) != len(set(data["items"])):
                raise ApiValidationError({"items": ["Only items of this case can be shared."]})
        try:
            recipients = share_services.share_recipients_resolve(
                actor=request.user, case=case, office=data["office"], ids=data.get("recipients", [])
            )
        except PermissionDenied as exc:
            raise ApiPermissionDenied("You cannot share this case.") from exc
        except ValidationError as exc:
            raise ApiValidationError({"recipients": exc.messages}) from exc
        try:
            share = share_services.share_create(
                actor=request.user,
                case=case,
                recipient_agency=data["office"],
                recipients=recipients,
                items=items,
                level=data["level"],
                reshare_allowed=data["reshare_allowed"],
                require_redacted=data["require_redacted"],
                expires_at=data.get("expires_at"),
                note=data.get("note", ""),
            )
        except PermissionDenied as exc:
            raise ApiPermissionDenied("You cannot share this case.") from exc
        except ValidationError as exc:
            raise ApiValidationError({"detail": exc.messages}) from exc
        return Response(ShareSerializer(share).data, status=status.HTTP_201_CREATED)


class ShareRevoke(APIView):
    """Revoke a share at once."""

    permission_classes = [CanViewEvidence]

    @extend_schema(request=None, responses=ShareSerializer)
    def post(self, request, share_id):
        share = share_selectors.share_get_for(actor=request.user, id=share_id, write=True)
        try:
            share_services.share_revoke(actor=request.user, share=share)
        except PermissionDenied as exc:
            raise ApiPermissionDenied("You cannot revoke this share.") from exc
        return Response(ShareSerializer(share).data)


class SharedItemSerializer(ItemSerializer):
    class Meta(ItemSerializer.Meta):
        fields = [f for f in ItemSerializer.Meta.fields if f not in ("uploaded_by_label",)]


class SharedWithMe(generics.ListAPIView):
    """For prosecutors: the live shares addressed to them."""

    permission_classes = [CanViewShared]
    serializer_class = ShareSerializer

    def get_queryset(self):
        return share_selectors.shares_received(actor=self.request.user)


class SharedCase(APIView):
    """For prosecutors: one share's case and items (recorded in the disclosure log)."""

    permission_classes = [CanViewShared]

    @extend_schema(responses={200: {"type": "object", "properties": {"share": {}, "items": {}}}})
    def get(self, request, share_id):
        share = share_selectors.received_share_get_for(actor=request.user, id=share_id)
        share_services.share_record_access(
            actor=request.user,
            share=share,
            action=actions.SHARE_VIEWED.name,
            details={"via": "api"},
        )
        items = list(share_selectors.shared_items(share=share))
        rows = SharedItemSerializer(items, many=True, context={"request": request}).data
        if share.require_redacted:
            # Redacted copies only: each item says what it goes out as, or why it is withheld.
            for row, item in zip(rows, items, strict=True):
                row["release"] = share_selectors.release_of(item=item)
        return Response(
            {
                "share": ShareSerializer(share).data,
                "case": {"number": share.case.number, "title": share.case.title},
                "items": rows,
            }
        )
