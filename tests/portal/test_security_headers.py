"""The Content-Security-Policy on every kind of page, pages that keep to it, and the CSRF page.

The policy: scripts, styles and requests only from this site, no 'unsafe-inline', nothing may
frame us. The pages themselves must not need more: no inline <script> (JSON data blocks aside),
no inline event handler, no <style> element and no style="" attribute.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    path_of,
    search,
)

pytestmark = pytest.mark.django_db(transaction=True)

REQUIRED = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:", "blob:"},
    "media-src": {"'self'", "blob:"},
    "connect-src": {"'self'"},
    "font-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(response) -> None:
    directives = policy_of(response)
    for name, sources in REQUIRED.items():
        assert sources <= set(directives.get(name, [])), f"{name}: {directives.get(name)}"
    for name, values in directives.items():
        assert "'unsafe-inline'" not in values, name
        assert "'unsafe-eval'" not in values, name
        assert "*" not in values, name
    # Only 'self' and the page's nonce may run scripts.
    assert all(v == "'self'" or v.startswith("'nonce-") for v in directives["script-src"])


def assert_no_inline_code(response) -> None:
    html = response.content.decode()
    path = response.request["PATH_INFO"]
    assert not INLINE_SCRIPT.search(html), f"inline script on {path}"
    assert not INLINE_HANDLER.search(html), f"inline event handler on {path}"
    assert not INLINE_STYLE.search(html), f"inline style on {path}"


@pytest.fixture
def owner_link(police):
    """The no-account page a camera owner opens from a footage request email."""
    officer = investigator(police)
    shop = owner(role="business")
    camera = camera_facing_incident(shop)
    ask(officer, search(officer), [camera])
    [link] = links_in_outbox(shop.email)
    return path_of(link)


@pytest.mark.parametrize(
    "path",
    ["/", "/login/", "/tips/", "/cameras/map/", "/api/docs/", "/no-such-page/"],
)
def test_public_pages_and_the_404_send_the_strict_policy_and_need_nothing_inline(path):
    response = Client().get(path)
    assert response.status_code in (200, 404)
    assert_strict(response)
    assert_no_inline_code(response)


def test_staff_pages_send_the_strict_policy_and_need_nothing_inline(make_staff, signed_in):
    client = signed_in(make_staff())
    for name in ("portal:dashboard", "registry:map", "registry:search", "evidence:list"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_strict(response)
        assert_no_inline_code(response)


def test_api_answers_and_the_403_page_carry_the_policy(resident, signed_in):
    assert_strict(Client().get("/api/me/"))
    assert_strict(Client().get("/api/schema/"))
    denied = signed_in(resident).get(reverse("portal:dashboard"))
    assert denied.status_code == 403
    assert_strict(denied)
    assert_no_inline_code(denied)


def test_the_owner_token_page_keeps_the_policy_and_its_own_referrer_policy(owner_link):
    response = Client().get(owner_link)
    assert response.status_code == 200
    assert_strict(response)
    assert_no_inline_code(response)
    # same-origin: the token stays off other sites, yet the owner's forms post a real Origin.
    assert response["Referrer-Policy"] == "same-origin"


def test_swagger_ui_starts_from_a_static_script_with_its_settings_as_data():
    html = Client().get("/api/docs/").content.decode()
    assert re.search(r'<script src="[^"]*/js/swagger-init\.js"', html)
    assert 'data-schema-url="/api/schema/"' in html


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "The form could not be sent"), ("es", "No se pudo enviar el formulario")],
)
def test_a_refused_form_gets_the_site_page_in_the_visitors_language(language, title):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    response = client.post(reverse("portal:login"), {"email": "a@example.org", "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page
    assert 'id="csrf-failure"' in page and '<header class="top">' in page  # base.html
    assert "CSRF verification failed" not in page  # not Django's bare page
    assert_strict(response)


def test_my_cameras_asks_before_delete_without_an_inline_handler(signed_in):
    resident = owner()
    camera_facing_incident(resident)
    response = signed_in(resident).get(reverse("cameras:mine"))
    assert response.status_code == 200
    assert_strict(response)
    assert_no_inline_code(response)
    assert 'data-confirm="Delete this camera?' in response.content.decode()
