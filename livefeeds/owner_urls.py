"""The camera owner's "who looked" page, mounted at /cameras/mine/ beside registry's own live
page (registry cannot import livefeeds)."""

from django.urls import path

from livefeeds import watch_views

app_name = "live_owner"

urlpatterns = [
    path("<uuid:camera_id>/live/who-looked/", watch_views.who_looked, name="who_looked"),
]
