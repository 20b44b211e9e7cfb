"""Stored XSS through a camera name, in Chromium, and the Content-Security-Policy behind it.

A resident names a camera with an HTML payload. The investigator opens the agency map and the
map of cameras near an incident and clicks the camera: the popup shows the name as text and the
payload never runs. And should markup ever get into a page, the CSP refuses its inline handler.
"""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.registry.cameras import INCIDENT, owner
from tests.registry.requests_helpers import camera_facing_incident

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

PAYLOAD = "<img src=x onerror=\"window.__pwned=1;document.title='pwned'\">"


def _local(value: dt.datetime) -> str:
    # Staff type times on the agency's wall clock (portal.timefields).
    return value.astimezone(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def _assert_popup_is_text_and_payload_did_not_run(page, map_id: str) -> None:
    # The camera's dot is the last interactive shape drawn (after its view cone).
    page.locator(f"#{map_id} path.leaflet-interactive").last.click()
    popup = page.locator(f"#{map_id} .leaflet-popup-content")
    expect(popup).to_contain_text(PAYLOAD)
    expect(popup.locator("img")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
    assert page.title() != "pwned"


@pytest.fixture
def hostile_camera(db):
    resident = owner()
    return camera_facing_incident(resident, name=PAYLOAD, is_public=False)


def test_a_camera_named_with_html_shows_as_text_on_the_agency_map(
    live_server, phone, make_staff, hostile_camera
):
    _sign_in(phone, live_server.url, make_staff())
    phone.goto(f"{live_server.url}/staff/registry/map/")
    expect(phone.locator("#agency-map.leaflet-container")).to_be_visible()
    # Single cameras show from zoom 15: zoom in on the middle of the area, where the camera is.
    status = phone.locator("#map-status")
    for _ in range(6):
        if phone.locator("#agency-map path.leaflet-interactive").count():
            break
        loaded = phone.locator("#agency-map").get_attribute("data-loaded")
        phone.locator(".leaflet-control-zoom-in").click()
        expect(phone.locator("#agency-map")).not_to_have_attribute("data-loaded", loaded or "")
    expect(status).to_have_text("1 camera in view.")
    _assert_popup_is_text_and_payload_did_not_run(phone, "agency-map")


def test_a_camera_named_with_html_shows_as_text_on_the_map_near_an_incident(
    live_server, phone, make_staff, hostile_camera
):
    _sign_in(phone, live_server.url, make_staff())
    now = timezone.now()
    phone.goto(f"{live_server.url}/staff/registry/search/")
    phone.fill("#id_case_number", "RPD-2026-0100")
    phone.select_option("#id_reason_category", "property_crime")
    phone.fill("#id_reason", "Break-in")
    phone.fill("#id_window_start", _local(now - dt.timedelta(hours=3)))
    phone.fill("#id_window_end", _local(now - dt.timedelta(hours=2)))
    expect(phone.locator("#search-map.leaflet-container")).to_be_visible()
    phone.locator("#search-map").click()  # the incident: the map's middle, 20 m from the camera
    expect(phone.locator("input[type=hidden][name=latitude]")).not_to_have_value("")
    phone.click("#run-search")
    expect(phone.locator("#search-results")).to_contain_text(PAYLOAD)
    lat, lon = INCIDENT
    assert abs(float(phone.input_value("input[name=latitude]")) - lat) < 0.01
    _assert_popup_is_text_and_payload_did_not_run(phone, "search-map")


@pytest.mark.csp_violations_expected
def test_the_policy_refuses_an_inline_handler_that_gets_into_a_page(live_server, phone):
    phone.goto(f"{live_server.url}/cameras/map/")
    refused = phone.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation",
              (e) => resolve(e.violatedDirective), { once: true });
            document.body.insertAdjacentHTML("beforeend",
              `<img id="injected" src="data:," onerror="window.__pwned=1">`);
            setTimeout(() => resolve(null), 5000);
        })"""
    )
    assert refused is not None and refused.startswith("script-src")
    assert phone.evaluate("window.__pwned") is None


def test_swagger_ui_runs_under_the_policy(live_server, phone):
    # Its start-up script is a static file now; the console check fails the test on a violation.
    phone.goto(f"{live_server.url}/api/docs/")
    expect(phone.locator("#swagger-ui .info .title")).to_contain_text("Canvass API")
