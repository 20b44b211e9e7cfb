"""Staff pages of footage requests, mounted at /staff/registry/footage/."""

from django.urls import path

from registry.footage import views

app_name = "registry_requests"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
    path("<uuid:request_id>/", views.request_detail, name="detail"),
    path("<uuid:request_id>/approve/", views.request_approve, name="approve"),
    path("<uuid:request_id>/refuse/", views.request_refuse, name="refuse"),
    path(
        "<uuid:request_id>/recipients/<int:recipient_id>/resend/",
        views.request_resend,
        name="resend",
    ),
]
