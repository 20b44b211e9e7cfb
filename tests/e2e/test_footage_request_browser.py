"""The whole footage request in Chromium: register, search, ask, answer with a video, see it ready.

A business registers a camera by dragging the pin; an investigator finds it near an incident and
sends a request; the owner opens the emailed link (Django's mail outbox), uploads a video with
Uppy and tus, progress shown, and gets the receipt with the file's SHA-256 once the real Celery
worker has stored and hashed it; the investigator sees the item `ready` under the request.
"""

import datetime as dt
import re
import time
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from evidence.models import EvidenceItem
from registry.models import Camera, FootageRequest, FootageRequestCamera
from tests.e2e.conftest import PHONE
from tests.e2e.test_camera_register_browser import register_camera_by_dragging
from tests.e2e.test_evidence_upload_browser import (
    _make_clip,
    _sign_in,
    _throttle_uploads,
    _watch_for_trouble,
)
from tests.evidence.helpers import sha256_of
from tests.factories import PASSWORD, PublicUserFactory
from tests.registry.requests_helpers import LINK, path_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
PIPELINE_TIMEOUT_MS = 90_000


def _local(value: dt.datetime) -> str:
    # Staff type times on the agency's wall clock (portal.timefields).
    return value.astimezone(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def _fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"horizontal scroll: scrollWidth={width}"


def _business_registers_a_camera(page, base_url) -> Camera:
    business = PublicUserFactory(role="business", email="corner-shop@example.org")
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(business.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{base_url}/cameras/mine/")
    register_camera_by_dragging(page, base_url, name="Corner shop", east_px=60, north_px=40)
    return Camera.objects.get(owner=business)


def _investigator_searches_and_asks(page, base_url, camera: Camera) -> FootageRequest:
    now = timezone.now()
    page.goto(f"{base_url}/staff/registry/search/")
    page.fill("#id_case_number", "RPD-2026-0099")
    page.select_option("#id_reason_category", "property_crime")
    page.fill("#id_reason", "Shop window smashed at night")
    page.fill("#id_window_start", _local(now - dt.timedelta(hours=3)))
    page.fill("#id_window_end", _local(now - dt.timedelta(hours=2)))
    # The incident: a tap in the middle of the map, a couple of hundred metres from the camera.
    expect(page.locator("#search-map.leaflet-container")).to_be_visible()
    page.locator("#search-map").click()
    picked = page.locator("input[type=hidden][name=latitude]")
    expect(picked).not_to_have_value("")
    # The tapped point is the only position the form sends.
    expect(page.locator("input[name=latitude]")).to_have_count(1)
    page.click("#run-search")
    results = page.locator("#search-results")
    expect(results).to_contain_text("Corner shop")
    search_id = results.get_attribute("data-search")
    page.check(f"#pick-{camera.pk}")
    page.click("#ask-owners")
    expect(page).to_have_url(
        re.compile(rf"/staff/registry/requests/new/\?search={search_id}&camera=")
    )
    expect(page.locator("input[name=cameras]:checked")).to_have_count(1)
    expect(page.locator("#id_case_number")).to_have_value("RPD-2026-0099")
    page.fill("#id_message", "Anything between 21:00 and 22:00 helps.")
    page.fill("#id_deadline", _local(now + dt.timedelta(days=2)))
    _fits_the_phone(page)
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".messages")).to_contain_text("emailed to the camera owners")
    expect(page.locator("[data-role=request-status]")).to_have_text("Sent")
    return FootageRequest.objects.get()


def _owner_answers_with_a_video(page, base_url, clip: str, camera: Camera) -> None:
    [message] = mail.outbox
    assert message.to == [camera.owner.email]
    [link] = LINK.findall(message.body)
    page.goto(f"{base_url}{path_of(link)}")
    expect(page.locator("h1")).to_have_text("Footage request")
    expect(page.locator("dl.facts")).to_contain_text("Riverton PD (Investigator)")
    expect(page.locator("dl.facts")).to_contain_text("Anything between 21:00 and 22:00 helps.")
    expect(page.locator("[data-camera]")).to_contain_text("(America/New_York)")
    _fits_the_phone(page)
    page.get_by_role("link", name="Upload footage").click()
    expect(page.locator(".uppy-Dashboard")).to_be_visible()
    _throttle_uploads(page)
    page.locator('input.uppy-Dashboard-input[name="files[]"]').first.set_input_files(clip)
    page.get_by_role("button", name="Upload 1 file").click()
    row = page.locator("[data-role=files] li").filter(has_text="doorbell.mp4")
    expect(row).to_contain_text("Sending: doorbell.mp4")
    progress = row.locator("progress")
    page.wait_for_function("bar => bar.value > 0 && bar.value < 100", arg=progress.element_handle())
    expect(row).to_contain_text("Received: doorbell.mp4", timeout=60_000)
    _fits_the_phone(page)
    page.get_by_role("link", name="See your receipt").click()


def test_an_owner_answers_a_footage_request_with_a_video_and_the_investigator_sees_it_ready(
    live_server, celery_worker, browser, phone, make_staff, police, tmp_path
):
    base_url = live_server.url
    clip = _make_clip(tmp_path)
    trouble = _watch_for_trouble(phone, base_url)

    camera = _business_registers_a_camera(phone, base_url)

    investigator = make_staff()
    staff_context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    staff = staff_context.new_page()
    staff.set_default_timeout(15_000)
    staff_trouble = _watch_for_trouble(staff, base_url)
    try:
        _sign_in(staff, base_url, investigator)
        request = _investigator_searches_and_asks(staff, base_url, camera)

        # The owner, on their phone, signed out: the link needs no account.
        phone.context.clear_cookies()
        _owner_answers_with_a_video(phone, base_url, clip, camera)
        hash_cell = phone.locator("td.hash")
        expect(hash_cell).to_have_text(sha256_of(clip), timeout=PIPELINE_TIMEOUT_MS)
        expect(phone.locator("section.card")).to_contain_text("Your answer: Uploaded")

        item = EvidenceItem.objects.get()
        rc = FootageRequestCamera.objects.get(request=request)
        assert item.source == "footage_request" and item.source_ref == str(rc.pk)
        assert rc.status == FootageRequestCamera.Status.UPLOADED

        deadline = time.monotonic() + PIPELINE_TIMEOUT_MS / 1000
        staff.goto(f"{base_url}/staff/registry/requests/{request.pk}/")
        while "ready" not in staff.locator(f"tr[data-item='{item.pk}']").inner_text():
            assert time.monotonic() < deadline, "the item never became ready"
            time.sleep(1)
            staff.reload()
        expect(staff.locator(f"tr[data-item='{item.pk}'] td.state-ready")).to_have_text("ready")
        expect(staff.locator(f"[data-camera='{camera.pk}']")).to_contain_text("Uploaded")
        _fits_the_phone(staff)
        staff.goto(f"{base_url}/staff/registry/requests/")
        expect(staff.locator("table")).to_contain_text("RPD-2026-0099")
    finally:
        staff_context.close()
    assert trouble == [] and staff_trouble == []
