"""Public tip pages under /tips/."""

from django.urls import include, path

from submissions import views

app_name = "submissions"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("", include("submissions.pwa_urls")),  # manifest, service worker, icons (PWA)
    # Before the agency page, so "return" is never read as an agency's slug.
    path("return/", views.return_start, name="return_start"),
    path("return/tip/", views.return_tip, name="return_tip"),
    path("return/tip/uploads/", views.return_upload_grant, name="return_upload_grant"),
    path("return/leave/", views.return_leave, name="return_leave"),
    path("<slug:slug>/", views.tip_form, name="tip_form"),
]
