"""A business registers a camera by dragging the pin (Debian's Chromium, phone-sized screen)."""

import datetime as dt
import json
import time
import zoneinfo

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from playwright.sync_api import expect

from registry.models import Camera, CameraSearch
from tests.e2e.conftest import fits_the_width
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.factories import PASSWORD, PublicUserFactory, UserFactory, add_totp_device
from tests.registry.cameras import INCIDENT, offset, owner, register

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    (x, y), (to_x, to_y) = start, end
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move((x + to_x) / 2, (y + to_y) / 2, steps=5)
    page.mouse.move(to_x, to_y, steps=5)
    page.mouse.up()


def register_camera_by_dragging(
    page, base_url: str, *, name: str, east_px: int, north_px: int, hours=None
):
    """Open the form, drag the pin, pick the "shop front" preset, aim the cone by dragging its
    handle, save. Returns the pin's lat/lon and the direction and range the handle set (strings)."""
    page.goto(f"{base_url}/cameras/mine/new/")
    pin = page.locator("#camera-pin")
    expect(pin).to_be_visible()
    start_lat = page.input_value("#id_latitude")
    x, y = _centre(pin)
    _drag(page, (x, y), (x + east_px, y - north_px))
    expect(page.locator("#id_latitude")).not_to_have_value(start_lat)
    page.fill("#id_name", name)
    page.get_by_role("button", name="Shop front camera").click()
    expect(page.locator("#id_kind")).to_have_value("fixed")
    expect(page.locator("#id_fov_angle_deg")).to_have_value("110")
    expect(page.locator("#id_range_m")).to_have_value("15")
    expect(page.locator("#preset-status")).to_contain_text("Shop front camera")
    # The keyboard's way stays: the cone follows the direction typed in.
    cone = page.locator("#camera-map path.leaflet-interactive, #camera-map path").first
    before = cone.get_attribute("d")
    page.fill("#id_direction_deg", "180")
    page.dispatch_event("#id_direction_deg", "input")
    assert cone.get_attribute("d") != before
    # The handle sits at the cone's tip (15 m south of the pin); dragged 40 px east and 40 px
    # north of the pin, the camera looks north-east (45°) about 57 px away (~26 m at zoom 18).
    handle = page.locator("#cone-handle")
    pin_x, pin_y = _centre(pin)
    assert _centre(handle)[1] > pin_y + 10, "the handle starts south of the pin"
    before = cone.get_attribute("d")
    _drag(page, _centre(handle), (pin_x + 40, pin_y - 40))
    expect(page.locator("#id_direction_deg")).not_to_have_value("180")
    direction = int(page.input_value("#id_direction_deg"))
    distance = int(page.input_value("#id_range_m"))
    assert 40 <= direction <= 50 and 20 <= distance <= 32, (direction, distance)
    assert cone.get_attribute("d") != before
    page.fill("#id_retention_days", "14")
    page.locator("input[name=participation][value=upload_on_request]").check()
    expect(page.locator("#id_participation_2-help")).to_contain_text("upload it")
    if hours:
        expect(page.locator("#recording-hours")).to_be_hidden()
        page.locator("#id_records_always").uncheck()
        page.fill("#id_records_from", hours[0])
        page.fill("#id_records_until", hours[1])
    position = page.input_value("#id_latitude"), page.input_value("#id_longitude")
    aimed = page.input_value("#id_direction_deg"), page.input_value("#id_range_m")
    page.click("#save-camera")
    expect(page).to_have_url(f"{base_url}/cameras/mine/")
    expect(page.locator("#camera-table")).to_contain_text(name)
    return position, aimed


