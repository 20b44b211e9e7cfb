"""The audit chain's published checkpoints, no sign-in: include under "audit/checkpoints/"."""

from django.urls import path

from portal import checkpoint_views

app_name = "checkpoints"

urlpatterns = [
    path("<slug:agency_slug>/", checkpoint_views.checkpoint_list, name="list"),
    path("<slug:agency_slug>/latest.json", checkpoint_views.checkpoint_latest, name="latest"),
    path(
        "<slug:agency_slug>/<int:checkpoint_id>.json",
        checkpoint_views.checkpoint_download,
        name="download",
    ),
]
