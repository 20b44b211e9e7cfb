"""Every map's pin images load, in Chromium: the tip form, an item's map, the find-cameras map,
the tips inbox and a tip's own map.

Leaflet guesses where its marker images are from its stylesheet's URL; with hashed static names
(production) the guess pointed at files that do not exist and every pin was a broken image. The
maps now name the images' static URLs (static/js/leaflet-icons.js).
"""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from evidence.models import ValueSource
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import Tip, TipCategory
from tests.e2e.test_basemap_browser import basemap_read_cancelled
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _serve_leaflet_css_as_collected(page) -> None:
    """leaflet.css as production serves it: collectstatic's manifest storage rewrites its image
    URLs to hashed names (images/marker-icon.<hash>.png). The test server serves unhashed files.
    """

    def rewrite(route):
        response = route.fetch()
        css = re.sub(
            r"url\(images/([\w-]+)\.png\)", r"url(images/\1.5f1c2e3a9b7d.png)", response.text()
        )
        route.fulfill(response=response, body=css)

    page.route("**/static/leaflet/leaflet.css", rewrite)


def _watch_requests(page) -> list[str]:
    _serve_leaflet_css_as_collected(page)
    failed: list[str] = []
    page.on(
        "requestfailed",
        lambda r: (
            None if basemap_read_cancelled(r) else failed.append(f"failed: {r.url} ({r.failure})")
        ),
    )

    def check(response):
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            failed.append(f"{response.status} from {response.url}")

    page.on("response", check)
    return failed


def _assert_pin_images_load(page, map_selector: str, failed: list[str]) -> None:
    pin = page.locator(f"{map_selector} img.leaflet-marker-icon").first
    expect(pin).to_be_attached()
    page.wait_for_function("img => img.complete", arg=pin.element_handle())
    assert pin.evaluate("img => img.naturalWidth") > 0, pin.get_attribute("src")
    shadow = page.locator(f"{map_selector} img.leaflet-marker-shadow").first
    page.wait_for_function("img => img.complete", arg=shadow.element_handle())
    assert shadow.evaluate("img => img.naturalWidth") > 0, shadow.get_attribute("src")
    assert not failed, failed


@pytest.fixture
def tip_with_place(police):
    seed_categories(police)
    tip_services.tip_create(
        agency=police,
        category=TipCategory.objects.filter(agency=police).first(),
        description="A grey van by the school every night.",
        occurred_at=dt.datetime(2026, 1, 15, 21, 30, tzinfo=dt.UTC),
        latitude=40.75,
        longitude=-73.95,
    )
    return Tip.objects.get()


def test_the_tip_forms_pin_loads(live_server, phone, tip_with_place, police):
    failed = _watch_requests(phone)
    phone.goto(f"{live_server.url}/tips/{police.slug}/")
    expect(phone.locator("#tip-map.leaflet-container")).to_be_visible()
    phone.locator("#tip-map").click()
    _assert_pin_images_load(phone, "#tip-map", failed)


def test_the_staff_maps_pins_load(live_server, phone, make_staff, police, tip_with_place):
    item = stored_item(
        agency=police,
        location=Point(-73.95, 40.75, srid=4326),
        location_source=ValueSource.UPLOADER_CLAIM,
    )
    _sign_in(phone, live_server.url, make_staff())
    failed = _watch_requests(phone)

    phone.goto(f"{live_server.url}/staff/evidence/{item.pk}/")
    _assert_pin_images_load(phone, "#item-map", failed)

    phone.goto(f"{live_server.url}/staff/registry/search/")
    expect(phone.locator("#search-map.leaflet-container")).to_be_visible()
    phone.locator("#search-map").click()
    _assert_pin_images_load(phone, "#search-map", failed)

    phone.goto(f"{live_server.url}/staff/tips/")
    _assert_pin_images_load(phone, "#tips-map", failed)

    phone.goto(f"{live_server.url}/staff/tips/{tip_with_place.reference}/")
    _assert_pin_images_load(phone, "#item-map", failed)
