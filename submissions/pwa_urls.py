"""The tip pages' web app files, under /tips/ so the service worker's scope covers them.

Included by submissions/urls.py, so the names live in its "submissions" namespace.
"""

from django.urls import path

from submissions import pwa

urlpatterns = [
    path("manifest.webmanifest", pwa.manifest, name="pwa_manifest"),
    path("sw.js", pwa.service_worker, name="pwa_service_worker"),
    path("icon-<int:size>.png", pwa.icon, name="pwa_icon"),
    path("offline-strings.json", pwa.offline_strings, name="pwa_offline_strings"),
]
