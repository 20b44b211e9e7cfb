from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import selectors, services
from portal.api.permissions import CanViewAuditLog, IsVerifiedUser
from portal.forms import AuditFilterForm
from portal.models import AuditEvent, User
from portal.roles import capabilities_of
from portal.selectors import AuditFilters


class MeSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.name", default=None)
    capabilities = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "agency", "capabilities"]

    def get_capabilities(self, user) -> list[str]:
        return sorted(capabilities_of(user.role))


class MeView(APIView):
    """The signed-in user, their role and what it allows."""

    permission_classes = [IsVerifiedUser]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "at",
            "actor_label",
            "actor_role",
            "actor_agency",
            "action",
            "target_type",
            "target_id",
            "reason",
            "case_ref",
            "request_id",
            "outcome",
            "details",
            "prev_hash",
            "hash",
        ]


@extend_schema(
    parameters=[
        OpenApiParameter(name, str, required=False)
        for name in (
            "actor",
            "action",
            "target_type",
            "target_id",
            "period",
            "date_from",
            "date_to",
        )
    ]
)
class AuditEventList(generics.ListAPIView):
    """The audit log of the caller's agency, newest first; filters as on the staff page."""

    permission_classes = [IsVerifiedUser, CanViewAuditLog]
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        user = self.request.user
        zone = user.agency.time_zone if user.agency_id else "UTC"
        form = AuditFilterForm(self.request.query_params, zone=zone)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        filters = AuditFilters(**form.cleaned_data)
        services.audit_log_record_read(
            actor=self.request.user, view="api", filters=filters.__dict__
        )
        return selectors.audit_events_for(actor=self.request.user, filters=filters)

    def get_serializer(self, *args, **kwargs):
        # Every row serialized passes the readers' filter (a page, or all when unpaginated).
        if args:
            events = selectors.audit_events_readable(actor=self.request.user, events=args[0])
            args = (events, *args[1:])
        return super().get_serializer(*args, **kwargs)
