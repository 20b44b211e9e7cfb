"""Staff pages of the registry, mounted at /staff/registry/."""

from django.urls import path  # noqa: F401 - patterns are added below

app_name = "registry"

urlpatterns: list = []
