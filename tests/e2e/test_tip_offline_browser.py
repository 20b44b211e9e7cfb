"""A tip written with no signal: kept on the phone, sent when the connection returns.

Real everything: the service worker and IndexedDB in Debian's Chromium (390 px wide), the tips
API with a real ALTCHA challenge solved in the page, the tus server for the file, and the
return page opened with the receipt the page showed.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evidence.models import EvidenceItem
from submissions.demo import seed_categories
from submissions.models import Tip, TipCategory
from tests.e2e.conftest import ARTIFACTS, fits_the_width, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

DESCRIPTION = "Written with no signal: a red car without plates behind the laundromat."
RECEIPT = re.compile(r"^(\d{4} \d{4} \d{4} \d{4}|[a-z]+( [a-z]+){5})$")
SAVED = "Saved on this phone. It will be sent when you are back online"


@pytest.fixture
def cheap_pow(settings):
    # The real ALTCHA code path, with a challenge the page solves in milliseconds.
    settings.TIPS_POW_COST = 10
    settings.TIPS_POW_KEY_PREFIX = "0"
    # Every browser test comes from 127.0.0.1; limits are not the subject here.
    settings.TIPS_RATE_CREATE_PER_HOUR = 10_000
    settings.TIPS_RATE_CHALLENGES_PER_HOUR = 10_000


def _photo(directory) -> str:
    target = directory / "offline-photo.jpg"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x240", "-frames:v", "1", str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    return str(target)


def _kept_tips(page) -> int:
    return page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("canvass-tips");
            open.onsuccess = () => {
              const count = open.result.transaction("outbox").objectStore("outbox").count();
              count.onsuccess = () => resolve(count.result);
            };
          })"""
    )


# True once IndexedDB's outbox holds no tip (a promise: wait_until polls until it is true).
KEPT_TIPS_ARE_GONE = """() => new Promise((resolve) => {
    const open = indexedDB.open("canvass-tips");
    open.onsuccess = () => {
      const count = open.result.transaction("outbox").objectStore("outbox").count();
      count.onsuccess = () => resolve(count.result === 0);
    };
  })"""


def _wait_until_page_is_kept(page) -> None:
    page.wait_for_function(
        """async () => {
            if (!navigator.serviceWorker.controller) return false;
            return !!(await caches.match(location.href));
          }""",
        timeout=15_000,
    )


def test_a_tip_written_offline_is_kept_then_sent_with_its_file(
    live_server, police, cheap_pow, phone, tmp_path
):
    seed_categories(police)
    page = phone
    url = f"{live_server.url}/tips/{police.slug}/"
    page.goto(url)
    manifest = page.request.get(f"{live_server.url}/tips/manifest.webmanifest")
    assert manifest.ok and json.loads(manifest.body())["scope"] == "/tips/"
    # The first visit installs the worker; it takes control and keeps this page.
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    _wait_until_page_is_kept(page)

    page.select_option("select[name=category]", index=1)
    page.fill("textarea[name=description]", DESCRIPTION)
    page.fill("input[name=occurred_at]", "2026-01-15T21:30")
    page.locator('input.uppy-Dashboard-input[name="files[]"]').first.set_input_files(
        _photo(tmp_path)
    )
    expect(page.locator(".uppy-Dashboard-Item-name")).to_contain_text("offline-photo")

    page.context.set_offline(True)
    page.click("[data-role=submit]")
    expect(page.locator("#tip-offline-status")).to_contain_text(SAVED)
    assert _kept_tips(page) == 1
    assert not Tip.objects.exists()

    # Closed and opened again with no signal: the page comes from the phone, the tip waits.
    page.reload()
    expect(page.locator("#tip-offline-status")).to_contain_text(SAVED)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tip-offline-saved.png"), full_page=True)
    assert not Tip.objects.exists()

    page.context.set_offline(False)
    receipt = page.locator("[data-role=offline-receipt] [data-role=receipt]")
    expect(receipt).to_have_text(RECEIPT, timeout=60_000)
    expect(page.locator("#tip-offline-status")).to_contain_text("Your saved tip was sent.")
    page.screenshot(path=str(ARTIFACTS / "tip-offline-sent.png"), full_page=True)
    shown = receipt.inner_text().strip()
    # Its file is sent from the phone's uploads store after the receipt is shown.
    expect(page.locator("#tip-uploads [data-role=uploads-status]")).to_have_text(
        "All files were received.", timeout=60_000
    )

    tip = Tip.objects.get()
    assert tip.description == DESCRIPTION and tip.agency == police
    item = EvidenceItem.objects.get(source="tip", source_ref=tip.reference)
    assert item.original_filename == "offline-photo.jpg"
    assert item.size == (tmp_path / "offline-photo.jpg").stat().st_size

    # The receipt stays on the phone only until the person says it is kept.
    assert _kept_tips(page) == 1
    page.locator("[data-role=offline-receipt]").get_by_label("I have saved my receipt").check()
    wait_until(page, KEPT_TIPS_ARE_GONE)
    expect(page.locator("[data-role=offline-receipt] [data-role=receipt]")).to_have_text(shown)

    page.goto(f"{live_server.url}/tips/return/")
    page.fill("input[name=receipt]", shown)
    page.click("button[type=submit]")
    main = page.locator("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Your tip")
    expect(main).to_contain_text(tip.category.name)


