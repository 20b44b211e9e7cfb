"""Owners' and public pages of the registry, mounted at /cameras/."""

from django.urls import path  # noqa: F401 - patterns are added below

app_name = "cameras"

urlpatterns: list = []
