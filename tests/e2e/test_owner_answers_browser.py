"""A camera owner answers a footage request in Chromium, at 390 px and 1366 px: from the
emailed link (no account, the link's token is all) and, signed in, from their Requests page,
by uploading a video, by "no footage" and by "decline", which asks first.

The page's form posts must pass Django's CSRF check in a real browser (with
`Referrer-Policy: no-referrer` Chromium posted `Origin: null`, and every answer ended on
Django's bare 403 page). "I decline" asks for confirmation (static/js/confirm.js): dismissing
keeps the camera unanswered, accepting sends the answer.
"""

import time

import pytest
from playwright.sync_api import expect

from registry.models import FootageRequestCamera
from tests.e2e.conftest import fits_the_width
from tests.e2e.test_evidence_upload_browser import _make_clip
from tests.factories import PASSWORD
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    path_of,
    search,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
Status = FootageRequestCamera.Status


def _statuses(request) -> dict[str, str]:
    return dict(request.cameras.values_list("camera__name", "status"))


def _decline_after_confirming(page, section, request, name: str) -> None:
    """Decline once dismissing the question (nothing is sent), then accepting it."""
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    section.get_by_role("button", name="I decline").click()
    # The dialog's event reaches the handler while Playwright waits (slowly on a loaded machine).
    give_up = time.monotonic() + 10
    while not questions and time.monotonic() < give_up:
        page.wait_for_timeout(50)
    assert questions and f"Decline to share footage of {name}?" in questions[0], questions
    expect(section.get_by_role("button", name="I decline")).to_be_visible()
    assert _statuses(request)[name] != Status.DECLINED

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        section.get_by_role("button", name="I decline").click()
    expect(page.locator(".messages")).to_contain_text(f"your answer for {name} was sent")
    assert len(questions) == 2


def _shows_map_deadline_and_contact(page) -> None:
    expect(page.locator("#request-map[data-ready='1']")).to_have_count(1)
    expect(page.locator("#request-map path.leaflet-interactive").first).to_be_attached()
    deadline = page.locator("#request-deadline time")
    expect(deadline).to_have_attribute("data-localized", "1")
    assert "UTC" in (deadline.get_attribute("title") or "")
    expect(page.locator("#officer-contact")).to_contain_text("Riverton PD")


def test_from_the_emailed_link_the_owner_answers_no_footage_and_declines_after_confirming(
    live_server, sized_page, police
):
    page = sized_page
    officer = investigator(police)
    shop = owner(role="business")
    front = camera_facing_incident(shop, name="Shop front")
    door = camera_facing_incident(shop, name="Shop door", direction_deg=80)
    request = ask(officer, search(officer), [front, door])
    [link] = links_in_outbox(shop.email)
    started = time.monotonic()

    page.goto(f"{live_server.url}{path_of(link)}")
    _shows_map_deadline_and_contact(page)
    fits_the_width(page)
    section = page.locator("section[data-camera]").filter(has_text="Shop front")
    section.get_by_role("button", name="I have no footage of that time").click()
    expect(page.locator(".messages")).to_contain_text("your answer for Shop front was sent")
    expect(section).to_contain_text("Answered: No footage")

    section = page.locator("section[data-camera]").filter(has_text="Shop door")
    _decline_after_confirming(page, section, request, "Shop door")
    print(f"journey: answer from the emailed link: {time.monotonic() - started:.1f} s")

    assert _statuses(request) == {"Shop front": Status.NO_FOOTAGE, "Shop door": Status.DECLINED}
    expect(page.locator("#answered-count")).to_have_text("2 of 2 cameras answered")


def test_signed_in_the_owner_answers_from_the_requests_page_by_upload_no_footage_and_decline(
    live_server, sized_page, police, tmp_path
):
    page = sized_page
    base_url = live_server.url
    clip = _make_clip(tmp_path)
    officer = investigator(police)
    shop = owner(role="business")
    cameras = [
        camera_facing_incident(shop, name=name, direction_deg=80 + i)
        for i, name in enumerate(("Shop front", "Shop door", "Yard"))
    ]
    request = ask(officer, search(officer), cameras)
    started = time.monotonic()

    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(shop.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("header.top")).to_contain_text("Sign out")
    # The header's link (followed by its address: on a phone the header may fold into a menu).
    nav = page.locator("header.top a", has_text="Footage requests")
    expect(nav).to_have_attribute("href", "/cameras/requests/")
    page.goto(f"{base_url}/cameras/requests/")
    row = page.locator(f"tr[data-request='{request.pk}']")
    expect(row).to_contain_text("Waiting for your answer")
    expect(row).to_contain_text("0 of 3 cameras answered")
    fits_the_width(page)
    row.get_by_role("link", name="Answer this request").click()
    _shows_map_deadline_and_contact(page)
    fits_the_width(page)

    section = page.locator("section[data-camera]").filter(has_text="Shop front")
    section.get_by_role("button", name="I have no footage of that time").click()
    expect(page.locator(".messages")).to_contain_text("your answer for Shop front was sent")

    section = page.locator("section[data-camera]").filter(has_text="Shop door")
    _decline_after_confirming(page, section, request, "Shop door")

    section = page.locator("section[data-camera]").filter(has_text="Yard")
    section.get_by_role("link", name="Upload footage").click()
    expect(page.locator(".uppy-Dashboard")).to_be_visible()
    page.locator('input.uppy-Dashboard-input[name="files[]"]').first.set_input_files(clip)
    page.get_by_role("button", name="Upload 1 file").click()
    files = page.locator("[data-role=files] li").filter(has_text="doorbell.mp4")
    expect(files).to_contain_text("Received: doorbell.mp4", timeout=60_000)
    page.get_by_role("link", name="See your receipt").click()
    expect(page.locator("section.card").filter(has_text="Yard")).to_contain_text(
        "Your answer: Uploaded"
    )
    page.get_by_role("link", name="Back to the request").click()
    expect(page.locator("#answered-count")).to_have_text("3 of 3 cameras answered")
    page.get_by_role("link", name="All my footage requests").click()
    expect(row).to_contain_text("Complete: every camera answered")
    print(f"journey: answer from the Requests page: {time.monotonic() - started:.1f} s")

    assert _statuses(request) == {
        "Shop front": Status.NO_FOOTAGE,
        "Shop door": Status.DECLINED,
        "Yard": Status.UPLOADED,
    }