@pytest.mark.parametrize("lost", ["**/api/tips/", "**/api/tips/challenge/"])
def test_a_tip_whose_post_is_lost_while_online_is_kept_and_sent_later(
    live_server, police, cheap_pow, phone, lost
):
    """The phone says it is online, but the tip (or its anti-spam challenge) gets no answer:
    kept on the phone, the person told, sent when the connection works."""
    seed_categories(police)
    page = phone
    url = f"{live_server.url}/tips/{police.slug}/"
    page.goto(url)
    wait_until(
        page, "() => typeof document.getElementById('tip-form').canvassKeepForLater === 'function'"
    )

    # The network drops the request itself (as a lost signal does), from before the form is
    # touched (the widget fetches its challenge when the form gets focus).
    page.route(lost, lambda route: route.abort("internetdisconnected"))
    page.select_option("select[name=category]", index=1)
    page.fill("textarea[name=description]", DESCRIPTION)
    page.fill("input[name=occurred_at]", "2026-01-15T21:30")
    page.click("[data-role=submit]")

    status = page.locator("#tip-offline-status")
    expect(status).to_contain_text("The server could not be reached, so your tip is saved")
    expect(page.locator("[data-role=error]")).to_be_hidden()
    assert page.evaluate("navigator.onLine") is True
    assert _kept_tips(page) == 1
    assert not Tip.objects.exists()

    # The connection works again: the next visit sends the kept tip and shows its receipt.
    page.unroute(lost)
    page.reload()
    expect(page.locator("[data-role=offline-receipt] [data-role=receipt]")).to_have_text(
        RECEIPT, timeout=60_000
    )
    tip = Tip.objects.get()
    assert tip.description == DESCRIPTION and tip.agency == police


def test_a_saved_tip_the_server_refuses_goes_back_into_the_form(
    live_server, police, cheap_pow, phone, tmp_path
):
    """Refused when the signal returns (its category was withdrawn): nothing is lost."""
    seed_categories(police)
    page = phone
    page.goto(f"{live_server.url}/tips/{police.slug}/")
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    _wait_until_page_is_kept(page)

    chosen = page.locator("select[name=category] option").nth(1).get_attribute("value")
    page.select_option("select[name=category]", chosen)
    page.fill("textarea[name=description]", DESCRIPTION)
    page.fill("input[name=occurred_at]", "2026-01-15T21:30")
    page.locator('input.uppy-Dashboard-input[name="files[]"]').first.set_input_files(
        _photo(tmp_path)
    )
    page.context.set_offline(True)
    page.click("[data-role=submit]")
    expect(page.locator("#tip-offline-status")).to_contain_text(SAVED)
    assert page.locator("textarea[name=description]").input_value() == ""

    TipCategory.objects.filter(agency=police, slug=chosen).update(active=False)
    page.context.set_offline(False)
    status = page.locator("#tip-offline-status")
    expect(status).to_contain_text("Your saved tip was not accepted", timeout=60_000)
    expect(status).to_contain_text("Choose one of this agency's categories.")
    expect(page.locator("textarea[name=description]")).to_have_value(DESCRIPTION)
    expect(page.locator(".uppy-Dashboard-Item-name")).to_contain_text("offline-photo")
    assert _kept_tips(page) == 0
    assert not Tip.objects.exists()

    # Another category, sent again: accepted, with its file.
    other = TipCategory.objects.filter(agency=police, active=True).first().slug
    page.select_option("select[name=category]", other)
    page.click("[data-role=submit]")
    expect(page.locator("#tip-receipt [data-role=receipt]")).to_have_text(RECEIPT, timeout=60_000)
    expect(page.locator("#tip-receipt [data-role=files-status]")).to_have_text(
        "All files were received.", timeout=60_000
    )
    tip = Tip.objects.get()
    assert tip.description == DESCRIPTION and tip.category.slug == other
    assert EvidenceItem.objects.get(source="tip", source_ref=tip.reference).original_filename == (
        "offline-photo.jpg"
    )


