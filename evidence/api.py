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
from evidence.policies import can_see_identifying_metadata
from evidence.rest import CanViewEvidence, ItemDetailSerializer, ItemSerializer
from evidence.selectors import ItemFilters
from portal.api.views import AuditEventSerializer
from portal.pagination import bounded_count


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
            actor=self.request.user, filters=filters.__dict__, count=bounded_count(items)
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
    a signed checkpoint, checked offline by verify_custody.py (/evidence/verify_custody.py, served from evidence/custody/verify_custody.py)."""

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
