"""The cases API: cases (list, detail), their shares (list, create, revoke) and, for
prosecutors, what is shared with them. Scoped like the pages; views are audited."""

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence.cases import selectors as case_selectors
from evidence.cases import services as case_services
from evidence.models import Case
from evidence.rest import CanViewEvidence, ItemSerializer


class CaseSerializer(serializers.ModelSerializer):
    lead = serializers.CharField(source="lead.label")
    incident_point = serializers.SerializerMethodField()
    item_count = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id", "number", "title", "status", "incident_time", "incident_point", "lead",
            "item_count", "created_at",
        ]  # fmt: skip

    def get_incident_point(self, case) -> dict | None:
        p = case.incident_point
        return {"lat": p.y, "lon": p.x} if p else None

    def get_item_count(self, case) -> int:
        return case.case_items.count()


class CaseDetailSerializer(CaseSerializer):
    items = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "items", "members"]

    def get_items(self, case) -> list[dict]:
        # The viewer's request rides along: each item shows only the metadata they may see.
        # many=True gives a list (ReturnList); the stubs type .data as one object's dict.
        return cast(
            list[dict],
            ItemSerializer(
                case_selectors.items_of_case(case=case), many=True, context=self.context
            ).data,
        )

    def get_members(self, case) -> list[str]:
        return [m.user.label for m in case.memberships.select_related("user")]


class CaseList(generics.ListAPIView):
    """The cases the caller may see (lead or member; supervisors: all of the agency's)."""

    permission_classes = [CanViewEvidence]
    serializer_class = CaseSerializer

    def get_queryset(self):
        cases = case_selectors.cases_for(actor=self.request.user)
        case_services.cases_record_list(actor=self.request.user, count=cases.count())
        return cases


class CaseDetail(APIView):
    """One case with its items (timeline order) and members; 404 for anyone not on it."""

    permission_classes = [CanViewEvidence]

    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request, case_id):
        case = case_selectors.case_get_for(actor=request.user, id=case_id)
        case_services.case_record_view(actor=request.user, case=case, via="api")
        return Response(CaseDetailSerializer(case, context={"request": request}).data)
