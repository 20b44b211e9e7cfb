"""Live feeds: staff pages at /staff/live/; the relay's callbacks at /relay/ (relay_urls)."""

from django.urls import path

from livefeeds import views, watch_views

app_name = "livefeeds"

urlpatterns = [
    path("", views.live_list, name="list"),
    path("watched-me/", views.watched_me, name="watched_me"),
    path("devices/<uuid:device_id>/watch/", views.watch, name="watch"),
    path("cameras/<uuid:camera_id>/watch/", watch_views.watch_camera, name="watch_camera"),
    path("incidents/<int:incident_id>/wall/", watch_views.wall, name="wall"),
    path("views/<uuid:view_id>/", views.view, name="view"),
    path("views/<uuid:view_id>/status", views.view_status, name="view_status"),
    path("views/<uuid:view_id>/renew", views.view_renew, name="view_renew"),
    path("views/<uuid:view_id>/end", views.view_end, name="view_end"),
    path("views/<uuid:view_id>/revoke", views.view_revoke, name="view_revoke"),
]

# Clips from the viewer page (livefeeds.clip_views).
from livefeeds import clip_views  # noqa: E402

urlpatterns += [
    path("views/<uuid:view_id>/clips/", clip_views.clip_save, name="clip_save"),
    path("views/<uuid:view_id>/clips/status", clip_views.clip_status, name="clip_status"),
]
