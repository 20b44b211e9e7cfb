"""Owners' and public pages of the registry, mounted at /cameras/."""

from django.urls import path

from registry import live_views
from registry import public_views as views
from registry.footage import owner_views

app_name = "cameras"

urlpatterns = [
    path("map/", views.public_map, name="map"),
    path("mine/", views.camera_list, name="mine"),
    path("mine/new/", views.camera_new, name="new"),
    path("mine/import/", views.camera_import, name="import"),
    path("mine/<uuid:camera_id>/", views.camera_edit, name="edit"),
    path("mine/<uuid:camera_id>/pause/", views.camera_pause, name="pause"),
    path("mine/<uuid:camera_id>/resume/", views.camera_resume, name="resume"),
    path("mine/<uuid:camera_id>/delete/", views.camera_delete, name="delete"),
    path("mine/<uuid:camera_id>/live/", live_views.live, name="live"),
    path("mine/<uuid:camera_id>/live/test/", live_views.live_test, name="live_test"),
    path("mine/<uuid:camera_id>/live/still.jpg", live_views.live_still, name="live_still"),
    path("mine/<uuid:camera_id>/live/policy/", live_views.live_policy, name="live_policy"),
    path("mine/<uuid:camera_id>/live/pause/", live_views.live_pause, name="live_pause"),
    path("mine/<uuid:camera_id>/live/resume/", live_views.live_resume, name="live_resume"),
    path("requests/", owner_views.requests_page, name="requests"),
    path("requests/<uuid:request_id>/", owner_views.account_respond, name="request"),
    path(
        "requests/<uuid:request_id>/answer/",
        owner_views.account_answer,
        name="request_answer",
    ),
    path(
        "requests/<uuid:request_id>/upload/<int:rc_id>/",
        owner_views.account_upload_page,
        name="request_upload",
    ),
    path(
        "requests/<uuid:request_id>/upload/<int:rc_id>/grant/",
        owner_views.account_grant,
        name="request_grant",
    ),
    path(
        "requests/<uuid:request_id>/receipt/",
        owner_views.account_receipt,
        name="request_receipt",
    ),
    path("live-ask/<uuid:ask_id>/", live_views.live_ask, name="live_ask"),
    path("live-ask/<uuid:ask_id>/answer/", live_views.live_ask_answer, name="live_ask_answer"),
]
