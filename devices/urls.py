"""Staff pages of the body-camera inventory, mounted at /staff/devices/."""

from django.urls import path

from devices import ops_views, views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("add/", views.device_add, name="add"),
    path("officers/", views.officer_list, name="officers"),
    path("officers/<int:officer_id>/", views.officer_detail, name="officer"),
    path("officers/<int:officer_id>/training/", views.officer_training, name="officer_training"),
    path("recordings/", views.recording_list, name="recordings"),
    path("cad/", views.cad_settings, name="cad"),
    path("cad/secret/", views.cad_secret_rotate, name="cad_secret_rotate"),
    path("cad/activation/", views.cad_remote_activation, name="cad_remote_activation"),
    path("operations/", ops_views.operations, name="operations"),
    path("operations/events", ops_views.operations_events, name="operations_events"),
    path("alerts/<uuid:alert_id>/close/", ops_views.alert_close, name="alert_close"),
    path("triggers/", views.trigger_settings, name="triggers"),
    path("triggers/sources/", views.trigger_source_add, name="trigger_source_add"),
    path(
        "triggers/sources/<uuid:source_id>/rotate/",
        views.trigger_source_rotate,
        name="trigger_source_rotate",
    ),
    path(
        "triggers/sources/<uuid:source_id>/revoke/",
        views.trigger_source_revoke,
        name="trigger_source_revoke",
    ),
    path("triggers/rules/", views.alert_rule_set, name="alert_rule_set"),
    path("<uuid:device_id>/", views.device_detail, name="detail"),
    path("<uuid:device_id>/edit/", views.device_edit, name="edit"),
    path("<uuid:device_id>/check-out/", views.device_check_out, name="check_out"),
    path("<uuid:device_id>/check-in/", views.device_check_in, name="check_in"),
    path("<uuid:device_id>/credential/", views.credential_issue, name="credential_issue"),
    path("<uuid:device_id>/credential/revoke/", views.credential_revoke, name="credential_revoke"),
]
