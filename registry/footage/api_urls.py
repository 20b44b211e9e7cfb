"""Footage request API routes, mounted at /api/registry/ beside the camera API."""

from django.urls import path

from registry.footage import api

urlpatterns = [
    path("requests/", api.RequestListCreate.as_view(), name="api-footage-requests"),
    path("requests/<uuid:request_id>/", api.RequestDetail.as_view(), name="api-footage-request"),
    path(
        "requests/<uuid:request_id>/approve",
        api.RequestApprove.as_view(),
        name="api-footage-request-approve",
    ),
    path(
        "requests/<uuid:request_id>/refuse",
        api.RequestRefuse.as_view(),
        name="api-footage-request-refuse",
    ),
    path("footage/<uuid:request_id>/", api.OwnerRequest.as_view(), name="api-footage-owner"),
    path(
        "footage/<uuid:request_id>/answer",
        api.OwnerAnswer.as_view(),
        name="api-footage-owner-answer",
    ),
    path(
        "footage/<uuid:request_id>/cameras/<int:rc_id>/grant",
        api.OwnerGrant.as_view(),
        name="api-footage-owner-grant",
    ),
    path(
        "footage/<uuid:request_id>/receipt",
        api.OwnerReceipt.as_view(),
        name="api-footage-owner-receipt",
    ),
]
