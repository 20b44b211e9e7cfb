"""The evidence API: list, detail, custody, download and derivative URLs. All scoped and audited."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence import selectors, services
from evidence.custody import proof as custody_proof
from evidence.forms import ItemFilterForm
from evidence.models import Derivative, EvidenceItem
from evidence.policies import can_see_identifying_metadata, can_view_evidence
from evidence.selectors import ItemFilters
from portal.api.permissions import IsVerifiedUser
from portal.api.views import AuditEventSerializer


class CanViewEvidence(IsVerifiedUser):
    message = "Only investigators, supervisors and dispatchers of the agency see its evidence."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_view_evidence(request.user)


class DerivativeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Derivative
        fields = [
            "name",
            "kind",
            "size",
            "sha256",
            "media_type",
            "command",
            "tool_versions",
            "created_at",
        ]


class ItemSerializer(serializers.ModelSerializer):
    """An item as the viewer in `context["request"]` may see it (identifying metadata aside)."""

    location = serializers.SerializerMethodField()
    identifying_metadata_hidden = serializers.SerializerMethodField()

    _WITHHELD = (
        "capture_time",
        "capture_time_source",
        "capture_time_confidence",
        "capture_time_tag",
        "location_source",
        "metadata",
        "original_filename",
        "provenance_details",
    )

    class Meta:
        model = EvidenceItem
        fields = [
            "id",
            "source",
            "source_ref",
            "state",
            "state_reason",
            "original_filename",
            "size",
            "sha256",
            "media_type",
            "media_kind",
            "capture_time",
            "capture_time_source",
            "capture_time_confidence",
            "capture_time_tag",
            "location",
            "location_source",
            "metadata",
            "provenance_status",
            "provenance_details",
            "identifying_metadata_hidden",
            "uploaded_by_label",
            "received_at",
            "processed_at",
            "last_verified_at",
        ]

    def _facts(self, item) -> selectors.ItemFacts:
        cache = self.context.setdefault("facts", {})
        if item.pk not in cache:
            cache[item.pk] = selectors.item_facts_for(actor=self.context["request"].user, item=item)
        return cache[item.pk]

    def get_location(self, item) -> dict | None:
        location = self._facts(item).location
        return {"lat": location.y, "lon": location.x} if location else None

    def get_identifying_metadata_hidden(self, item) -> bool:
        return self._facts(item).identifying_hidden

    def to_representation(self, item):
        data = super().to_representation(item)
        facts = self._facts(item)
        if facts.identifying_hidden:
            for name in self._WITHHELD:
                value = getattr(facts, name)
                if name == "capture_time" and value is not None:
                    value = self.fields[name].to_representation(value)
                data[name] = value
        return data


class ItemDetailSerializer(ItemSerializer):
    derivatives = serializers.SerializerMethodField()

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "derivatives"]

    @extend_schema(exclude=True)
    def get_derivatives(self, item) -> list[dict]:
        rows = item.derivatives.exclude(kind=Derivative.Kind.HLS_SEGMENT)
        return DerivativeSerializer(rows, many=True).data


class ItemList(generics.ListAPIView):
    """Evidence of the caller's agency, newest first (filters: source, state, media_kind, dates)."""

    permission_classes = [CanViewEvidence]
    serializer_class = ItemSerializer

    def get_queryset(self):
        form = ItemFilterForm(self.request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        filters = ItemFilters(**form.cleaned_data)
        items = selectors.items_for(actor=self.request.user, filters=filters)
        services.items_record_list(
            actor=self.request.user, filters=filters.__dict__, count=items.count()
        )
        return items


class ItemDetail(APIView):
    """One item with its derivatives; viewing it is a custody event."""

    permission_classes = [CanViewEvidence]

    @extend_schema(responses=ItemDetailSerializer)
    def get(self, request, item_id):
        item = selectors.item_get_for(actor=request.user, id=item_id)
        services.item_record_view(actor=request.user, item=item, via="api")
        return Response(ItemDetailSerializer(item, context={"request": request}).data)


class ItemCustody(generics.ListAPIView):
    """The item's chain of custody, oldest event first (paginated)."""

    permission_classes = [CanViewEvidence]
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        self.item = selectors.item_get_for(actor=self.request.user, id=self.kwargs["item_id"])
        services.item_record_view(actor=self.request.user, item=self.item, via="custody")
        return selectors.custody_of(item=self.item)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        for event in response.data["results"]:
            event["details"] = selectors.custody_details_for(
                actor=request.user, item=self.item, details=event["details"]
            )
        return response


class ItemCustodyProof(APIView):
    """The item's custody proof: every hashed field of its rows with Merkle inclusion paths to
    a signed checkpoint, checked offline by verify_custody.py (/evidence/verify_custody.py)."""

    permission_classes = [CanViewEvidence]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT})
    def get(self, request, item_id):
        item = selectors.item_get_for(actor=request.user, id=item_id)
        try:
            proof = custody_proof.item_proof_export(actor=request.user, item=item, via="api")
        except custody_proof.ProofExportsExceeded as exc:
            return Response(
                {"detail": str(exc)}, status=429, headers={"Retry-After": str(exc.retry_after)}
            )
        return Response(proof)


class DownloadRequestSerializer(serializers.Serializer):
    derivative = serializers.CharField(required=False, max_length=100)


class DownloadUrl(APIView):
    """A short-lived URL for the original, or for a derivative named in `derivative`."""

    permission_classes = [CanViewEvidence]

    @extend_schema(
        request=DownloadRequestSerializer,
        responses=inline_serializer(
            "DownloadUrl",
            {"url": serializers.CharField(), "expires_in": serializers.IntegerField()},
        ),
    )
    def post(self, request, item_id):
        item = selectors.item_get_for(actor=request.user, id=item_id)
        body = DownloadRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        derivative = None
        if name := body.validated_data.get("derivative"):
            derivative = get_object_or_404(item.derivatives, name=name)
        elif not can_see_identifying_metadata(request.user, item):
            raise PermissionDenied(
                "The original keeps its metadata; ask for a derivative (name it in `derivative`)."
            )
        url, seconds = services.download_url_issue(
            actor=request.user, item=item, derivative=derivative
        )
        return Response({"url": request.build_absolute_uri(url), "expires_in": seconds})


class GrantSerializer(serializers.Serializer):
    """An upload grant as every upload API hands it to a client (`UploadGrantIssued.offer()`)."""

    id = serializers.UUIDField()
    header = serializers.CharField(help_text="The request header that carries the grant.")
    value = serializers.CharField(help_text="The header's value for this grant.")
    max_files = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()
    media_types = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
