"""Mounted inside portal's namespace, so `portal:home` and `portal:dashboard` keep their names."""

from django.urls import path

from workbench import views

urlpatterns = [
    path("", views.home, name="home"),
    path("footage-request/", views.footage_link, name="footage_link"),
    path("staff/", views.dashboard, name="dashboard"),
]
