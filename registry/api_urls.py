"""Registry API, mounted at /api/registry/."""

from django.urls import path

from registry import api

urlpatterns = [
    path("cameras/", api.CameraList.as_view(), name="api-registry-cameras"),
    path("cameras/import/", api.CameraImport.as_view(), name="api-registry-cameras-import"),
    path("cameras/<uuid:camera_id>/", api.CameraDetail.as_view(), name="api-registry-camera"),
    path(
        "cameras/<uuid:camera_id>/pause/",
        api.CameraPause.as_view(),
        name="api-registry-camera-pause",
    ),
    path(
        "cameras/<uuid:camera_id>/resume/",
        api.CameraResume.as_view(),
        name="api-registry-camera-resume",
    ),
    path("public-map/", api.PublicMap.as_view(), name="api-registry-public-map"),
    path("map/", api.AgencyMap.as_view(), name="api-registry-map"),
    path("search/", api.CameraSearchView.as_view(), name="api-registry-search"),
    path(
        "search/<uuid:search_id>/",
        api.CameraSearchDetail.as_view(),
        name="api-registry-search-detail",
    ),
]
