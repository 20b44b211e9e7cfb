"""Staff pages of the registry, mounted at /staff/registry/."""

from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("map/", views.agency_map, name="map"),
    path("search/", views.search, name="search"),
    path("search/<uuid:search_id>/", views.search_results, name="search_results"),
]
