"""Owners' and public pages of the registry, mounted at /cameras/."""

from django.urls import path

from registry import public_views as views

app_name = "cameras"

urlpatterns = [
    path("map/", views.public_map, name="map"),
    path("mine/", views.camera_list, name="mine"),
    path("mine/new/", views.camera_new, name="new"),
    path("mine/import/", views.camera_import, name="import"),
    path("mine/<uuid:camera_id>/", views.camera_edit, name="edit"),
    path("mine/<uuid:camera_id>/pause/", views.camera_pause, name="pause"),
    path("mine/<uuid:camera_id>/resume/", views.camera_resume, name="resume"),
    path("mine/<uuid:camera_id>/delete/", views.camera_delete, name="delete"),
]
