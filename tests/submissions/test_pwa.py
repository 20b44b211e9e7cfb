"""The tip pages' web app files: manifest, icons, service worker and the offline queue's words."""

import io
import json
import re

import pytest
from django.core.management import call_command
from PIL import Image

pytestmark = pytest.mark.django_db


def test_manifest_installs_the_tip_pages_with_icons_that_exist(client):
    response = client.get("/tips/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["scope"] == "/tips/" and manifest["start_url"] == "/tips/"
    assert manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(png.content)) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add(image.width)
    assert {192, 512} <= sizes


def test_only_the_listed_icon_sizes_exist(client):
    assert client.get("/tips/icon-64.png").status_code == 404
    assert client.get("/tips/icon-99999999.png").status_code == 404


def test_service_worker_covers_the_tip_pages_and_keeps_the_shell(client):
    response = client.get("/tips/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/tips/"
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    for kept in ("/static/dist/tip.js", "/static/dist/tip-offline.js", "/static/css/canvass.css"):
        assert f'"{kept}"' in script
    # Return pages show a tip's status and messages: they are never kept on the phone.
    assert '"RETURN_PREFIX": "/tips/return/"' in script


def test_app_files_refuse_writes(client):
    for path in ("/tips/sw.js", "/tips/manifest.webmanifest", "/tips/offline-strings.json"):
        assert client.post(path).status_code == 405


def test_offline_words_follow_the_browsers_language(client):
    english = client.get("/tips/offline-strings.json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["saved"].startswith("Saved on this phone.")
    spanish = client.get("/tips/offline-strings.json", HTTP_ACCEPT_LANGUAGE="es").json()
    assert set(spanish) == set(english)
    assert spanish["saved"].startswith("Guardado en este teléfono.")
    assert spanish["savedAfterFailure"].startswith("No se pudo contactar con el servidor")
    # Every string differs from the English one: none was left untranslated.
    assert not [key for key in english if english[key] == spanish[key]]
    assert "%(reason)s" in spanish["failed"] and "%(done)s" in spanish["sendingFiles"]


def test_service_worker_works_with_hashed_static_names(settings, tmp_path, client):
    # Production serves static files under hashed names (make run does too): the worker's
    # list of files to keep must resolve through that storage, not only the plain one.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)

    response = client.get("/tips/sw.js")

    assert response.status_code == 200
    body = response.content.decode()
    assert '"STATIC_PREFIX": "/static/"' in body
    hashed = re.search(r"/static/dist/tip\.[0-9a-f]{12}\.js", body)
    assert hashed, "the shell should list the hashed bundle"
