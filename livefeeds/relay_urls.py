"""The relay's callbacks (nginx on this host only, with RELAY_SECRET), mounted at /relay/."""

from django.urls import path

from livefeeds import relay_hooks

app_name = "relay"

urlpatterns = [
    path("rtmp/on_publish", relay_hooks.on_publish, name="on_publish"),
    path("rtmp/on_update", relay_hooks.on_update, name="on_update"),
    path("rtmp/on_publish_done", relay_hooks.on_publish_done, name="on_publish_done"),
    path("auth/hls", relay_hooks.auth_hls, name="auth_hls"),
]
