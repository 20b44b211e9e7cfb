"""Routes under /api/uploads/: the tus endpoints and the staff grant endpoint."""

from django.urls import path

from evidence.intake import tus

app_name = "uploads"

urlpatterns = [
    path("", tus.upload_collection, name="create"),
    # Before the upload URL, so "grants" is never read as an upload id.
    path("grants/", tus.GrantCreate.as_view(), name="grants"),
    path("<uuid:upload_id>", tus.upload_resource, name="upload"),
]
