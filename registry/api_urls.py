"""Registry API, mounted at /api/registry/."""

from django.urls import path  # noqa: F401 - patterns are added below

urlpatterns: list = []
