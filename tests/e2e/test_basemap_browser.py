"""The maps draw the agency's own basemap, in Chromium at 390 px and 1366 px.

The demo town's PMTiles file is served by Canvass with HTTP Range and painted on canvas by
protomaps-leaflet; each map outlines the jurisdiction, has a legend and address search, and
nothing on it fails to load. Timings are printed (never asserted).
"""

import datetime as dt
import time
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone
from playwright.sync_api import expect

from evidence.models import ValueSource
from portal import demo_town
from tests.e2e.conftest import ARTIFACTS, PHONE, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.cases_helpers import make_case
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1366, "height": 900}

# A canvas tile counts as painted when it holds at least three colours (land, a street and its
# casing or label): a blank or failed tile is one colour or none.
PAINTED = """(selector) => {
  for (const canvas of document.querySelectorAll(`${selector} canvas.leaflet-tile-loaded`)) {
    const { width, height } = canvas;
    if (!width || !height) continue;
    const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4 * 97) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    if (colours.size >= 3) return true;
  }
  return false;
}"""


@pytest.fixture(params=[PHONE, LAPTOP], ids=["390px", "1366px"])
def page(browser, request):
    context = browser.new_context(viewport=request.param)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def riverton(police):
    police.jurisdiction = MultiPolygon(Polygon.from_bbox(demo_town.BBOX), srid=4326)
    police.save(update_fields=["jurisdiction"])
    return police


def basemap_read_cancelled(request) -> bool:
    """The map cancels a basemap read it no longer needs (the view moved, or the page left):
    the browser reports that as a failure, ERR_ABORTED, though nothing went wrong."""
    return request.url.endswith(".pmtiles") and request.failure == "net::ERR_ABORTED"


def _watch(page) -> tuple[list[str], list[int]]:
    """Failed requests (any 4xx/5xx or network failure), and the basemap answers' statuses."""
    failed: list[str] = []
    basemap: list[int] = []
    page.on(
        "requestfailed",
        lambda r: (
            None if basemap_read_cancelled(r) else failed.append(f"failed: {r.url} ({r.failure})")
        ),
    )

    def check(response):
        path = urlsplit(response.url).path
        if path.endswith(".pmtiles"):
            basemap.append(response.status)
        if response.status >= 400 and path != "/favicon.ico":
            failed.append(f"{response.status} from {response.url}")

    page.on("response", check)
    return failed, basemap


def _assert_basemap_drawn(page, map_id: str, basemap: list[int]) -> float:
    started = time.monotonic()
    page.wait_for_function(PAINTED, arg=f"#{map_id}", timeout=20_000)
    took = time.monotonic() - started
    assert basemap and set(basemap) == {206}, basemap  # every read was a byte range
    expect(page.locator(f"#{map_id}")).to_have_attribute("data-basemap", "pmtiles")
    expect(page.locator(f"#{map_id} path.agency-outline")).to_have_count(1)
    legend = page.locator(f'.map-legend[data-for="{map_id}"]')
    expect(legend).to_be_visible()
    expect(legend.locator(".key-area")).to_have_count(1)
    # No configuration hints for the public: the attribution names no set-up.
    expect(page.locator(f"#{map_id} .leaflet-control-attribution")).not_to_contain_text("MAP_")
    return took


def _search_address_moves_the_map(page, map_id: str, address: str, label: str) -> None:
    box = page.locator(f"#{map_id} .map-search")
    box.get_by_role("searchbox").fill(address)
    box.get_by_role("button").click()
    expect(box.locator(".map-search-status")).to_have_text(label)
    found = page.locator(f"#{map_id} path.found-place")
    expect(found).to_have_count(1)
    # The map is centred on the place found (within a few pixels, once the pan has ended).
    wait_until(
        page,
        f"""() => {{
            const m = document.getElementById("{map_id}").getBoundingClientRect();
            const f = document.querySelector("#{map_id} path.found-place").getBoundingClientRect();
            return Math.abs((f.left + f.right) / 2 - (m.left + m.right) / 2) < 6
                && Math.abs((f.top + f.bottom) / 2 - (m.top + m.bottom) / 2) < 6;
        }}""",
    )