def test_a_business_registers_a_camera_by_dragging_the_pin_and_the_cone(
    live_server, sized_page, police
):
    page = sized_page
    business = PublicUserFactory(role="business", email="shop@example.org")
    base_url = live_server.url
    started = time.monotonic()
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(business.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{base_url}/cameras/mine/")
    expect(page.locator("#add-camera")).to_be_visible()

    (lat, lon), (direction, distance) = register_camera_by_dragging(
        page, base_url, name="Corner shop", east_px=60, north_px=40, hours=("18:30", "06:00")
    )
    print(f"journey: register a camera by dragging: {time.monotonic() - started:.1f} s")

    cam = Camera.objects.get(owner=business)
    assert cam.name == "Corner shop" and cam.kind == "fixed" and cam.fov_angle_deg == 110
    assert (cam.direction_deg, cam.range_m) == (int(direction), int(distance))
    assert cam.direction_deg != 180 and cam.range_m != 15  # the handle, not the preset, aimed it
    assert (str(cam.records_from), str(cam.records_until)) == ("18:30:00", "06:00:00")
    assert cam.participation == "upload_on_request"
    assert cam.location.y == pytest.approx(float(lat), abs=1e-7)
    assert cam.location.x == pytest.approx(float(lon), abs=1e-7)
    # Dragged north-east of where the map opened (the default centre): the pin really moved.
    assert cam.location.y > INCIDENT[0] and cam.location.x > INCIDENT[1]
    # The agency's zone, left under "advanced" untouched.
    assert cam.time_zone == "America/New_York" and police.id in cam.jurisdiction_ids
    fits_the_width(page)


def test_an_area_drawn_on_the_search_map_finds_a_camera_outside_the_radius(
    live_server, phone, police
):
    # 1 px is about 1.8 m at zoom 16 and this latitude: the camera stands ~150 m east of the
    # incident, looking west into the area drawn 110-220 m east; the radius is 50 m.
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, 0, 150), name="Car park", direction_deg=270, range_m=20)
    register(owner(), *offset(lat, lon, 0, 400), name="Far away", direction_deg=90)
    staff = UserFactory(agency=police)
    add_totp_device(staff)
    now = timezone.now()
    base_url = live_server.url
    _sign_in(phone, base_url, staff)
    phone.goto(f"{base_url}/staff/registry/search/")
    phone.fill("#id_case_number", "RPD-2026-0123")
    phone.select_option("#id_reason_category", "property_crime")
    phone.fill("#id_reason", "Car stolen from the car park")
    phone.fill("#id_window_start", _utc(now - dt.timedelta(hours=3)))
    phone.fill("#id_window_end", _utc(now - dt.timedelta(hours=2)))
    phone.fill("#id_radius_m", "50")
    the_map = phone.locator("#search-map")
    expect(phone.locator("#search-map[data-ready='1']")).to_have_count(1)
    box = the_map.bounding_box()
    cx, cy = box["width"] / 2, box["height"] / 2
    the_map.click(position={"x": cx, "y": cy})  # the incident
    expect(phone.locator("#id_latitude")).not_to_have_value("")
    phone.click("#area-draw")
    for dx, dy in ((60, -40), (120, -40), (120, 40), (60, 40)):
        the_map.click(position={"x": cx + dx, "y": cy + dy})
    expect(phone.locator("#area-status")).to_contain_text("4 corners")
    assert phone.input_value("#id_area") == ""  # written only when finished
    phone.click("#area-finish")
    area = json.loads(phone.input_value("#id_area"))
    assert area["type"] == "Polygon" and len(area["coordinates"][0]) == 5
    phone.click("#run-search")

    results = phone.locator("#search-results")
    expect(results).to_contain_text("Car park")
    expect(results).to_contain_text("or watching the area")
    expect(results).not_to_contain_text("Far away")
    expect(phone.locator("#search-reason-category")).to_have_text("Property crime")
    search = CameraSearch.objects.get()
    assert search.radius_m == 50 and search.area is not None
    assert search.reason_category == "property_crime"
    assert search.area.contains(Point(*reversed(offset(lat, lon, 0, 150)), srid=4326))
    # The results page keeps the area: the form can run again with it.
    assert json.loads(phone.input_value("#id_area"))["type"] == "Polygon"
    expect(phone.locator("#area-status")).to_contain_text("Area of 4 corners")


def _utc(value) -> str:
    # Staff type times on the agency's wall clock (portal.timefields).
    return value.astimezone(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def test_searching_an_address_moves_the_pin_and_the_cone_there(
    live_server, sized_page, police, geocoder
):
    """The map's address search puts the camera's pin (and its cone) on the place found."""
    page = sized_page
    failed = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
    business = PublicUserFactory(role="business", email="search@example.org")
    base_url = live_server.url
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(business.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).not_to_have_url(f"{base_url}/login/")
    page.goto(f"{base_url}/cameras/mine/new/")
    pin = page.locator("#camera-pin")
    handle = page.locator("#cone-handle")
    expect(pin).to_be_visible()
    page.wait_for_function("() => document.getElementById('camera-map').dataset.ready === '1'")
    start = page.input_value("#id_latitude"), page.input_value("#id_longitude")
    (pin_x, pin_y), (handle_x, handle_y) = _centre(pin), _centre(handle)
    cone = page.locator("#camera-map path.leaflet-interactive, #camera-map path").first
    cone_before = cone.get_attribute("d")

    search = page.locator("#camera-map .map-search")
    search.get_by_role("searchbox").fill("200 Main Street, Riverton")
    search.get_by_role("button").click()
    expect(page.locator("#id_latitude")).to_have_value("40.7576000")
    expect(page.locator("#id_longitude")).to_have_value("-73.9530000")
    assert (page.input_value("#id_latitude"), page.input_value("#id_longitude")) != start
    assert geocoder == ["200 Main Street, Riverton"]
    expect(page.locator("#pin-position")).to_have_text(
        "Pin moved to the address found, 200 Main Street, Riverton (40.7576000, -73.9530000). "
        "Drag it onto the camera if it is not exactly there."
    )
    # The pin sits on the place found (the map centred there), the cone and its handle with it.
    page.wait_for_function(
        """() => {
            const m = document.getElementById("camera-map").getBoundingClientRect();
            const p = document.getElementById("camera-pin").getBoundingClientRect();
            return Math.abs((p.left + p.right) / 2 - (m.left + m.right) / 2) < 3
                && Math.abs((p.top + p.bottom) / 2 - (m.top + m.bottom) / 2) < 3;
        }"""
    )
    (new_pin_x, new_pin_y), (new_handle_x, new_handle_y) = _centre(pin), _centre(handle)
    assert abs((new_handle_x - new_pin_x) - (handle_x - pin_x)) < 2
    assert abs((new_handle_y - new_pin_y) - (handle_y - pin_y)) < 2
    # The cone was drawn again from the pin's new place (the old one is ~850 m away, off the
    # map at this zoom): its apex, the pin, lies on the edge of its box.
    assert cone.get_attribute("d") != cone_before
    box = cone.bounding_box()
    assert box["x"] - 2 <= new_pin_x <= box["x"] + box["width"] + 2
    assert box["y"] - 2 <= new_pin_y <= box["y"] + box["height"] + 2

    page.fill("#id_name", "Found by address")
    page.get_by_role("button", name="Shop front camera").click()
    page.fill("#id_retention_days", "14")
    page.locator("input[name=participation][value=upload_on_request]").check()
    fits_the_width(page)
    page.click("#save-camera")
    expect(page).to_have_url(f"{base_url}/cameras/mine/")
    cam = Camera.objects.get(owner=business)
    assert cam.name == "Found by address"
    assert cam.location.y == pytest.approx(40.7576, abs=1e-7)
    assert cam.location.x == pytest.approx(-73.9530, abs=1e-7)
    assert not failed, failed
