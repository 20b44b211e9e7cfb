"""The owner's "who looked at my cameras" page, mounted at /cameras/mine/history/."""

from django.urls import path

from registry.footage import views

app_name = "camera_history"

urlpatterns = [
    path("", views.access_history, name="all"),
    path("<uuid:camera_id>/", views.access_history, name="camera"),
]
