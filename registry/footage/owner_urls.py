"""The camera owner's no-account pages for one footage request, mounted at /footage/.

Every URL names the request; the owner's token rides in the `t` query parameter.
"""

from django.urls import path

from registry.footage import owner_views

app_name = "registry_owner"

urlpatterns = [
    path("<uuid:request_id>/", owner_views.respond, name="respond"),
    path("<uuid:request_id>/answer/", owner_views.answer, name="answer"),
    path("<uuid:request_id>/upload/<int:rc_id>/", owner_views.upload_page, name="upload"),
    path("<uuid:request_id>/upload/<int:rc_id>/grant/", owner_views.grant, name="grant"),
    path("<uuid:request_id>/receipt/", owner_views.receipt, name="receipt"),
]
