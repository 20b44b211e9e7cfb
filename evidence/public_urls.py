"""Evidence pages without a Canvass account: defence counsel's reshare link."""

from django.urls import path

from evidence import share_views

app_name = "evidence_public"

urlpatterns = [
    path("link/", share_views.link_download, name="link"),
]
