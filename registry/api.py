"""The registry API: owners' cameras (CRUD and CSV import), both maps, and cameras near an incident."""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.permissions import IsVerifiedUser
from registry import selectors, services
from registry.forms import CameraForm, SearchForm
from registry.models import (
    RETENTION_STEPS,
    SEARCH_REASON_CHOICES,
    Camera,
    CameraKind,
    Participation,
)
from registry.policies import can_own_cameras, can_search_cameras, can_view_camera_map
from registry.search import SearchRefused
from registry.selectors import MapFilters, MapQueryError


class IsCameraOwner(IsVerifiedUser):
    message = "Only residents and businesses with a confirmed email register cameras."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_own_cameras(request.user)


class CanSearchCameras(IsVerifiedUser):
    message = "Only investigators and supervisors search the camera registry."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_search_cameras(request.user)


class CanViewCameraMap(IsVerifiedUser):
    message = "Only investigators and supervisors see the agency's camera map."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_view_camera_map(request.user)


class CameraSerializer(serializers.ModelSerializer):
    latitude = serializers.FloatField(min_value=-85, max_value=85)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    records_always = serializers.BooleanField(default=True)
    is_public = serializers.BooleanField(default=False)
    fov = serializers.SerializerMethodField()

    class Meta:
        model = Camera
        fields = [
            "id",
            "name",
            "kind",
            "latitude",
            "longitude",
            *[f for f in services.CAMERA_FIELDS if f not in ("kind", "name")],
            "fov",
            "paused_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "fov", "paused_at", "created_at", "updated_at"]

    def get_fov(self, camera) -> dict:
        """The field-of-view cone as GeoJSON."""
        return json.loads(camera.fov.geojson)

    def to_representation(self, camera):
        return super().to_representation(_with_position(camera))

    def validate(self, attrs):
        # The one rulebook for cameras is the form: the page, the CSV and the API agree.
        raw = dict(self.initial_data.items())
        for flag in ("records_always", "is_public"):
            value = attrs.get(flag, False)
            raw[flag] = "on" if value else ""
        form = CameraForm(data=raw)
        if not form.is_valid():
            raise serializers.ValidationError(
                {k: [str(m) for m in v] for k, v in form.errors.items()}
            )
        return form.cleaned_data


def _with_position(camera: Camera) -> Camera:
    # Not model fields: CameraSerializer's latitude and longitude read them from the instance.
    camera.latitude = camera.location.y  # type: ignore[attr-defined]
    camera.longitude = camera.location.x  # type: ignore[attr-defined]
    return camera


class CameraList(generics.ListCreateAPIView):
    """The signed-in owner's cameras; POST registers one."""

    permission_classes = [IsCameraOwner]
    serializer_class = CameraSerializer

    def get_queryset(self):
        return selectors.cameras_of(actor=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = _with_position(
            services.camera_register(actor=self.request.user, data=serializer.validated_data)
        )


class CameraDetail(generics.RetrieveUpdateDestroyAPIView):
    """One of the owner's cameras: read, replace (PUT) or delete (soft)."""

    permission_classes = [IsCameraOwner]
    serializer_class = CameraSerializer
    http_method_names = ["get", "put", "delete", "head", "options"]

    def get_object(self):
        return _with_position(
            selectors.camera_get_for(
                actor=self.request.user,
                id=self.kwargs["camera_id"],
                write=self.request.method != "GET",
            )
        )

    def perform_update(self, serializer):
        serializer.instance = _with_position(
            services.camera_update(
                actor=self.request.user,
                camera_id=serializer.instance.id,
                data=serializer.validated_data,
            )
        )

    def perform_destroy(self, instance):
        services.camera_delete(actor=self.request.user, camera_id=instance.id)


class CameraPause(APIView):
    permission_classes = [IsCameraOwner]

    @extend_schema(request=None, responses=CameraSerializer, summary="Pause participation")
    def post(self, request, camera_id):
        camera = services.camera_pause(actor=request.user, camera_id=camera_id)
        return Response(CameraSerializer(_with_position(camera)).data)


class CameraResume(APIView):
    permission_classes = [IsCameraOwner]

    @extend_schema(request=None, responses=CameraSerializer, summary="Resume participation")
    def post(self, request, camera_id):
        camera = services.camera_resume(actor=request.user, camera_id=camera_id)
        return Response(CameraSerializer(_with_position(camera)).data)


_ImportErrors = inline_serializer(
    "CameraImportErrors",
    {
        "detail": serializers.CharField(),
        "errors": serializers.ListField(
            child=inline_serializer(
                "CameraImportError",
                {"line": serializers.IntegerField(), "message": serializers.CharField()},
            )
        ),
    },
)


class CameraImport(APIView):
    """Import cameras from a CSV file (multipart field `file`): all rows or none."""

    permission_classes = [IsCameraOwner]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "CameraImportUpload", {"file": serializers.FileField()}
            )
        },
        responses={201: CameraSerializer(many=True), 400: _ImportErrors},
    )
    def post(self, request):
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise services.CsvImportError([(0, "Send the CSV as the multipart field `file`.")])
            if upload.size > services.CSV_MAX_BYTES:
                raise services.CsvImportError(
                    [(0, f"The file is larger than {services.CSV_MAX_BYTES // 1024} KB.")]
                )
            cameras = services.cameras_import_csv(actor=request.user, raw=upload.read())
        except services.CsvImportError as exc:
            return Response(
                {
                    "detail": "Nothing was imported.",
                    "errors": [{"line": line, "message": msg} for line, msg in exc.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            CameraSerializer([_with_position(c) for c in cameras], many=True).data,
            status=status.HTTP_201_CREATED,
        )


_MapAnswer = inline_serializer(
    "CameraMap",
    {
        "zoom": serializers.IntegerField(),
        "cell_size_m": serializers.FloatField(),
        "cells": serializers.ListField(child=serializers.DictField()),
        "cameras": serializers.ListField(child=serializers.DictField()),
    },
)
_MAP_PARAMS = [
    OpenApiParameter("bbox", str, required=True, description="west,south,east,north (degrees)"),
    OpenApiParameter("zoom", int, required=True, description="0 to 20"),
]


def _map_request(request) -> tuple:
    try:
        return (
            selectors.parse_bbox(request.query_params.get("bbox", "")),
            selectors.parse_zoom(request.query_params.get("zoom", "")),
        )
    except MapQueryError as exc:
        raise serializers.ValidationError({"detail": str(exc)}) from exc


class PublicMap(APIView):
    """Public cameras as counts per grid cell (the cell's centre, never a camera's position)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(parameters=_MAP_PARAMS, responses=_MapAnswer)
    def get(self, request):
        try:
            bbox, zoom = _map_request(request)
            return Response(selectors.public_map(bbox=bbox, zoom=zoom))
        except (serializers.ValidationError, MapQueryError) as exc:
            return Response({"detail": _message(exc)}, status=status.HTTP_400_BAD_REQUEST)


def _message(exc) -> str:
    if isinstance(exc, serializers.ValidationError):
        detail = exc.detail.get("detail") if isinstance(exc.detail, dict) else exc.detail
        return str(detail[0] if isinstance(detail, list) else detail)
    return str(exc)


class AgencyMap(APIView):
    """The agency's cameras in its jurisdiction: clusters, or each camera from zoom 15."""

    permission_classes = [CanViewCameraMap]

    @extend_schema(
        parameters=[
            *_MAP_PARAMS,
            OpenApiParameter("kind", str),
            OpenApiParameter("participation", str),
            OpenApiParameter("min_retention_days", int),
        ],
        responses=_MapAnswer,
    )
    def get(self, request):
        params = request.query_params
        try:
            bbox, zoom = _map_request(request)
            kind = params.get("kind", "")
            participation = params.get("participation", "")
            retention = params.get("min_retention_days", "") or "0"
            if kind and kind not in CameraKind.values:
                raise MapQueryError(f"kind must be one of {', '.join(CameraKind.values)}.")
            if participation and participation not in Participation.values:
                raise MapQueryError(
                    f"participation must be one of {', '.join(Participation.values)}."
                )
            if retention not in {"0", *map(str, RETENTION_STEPS)}:
                raise MapQueryError(
                    f"min_retention_days must be one of {', '.join(map(str, RETENTION_STEPS))}."
                )
            answer = selectors.agency_map(
                actor=request.user,
                bbox=bbox,
                zoom=zoom,
                filters=MapFilters(kind, participation, int(retention)),
            )
        except (serializers.ValidationError, MapQueryError) as exc:
            return Response({"detail": _message(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(answer)


class SearchRequestSerializer(serializers.Serializer):
    case_number = serializers.CharField(max_length=100)
    reason_category = serializers.ChoiceField(choices=SEARCH_REASON_CHOICES)
    reason = serializers.CharField(max_length=2000)
    latitude = serializers.FloatField(required=False)
    longitude = serializers.FloatField(required=False)
    address = serializers.CharField(required=False, max_length=300)
    area = serializers.CharField(required=False, help_text="Polygon, GeoJSON or WKT (WGS84)")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    radius_m = serializers.IntegerField(required=False, default=300)


class SearchHitSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    participation = serializers.CharField()
    contactable = serializers.BooleanField()
    is_public = serializers.BooleanField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    direction_deg = serializers.IntegerField()
    fov_angle_deg = serializers.IntegerField()
    range_m = serializers.IntegerField()
    distance_m = serializers.FloatField()
    coverage = serializers.IntegerField(help_text="0 sees the spot, 1 sees near it, 2 faces away")
    overwritten_at = serializers.DateTimeField()
    time_zone = serializers.CharField(help_text="The camera's IANA time zone")
    overwritten_at_local = serializers.SerializerMethodField(
        help_text="overwritten_at on the camera's clock, ISO 8601 with its UTC offset"
    )
    past_retention = serializers.BooleanField()
    records_during_window = serializers.BooleanField()

    # DateTimeField would convert to the server's zone (UTC); this keeps the camera's offset.
    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_overwritten_at_local(self, hit) -> str:
        return hit.overwritten_at_local.isoformat()


class CameraSearchView(APIView):
    """Cameras near an incident (case number, reason category and reason required; audited)."""

    permission_classes = [CanSearchCameras]

    @extend_schema(
        request=SearchRequestSerializer,
        responses=inline_serializer(
            "CameraSearchAnswer",
            {"search": serializers.UUIDField(), "results": SearchHitSerializer(many=True)},
        ),
    )
    def post(self, request):
        data = dict(request.data.items())
        if isinstance(data.get("area"), dict):
            data["area"] = json.dumps(data["area"])
        form = SearchForm(data=data)
        if not form.is_valid():
            return Response(
                {
                    "detail": " ".join(m for msgs in form.errors.values() for m in msgs),
                    "errors": form.errors,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = form.cleaned_data
        try:
            outcome = services.camera_search(
                actor=request.user,
                query=form.query(),
            )
        except SearchRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "search": str(outcome.search.id),
                "results": SearchHitSerializer(outcome.results, many=True).data,
            }
        )


class CameraSearchDetail(APIView):
    """A stored search's answer again (audited as a view of that search, not a new search)."""

    permission_classes = [CanSearchCameras]

    @extend_schema(
        responses=inline_serializer(
            "CameraSearchStored",
            {
                "search": serializers.UUIDField(),
                "case_number": serializers.CharField(),
                "reason_category": serializers.CharField(),
                "reason": serializers.CharField(),
                "results": SearchHitSerializer(many=True),
            },
        ),
    )
    def get(self, request, search_id):
        found = selectors.camera_search_get_for_searcher(actor=request.user, id=search_id)
        outcome = services.camera_search_view(actor=request.user, search=found)
        return Response(
            {
                "search": str(found.id),
                "case_number": found.case_number,
                "reason_category": found.reason_category,
                "reason": found.reason,
                "results": SearchHitSerializer(outcome.results, many=True).data,
            }
        )
