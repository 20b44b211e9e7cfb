"""An investigator builds a case from the dashboard without typing an id: the evidence list's
search, its checkboxes and the add-to-case autocomplete, then the case page's exhibits and
activity in words, and the case form's map picker and polygon tool. Chromium at 390 px (a
phone) and 1366 px (a laptop); the real sign-in with its code."""

import io
import time

import pytest
from django.core.files.base import ContentFile
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from evidence.cases import services as case_services
from evidence.models import Case, Derivative
from portal import storage
from tests.e2e.conftest import ARTIFACTS, open_menu, wait_until
from tests.e2e.test_evidence_upload_browser import (
    _assert_fits_the_phone,
    _make_clip,
    _open_uploader,
    _sign_in,
    _start_upload,
    _watch_for_trouble,
)
from tests.evidence.cases_helpers import verified
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

SCREENS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 900}}


def _with_preview(item) -> None:
    """A real image preview in storage, as the pipeline would have made."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(out, "JPEG")
    data = out.getvalue()
    key = storage.new_object_key("evidence/test/derivatives")
    storage.save_once(key, ContentFile(data))
    Derivative.objects.create(
        item=item, kind=Derivative.Kind.IMAGE_PREVIEW, name="preview.jpg", key=key,
        size=len(data), sha256="0" * 64, media_type="image/jpeg",
    )  # fmt: skip


VERTICES = "document.querySelectorAll('#case-form-map .leaflet-editing-icon').length"


def _click_until(page, x: float, y: float, done: str) -> None:
    """Click the map until it shows the click took. Leaflet.draw ignores a click that comes
    within 50 ms of its last vertex (its guard against double clicks), and a lost click
    leaves no trace: clicking again cannot add a vertex twice."""
    for _ in range(5):
        page.mouse.move(x, y, steps=4)
        page.mouse.down()
        page.mouse.up()
        try:
            wait_until(page, done, timeout=1_000)
            return
        except PlaywrightTimeout:
            continue
    wait_until(page, done)


@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_investigator_builds_a_case_without_typing_an_id(
    live_server, browser, make_staff, police, other_police, settings, screen
):
    settings.MAP_TILE_URL = ""  # no tile server: the map still takes clicks
    base_url = live_server.url
    investigator = verified(make_staff(full_name="Dana Ortiz"))
    case = case_services.case_create(
        actor=investigator, number="26-0042", title="Burglary on Elm Street"
    )
    outsider = verified(make_staff(agency=other_police))
    case_services.case_create(actor=outsider, number="OT-0042", title="Burglary on Elm Street")
    stored_item(agency=police, original_filename="elm-doorbell.mp4")
    garage = stored_item(
        agency=police, original_filename="elm-garage.jpg", media_kind="image",
        media_type="image/jpeg",
    )  # fmt: skip
    _with_preview(garage)
    stored_item(agency=police, original_filename="unrelated.wav", media_kind="audio")

    context = browser.new_context(viewport=SCREENS[screen])
    page = context.new_page()
    page.set_default_timeout(15_000)
    trouble = _watch_for_trouble(page, base_url)
    try:
        _sign_in(page, base_url, investigator)
        started = time.monotonic()

        # From the dashboard to the evidence list (through the header's menu on a phone).
        open_menu(page)
        page.get_by_role("link", name="Evidence", exact=True).click()
        page.get_by_label("Search").fill("elm-")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("p.muted").filter(has_text="item(s).")).to_have_text("2 item(s).")
        expect(page.locator("td.thumb img")).to_have_count(1)
        wait_until(page, "() => document.querySelector('td.thumb img').naturalWidth === 64")

        # Select both, choose the case by typing part of its title, add.
        page.get_by_label("Select every item on this page").check()
        expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
        page.get_by_label("Add the selected items to case").fill("elm street")
        options = page.locator("#bulk-case-options").get_by_role("option")
        expect(options).to_have_count(1)  # not the other agency's case of the same title
        expect(options.first).to_have_text("26-0042 — Burglary on Elm Street")
        options.first.click()
        expect(page.locator("[data-case-chosen]")).to_contain_text("Chosen: case 26-0042")
        if screen == "phone":
            _assert_fits_the_phone(page)
        page.screenshot(path=str(ARTIFACTS / f"case-building-list-{screen}.png"), full_page=True)
        page.get_by_role("button", name="Add selected to case").click()
        expect(page.locator(".messages")).to_contain_text(
            "Added 2 item(s) to case 26-0042 as exhibit(s)"
        )
        # The search is kept, and the case column now names the case.
        expect(page.get_by_label("Search")).to_have_value("elm-")
        expect(
            page.locator("table.evidence-list").get_by_role("link", name="26-0042")
        ).to_have_count(2)

        # The case page: exhibits, and the activity in words.
        page.locator("table.evidence-list").get_by_role("link", name="26-0042").first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Case 26-0042")
        exhibits = page.locator("#exhibits tbody tr")
        expect(exhibits).to_have_count(2)
        expect(page.locator("#exhibits")).to_contain_text("elm-doorbell.mp4")
        expect(page.locator("#exhibits")).to_contain_text("elm-garage.jpg")
        activity = page.locator("#activity")
        expect(activity).to_contain_text("Dana Ortiz added elm-garage.jpg as exhibit")
        expect(activity).to_contain_text("Dana Ortiz added elm-doorbell.mp4 as exhibit")
        expect(activity).not_to_contain_text("case.item_added")
        if screen == "phone":
            _assert_fits_the_phone(page)
        page.screenshot(path=str(ARTIFACTS / f"case-building-case-{screen}.png"), full_page=True)
        built = time.monotonic() - started

        # The case form: the lead is me; click the map for the point, draw the area.
        page.get_by_role("link", name="Edit details").click()
        expect(page.get_by_label("Lead investigator")).to_have_value(str(investigator.pk))
        wait_until(page, "() => document.getElementById('case-form-map').dataset.ready")
        page.locator("#case-form-map").scroll_into_view_if_needed()
        box = page.locator("#case-form-map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.click(cx, cy)
        wait_until(page, "() => document.getElementById('id_lat').value !== ''")
        page.locator(".leaflet-draw-draw-polygon").click()
        corners = [(cx - 60, cy - 60), (cx + 60, cy - 60), (cx + 60, cy + 60), (cx - 60, cy + 60)]
        for n, (x, y) in enumerate(corners, start=1):
            _click_until(page, x, y, f"() => {VERTICES} === {n}")
        # The first corner again closes the shape.
        _click_until(page, *corners[0], "() => document.getElementById('case-form-map')"
                     ".dataset.polygons === '1'")  # fmt: skip
        if screen == "phone":
            _assert_fits_the_phone(page)
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("incident_area")
        expect(page.locator(".messages")).to_contain_text("incident_point")
        print(f"\ncase building journey at {SCREENS[screen]['width']} px: {built:.1f} s")
        assert trouble == []
    finally:
        context.close()

    case = Case.objects.get(pk=case.pk)
    assert case.incident_point is not None
    assert case.incident_area.geom_type == "MultiPolygon" and case.incident_area.num_coords == 5
    assert case.incident_area.contains(case.incident_point)
    assert sorted(case.case_items.values_list("exhibit_number", flat=True)) == [1, 2]


def test_files_sent_after_choosing_a_case_on_the_upload_page_land_in_it(
    live_server, make_staff, phone, tmp_path
):
    investigator = verified(make_staff(full_name="Dana Ortiz"))
    case = case_services.case_create(
        actor=investigator, number="26-0042", title="Burglary on Elm Street"
    )
    clip = _make_clip(tmp_path)
    base_url = live_server.url
    trouble = _watch_for_trouble(phone, base_url)
    _sign_in(phone, base_url, investigator)
    _open_uploader(phone, base_url)
    phone.get_by_label("Put the files in a case (optional)").fill("26-00")
    option = phone.locator("#upload-case-input-options").get_by_role("option")
    expect(option).to_have_text("26-0042 — Burglary on Elm Street")
    option.click()
    expect(phone.locator("[data-case-chosen]")).to_contain_text("Chosen: case 26-0042")
    row = _start_upload(phone, clip)
    expect(row).to_contain_text("Received: doorbell.mp4", timeout=30_000)
    _assert_fits_the_phone(phone)
    phone.goto(f"{base_url}/staff/evidence/cases/{case.pk}/")
    expect(phone.locator("#exhibits")).to_contain_text("doorbell.mp4")
    expect(phone.locator("#activity")).to_contain_text("Dana Ortiz added doorbell.mp4 as exhibit 1")
    assert trouble == []
