"""Public transparency pages under /transparency/: no sign-in."""

from django.urls import path

from transparency import views

app_name = "transparency"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.agency_page, name="agency"),
    path("<slug:slug>/footage-requests/", views.footage_log_page, name="footage_log"),
    path("<slug:slug>/data/<slug:table>.<str:fmt>", views.data, name="data"),
]