def test_a_tip_sent_once_back_online_shows_the_receipt_with_copy_save_and_print(
    live_server, police, cheap_pow, sized_page
):
    """The same receipt box as a tip sent online: copy, save as a file, print, and a warning
    before leaving until it is kept; kept, it leaves the phone's storage."""
    seed_categories(police)
    page = sized_page
    failed = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/tips/{police.slug}/")
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    _wait_until_page_is_kept(page)

    page.select_option("select[name=category]", index=1)
    page.fill("textarea[name=description]", DESCRIPTION)
    page.fill("input[name=occurred_at]", "2026-01-15T21:30")
    page.context.set_offline(True)
    page.click("[data-role=submit]")
    expect(page.locator("#tip-offline-status")).to_contain_text(SAVED)
    assert not Tip.objects.exists()

    page.context.set_offline(False)
    card = page.locator("[data-role=offline-receipt]")
    receipt = card.locator("[data-role=receipt]")
    expect(receipt).to_have_text(RECEIPT, timeout=60_000)
    expect(card).to_have_count(1)
    shown = receipt.inner_text().strip()
    tip = Tip.objects.get()
    assert tip.description == DESCRIPTION
    expect(card.locator("[data-role=reference]")).to_have_text(tip.reference)
    expect(card.get_by_role("heading", level=2)).to_have_text("Your tip was sent")
    # The page's own (empty) box stays hidden; the form stays for another tip.
    expect(page.locator("#tip-receipt")).to_be_hidden()
    expect(page.locator("#tip-form")).to_be_visible()
    fits_the_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"tip-offline-receipt-{width}px.png"), full_page=True)

    # Not kept yet: the browser asks before the page is left, and staying keeps the receipt
    # (here and on the phone).
    here = page.url
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    card.get_by_role("link", name="Come back later with your receipt").click()
    assert asked == ["beforeunload"]
    assert page.url == here
    expect(receipt).to_have_text(shown)
    assert _kept_tips(page) == 1

    status = card.locator("[data-role=receipt-action-status]")
    card.get_by_role("button", name="Copy the receipt").click()
    expect(status).to_have_text(re.compile(r"^Copied\."))
    assert page.evaluate("navigator.clipboard.readText()") == shown
    expect(card.get_by_label("I have saved my receipt")).to_be_checked()
    # Kept: the phone forgets it.
    wait_until(page, KEPT_TIPS_ARE_GONE)

    with page.expect_download() as download_info:
        card.get_by_role("button", name="Save it as a file").click()
    download = download_info.value
    assert download.suggested_filename == f"tip-{tip.reference}.txt"
    saved = Path(download.path()).read_text(encoding="utf-8")
    assert f"Your tip receipt: {shown}\n" in saved
    assert f"Tip reference: {tip.reference}\n" in saved
    assert f"{live_server.url}/tips/return/" in saved
    expect(status).to_have_text("Saved as a file in your downloads.")

    card.get_by_role("button", name="Print it").click()
    expect(status).to_have_text("Sent to the printer.")
    # Printed, the receipt is all there is on the paper: the form and the buttons are not.
    page.emulate_media(media="print")
    assert card.evaluate("el => getComputedStyle(el).visibility") == "visible"
    assert receipt.evaluate("el => getComputedStyle(el).visibility") == "visible"
    assert page.locator("#tip-form").evaluate("el => getComputedStyle(el).visibility") == "hidden"
    expect(card.get_by_role("button", name="Print it")).to_be_hidden()
    page.emulate_media(media="screen")

    # Kept, the page is left without a question; the receipt it showed opens the tip.
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    card.get_by_role("link", name="Come back later with your receipt").click()
    expect(page).to_have_url(f"{live_server.url}/tips/return/")
    assert asked == ["beforeunload"]
    page.fill("input[name=receipt]", shown)
    page.click("button[type=submit]")
    expect(page.locator("main").get_by_role("heading", level=1)).to_have_text("Your tip")
    # A download's navigation (the saved file's blob: link, made on the phone) ends as
    # "aborted" in Chromium's network log once it has become a download: that is not a failed
    # request. (Its address is not always the one Playwright reports for the download.)
    failed = [
        failure
        for failure in failed
        if not (failure.startswith("blob:") and failure.endswith(" net::ERR_ABORTED"))
    ]
    assert not failed, failed
