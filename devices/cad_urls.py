"""The CAD webhook, mounted at /api/cad/v1/."""

from django.urls import path

from devices import cad_api

urlpatterns = [
    path("incidents", cad_api.IncidentReceive.as_view(), name="api-cad-incidents"),
]
