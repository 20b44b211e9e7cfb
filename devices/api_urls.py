"""The device API v1, mounted at /api/devices/v1/ (the contract: docs/device-api.md)."""

from django.urls import path

from devices import api, trigger_api

urlpatterns = [
    path("heartbeat", api.HeartbeatView.as_view(), name="api-devices-heartbeat"),
    path("commands", api.CommandsView.as_view(), name="api-devices-commands"),
    path("alerts", api.AlertsView.as_view(), name="api-devices-alerts"),
    path("triggers/", trigger_api.TriggerReceive.as_view(), name="api-devices-triggers"),
    path(
        "commands/<uuid:command_id>/ack",
        api.CommandAckView.as_view(),
        name="api-devices-command-ack",
    ),
    path("recordings", api.RecordingsView.as_view(), name="api-devices-recordings"),
    path(
        "recordings/<uuid:recording_id>", api.RecordingView.as_view(), name="api-devices-recording"
    ),
    path(
        "recordings/<uuid:recording_id>/track",
        api.TrackView.as_view(),
        name="api-devices-recording-track",
    ),
]