def test_the_public_map_draws_the_basemap_outline_legend_and_finds_an_address(
    live_server, page, riverton, geocoder
):
    failed, basemap = _watch(page)
    started = time.monotonic()
    page.goto(f"{live_server.url}/cameras/map/")
    took = _assert_basemap_drawn(page, "public-map", basemap)
    print(f"public map: basemap painted {time.monotonic() - started:.2f} s after navigation")
    assert took < 60
    legend = page.locator('.map-legend[data-for="public-map"]')
    expect(legend).to_contain_text("Number of cameras")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"basemap-public-{page.viewport_size['width']}px.png"))
    _search_address_moves_the_map(
        page, "public-map", "200 Main Street, Riverton", "200 Main Street, Riverton"
    )
    page.locator("#public-map .map-search").get_by_role("searchbox").fill("nowhere at all")
    page.locator("#public-map .map-search").get_by_role("button").click()
    expect(page.locator("#public-map .map-search-status")).to_have_text(
        "No place matches that address."
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert not failed, failed


def test_staff_maps_draw_the_basemap_pins_radius_and_case_popups(
    live_server, page, riverton, make_staff, geocoder
):
    investigator = make_staff()
    lat, lon = demo_town.main_street_lat(), -73.9560
    item = stored_item(
        agency=riverton,
        original_filename="doorbell.mp4",
        location=Point(lon, lat, srid=4326),
        location_source=ValueSource.UPLOADER_CLAIM,
    )
    case = make_case(
        lead=investigator, items=[item], incident_point=Point(lon + 0.001, lat, srid=4326)
    )
    _sign_in(page, live_server.url, investigator)
    failed, basemap = _watch(page)

    # The find-cameras map: the incident pin's images load, the search radius is drawn.
    page.goto(f"{live_server.url}/staff/registry/search/")
    _assert_basemap_drawn(page, "search-map", basemap)
    the_map = page.locator("#search-map")
    box = the_map.bounding_box()
    the_map.click(position={"x": box["width"] / 3, "y": box["height"] * 2 / 3})
    pin = page.locator("#search-map img.leaflet-marker-icon")
    expect(pin).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=pin.element_handle())
    now = timezone.now()
    page.fill("#id_case_number", "RPD-2026-0001")
    page.select_option("#id_reason_category", "property_crime")
    page.fill("#id_reason", "Bike stolen on Main Street")
    page.fill("#id_window_start", f"{now - dt.timedelta(hours=3):%Y-%m-%dT%H:%M}")
    page.fill("#id_window_end", f"{now - dt.timedelta(hours=2):%Y-%m-%dT%H:%M}")
    page.fill("#id_radius_m", "120")
    page.click("#run-search")
    expect(page.locator("#search-results")).to_be_visible()
    expect(page.locator("#search-map path.search-radius")).to_have_count(1)
    expect(page.locator('.map-legend[data-for="search-map"]')).to_contain_text(
        "Search radius (120 m)"
    )
    _assert_basemap_drawn(page, "search-map", basemap)
    _search_address_moves_the_map(
        page, "search-map", "200 Main Street, Riverton", "200 Main Street, Riverton"
    )

    # The case map: a legend, and each marker's popup is its label as text.
    page.goto(f"{live_server.url}/staff/evidence/cases/{case.pk}/")
    _assert_basemap_drawn(page, "case-map", basemap)
    legend = page.locator('.map-legend[data-for="case-map"]')
    expect(legend).to_contain_text("Evidence item")
    expect(legend).to_contain_text("Incident")
    markers = page.locator("#case-map path.leaflet-interactive")
    expect(markers).to_have_count(2)
    # Click a marker once the map has settled in view: during fitBounds' zoom animation the
    # markers are scaled and moving, and a click lands beside them.
    markers.first.scroll_into_view_if_needed()
    page.wait_for_function(
        """() => !document.querySelector('#case-map.leaflet-zoom-anim') &&
            [...document.querySelectorAll('#case-map path.leaflet-interactive')].every(
                (p) => p.getBoundingClientRect().width <= 20)"""
    )
    for i, label in enumerate(["doorbell.mp4", "Incident"]):  # in the order the page adds them
        markers.nth(i).click(force=True)
        popup = page.locator("#case-map .leaflet-popup-content", has_text=label)
        expect(popup).to_be_visible()
        expect(popup).to_have_text(label)
        assert popup.locator("script, img").count() == 0
    expect(page.locator("#case-map .leaflet-popup-content a")).to_have_attribute(
        "href", f"/staff/evidence/{item.pk}/"
    )
    assert not failed, failed
