"""What the evidence APIs share: who may call them, and how items and upload grants look."""

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from evidence import selectors
from evidence.models import Derivative, EvidenceItem
from evidence.policies import can_view_evidence
from portal.api.permissions import IsVerifiedUser


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
        # many=True gives a list (ReturnList); the stubs type .data as one object's dict.
        return cast(list[dict], DerivativeSerializer(rows, many=True).data)


class GrantSerializer(serializers.Serializer):
    """An upload grant as every upload API hands it to a client (`UploadGrantIssued.offer()`)."""

    id = serializers.UUIDField()
    header = serializers.CharField(help_text="The request header that carries the grant.")
    value = serializers.CharField(help_text="The header's value for this grant.")
    max_files = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()
    media_types = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
