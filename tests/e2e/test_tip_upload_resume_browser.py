"""A tip's video survives a lost signal, a reload and a closed browser.

Real everything: Debian's Chromium with its IndexedDB and service worker, the tips API with a
real ALTCHA challenge, our tus server. The network is cut half-way through the video (every
request to the upload URL fails from the Nth piece on, and then the phone goes offline); the
upload must carry on from the stored tus URL and the stored original must be byte-exact.
"""

import contextlib
import datetime as dt
import hashlib
import subprocess
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from evidence.models import EvidenceItem, Upload
from portal import storage
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import Tip, TipCategory
from tests.e2e.conftest import CHROMIUM_ARGS, PHONE
from tests.e2e.test_tip_offline_browser import _wait_until_page_is_kept

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

CHUNK_BYTES = 256 * 1024
PIPELINE_TIMEOUT_SECONDS = 120
PIECES_BEFORE_THE_CUT = 4
WAITING = "1 file waiting to upload — keep this page open or come back to it later."
DONE = "All files were received."


@pytest.fixture
def tip_settings(settings):
    settings.TIPS_UPLOAD_CHUNK_BYTES = CHUNK_BYTES
    # The real ALTCHA code path with a cheap challenge; limits are not the subject here.
    settings.TIPS_POW_COST = 10
    settings.TIPS_POW_KEY_PREFIX = "0"
    settings.TIPS_RATE_CREATE_PER_HOUR = 10_000
    settings.TIPS_RATE_CHALLENGES_PER_HOUR = 10_000


def _video(directory) -> tuple[str, str]:
    """A few MB of H.264 (lossless, so it is large for its length) and its SHA-256."""
    target = directory / "signal-drop.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=640x360:rate=30", "-t", "6", "-c:v", "libx264",
         "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(target)],
        check=True, timeout=120,
    )  # fmt: skip
    assert target.stat().st_size > 10 * CHUNK_BYTES
    return str(target), hashlib.sha256(target.read_bytes()).hexdigest()


class SignalCut:
    """Lets the first N tus PATCHes through, then fails every upload request as a lost signal."""

    def __init__(self, pieces: int):
        self.pieces = pieces
        self.patches = 0
        self.cut = False

    def __call__(self, route):
        if route.request.method == "PATCH":
            self.patches += 1
            self.cut = self.cut or self.patches > self.pieces
        if self.cut:
            route.abort("internetdisconnected")
        else:
            route.continue_()


def _wait_for_the_cut(page, cut: SignalCut) -> None:
    deadline = time.monotonic() + 60
    while not cut.cut:
        if time.monotonic() > deadline:
            pytest.fail(f"the upload never reached piece {PIECES_BEFORE_THE_CUT + 1}")
        page.wait_for_timeout(100)  # lets the route handler see the requests


def _send_tip_through(page, video: str, network) -> None:
    """Fill in the tip with the video and send it, its uploads passing through `network`."""
    page.select_option("select[name=category]", index=1)
    page.fill("textarea[name=description]", "A van without plates, filmed as it drove off.")
    page.fill("input[name=occurred_at]", "2026-01-15T21:30")
    page.locator('input.uppy-Dashboard-input[name="files[]"]').first.set_input_files(video)
    expect(page.locator(".uppy-Dashboard-Item-name")).to_contain_text("signal-drop")
    page.route("**/api/uploads/**", network)
    page.click("[data-role=submit]")
    expect(page.locator("#tip-receipt [data-role=receipt]")).not_to_be_empty(timeout=60_000)


def _send_tip_with(page, video: str) -> SignalCut:
    cut = SignalCut(PIECES_BEFORE_THE_CUT)
    _send_tip_through(page, video, cut)
    # Kept (written down): the page no longer asks before it is reloaded or left.
    page.get_by_label("I have saved my receipt").check()
    _wait_for_the_cut(page, cut)
    return cut


def _kept_uploads(page) -> int:
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("canvass-tips");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const db = open.result;
              if (!db.objectStoreNames.contains("uploads")) { db.close(); resolve(-1); return; }
              const count = db.transaction("uploads").objectStore("uploads").count();
              count.onsuccess = () => { db.close(); resolve(count.result); };
            };
          })"""
    )


def _assert_half_way() -> None:
    upload = Upload.objects.get()
    assert 0 < upload.offset < upload.length, (upload.offset, upload.length)


def _sealed(tip: Tip) -> EvidenceItem:
    """The tip's item once the worker has sealed its original (hashed and stored)."""
    deadline = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        item = EvidenceItem.objects.filter(source="tip", source_ref=tip.reference).first()
        if item and item.sha256:
            return item
        time.sleep(0.5)
    pytest.fail(f"no sealed original for {tip.reference}")


def _assert_byte_exact(sha256: str) -> None:
    # One tus upload, resumed (not a second one started from zero), and the original as sent.
    assert Upload.objects.count() == 1
    item = _sealed(Tip.objects.get())
    assert item.original_filename == "signal-drop.mp4"
    assert item.sha256 == sha256
    assert storage.object_sha256(item.original_key) == sha256


# The page goes offline on purpose: the tip map's basemap reads (protomaps-leaflet) fail and
# the library logs "Failed to fetch" to the console, which is what offline means.
@pytest.mark.console_errors_expected
def test_a_video_cut_half_way_resumes_after_a_reload_offline(
    live_server, celery_worker, police, tip_settings, phone, tmp_path
):
    seed_categories(police)
    video, sha256 = _video(tmp_path)
    page = phone
    url = f"{live_server.url}/tips/{police.slug}/"
    page.goto(url)
    # The first visit installs the service worker, which keeps the page for a visit offline.
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    _wait_until_page_is_kept(page)

    _send_tip_with(page, video)
    page.context.set_offline(True)
    _assert_half_way()
    assert _kept_uploads(page) == 1

    # Reloaded with no signal: the page comes from the phone and says the file waits.
    page.reload()
    status = page.locator("#tip-uploads [data-role=uploads-status]")
    expect(status).to_have_text(WAITING)
    assert _kept_uploads(page) == 1
    assert not EvidenceItem.objects.exists()

    page.unroute("**/api/uploads/**")
    page.context.set_offline(False)
    # Back online, the page gives up whatever it had in flight or was waiting to retry and goes
    # on at once from what the server holds.
    expect(status).to_have_text(DONE, timeout=60_000)
    expect(page.locator("#tip-uploads [data-role=files] li.received")).to_contain_text(
        "Received: signal-drop.mp4"
    )
    assert _kept_uploads(page) == 0
    _assert_byte_exact(sha256)


def test_a_video_cut_half_way_resumes_after_the_browser_is_closed(
    live_server, celery_worker, police, tip_settings, browser, tmp_path
):
    seed_categories(police)
    video, sha256 = _video(tmp_path)
    profile = tmp_path / "profile"
    url = f"{live_server.url}/tips/{police.slug}/"

    def open_browser():
        # A persistent profile: IndexedDB outlives the browser, as on a phone.
        context = browser.browser_type.launch_persistent_context(
            str(profile), executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS,
            viewport=PHONE, device_scale_factor=2, is_mobile=True,
        )  # fmt: skip
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(20_000)
        return context, page

    context, page = open_browser()
    try:
        page.goto(url)
        _send_tip_with(page, video)
        _assert_half_way()
        assert _kept_uploads(page) == 1
    finally:
        context.close()
    assert not EvidenceItem.objects.exists()

    context, page = open_browser()
    try:
        page.goto(url)
        expect(page.locator("#tip-uploads [data-role=uploads-status]")).to_have_text(
            DONE, timeout=60_000
        )
        assert _kept_uploads(page) == 0
    finally:
        context.close()
    _assert_byte_exact(sha256)


class HangOnce:
    """Holds the Nth tus PATCH with no answer, as a dead connection would; lets the rest through."""

    def __init__(self, pieces: int):
        self.pieces = pieces
        self.patches = 0
        self.held = None
        self.after_the_hang: list[str] = []

    def __call__(self, route):
        if self.held is not None:
            self.after_the_hang.append(route.request.method)
        elif route.request.method == "PATCH":
            self.patches += 1
            if self.patches > self.pieces:
                self.held = route
                return
        route.continue_()


def test_a_piece_that_hangs_is_given_up_and_the_upload_goes_on(
    live_server, celery_worker, police, tip_settings, settings, phone, tmp_path
):
    settings.TIPS_UPLOAD_STALL_SECONDS = 3
    seed_categories(police)
    video, sha256 = _video(tmp_path)
    page = phone
    page.goto(f"{live_server.url}/tips/{police.slug}/")
    hang = HangOnce(PIECES_BEFORE_THE_CUT)
    _send_tip_through(page, video, hang)

    # Nothing tells the page that the request is dead (no error, no `offline` event): only the
    # silence. It gives up after 3 s, asks the server what it holds (HEAD) and goes on.
    expect(page.locator("#tip-uploads [data-role=uploads-status]")).to_have_text(
        DONE, timeout=60_000
    )
    assert hang.held is not None
    assert hang.after_the_hang[0] == "HEAD", hang.after_the_hang
    assert _kept_uploads(page) == 0
    _assert_byte_exact(sha256)
    with contextlib.suppress(PlaywrightError):
        hang.held.abort()  # the page has dropped it already


def _open_tip_with_its_receipt(page, base: str, police) -> str:
    new = tip_services.tip_create(
        agency=police,
        category=TipCategory.objects.filter(agency=police).first(),
        description="A van without plates, filmed as it drove off.",
        occurred_at=dt.datetime(2026, 1, 15, 21, 30, tzinfo=dt.UTC),
    )
    page.goto(f"{base}/tips/return/")
    page.get_by_label("Your receipt").fill(new.receipt)
    page.get_by_role("button", name="Open my tip").click()
    expect(page).to_have_url(f"{base}/tips/return/tip/")
    return new.receipt


def _kept_upload_fields(page) -> str:
    """What the phone keeps with each file, the file itself left out, as JSON."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("canvass-tips");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const db = open.result;
              const all = db.transaction("uploads").objectStore("uploads").getAll();
              all.onsuccess = () => {
                db.close();
                resolve(JSON.stringify(all.result.map(({ file, ...kept }) => kept)));
              };
            };
          })"""
    )


def test_a_video_added_on_the_return_page_resumes_after_a_reload(
    live_server, celery_worker, police, tip_settings, phone, tmp_path
):
    seed_categories(police)
    video, sha256 = _video(tmp_path)
    page = phone
    receipt = _open_tip_with_its_receipt(page, live_server.url, police)

    uploader = page.locator("#return-uploader")
    uploader.locator('input[type=file][name="files[]"]').first.set_input_files(video)
    cut = SignalCut(PIECES_BEFORE_THE_CUT)
    page.route("**/api/uploads/**", cut)
    uploader.get_by_role("button", name="Upload 1 file").click()
    _wait_for_the_cut(page, cut)
    _assert_half_way()
    assert _kept_uploads(page) == 1
    # Anonymity: the phone keeps the file, its grant and its tus URL, never the receipt.
    kept = _kept_upload_fields(page)
    assert "/api/uploads/" in kept
    assert receipt not in kept and receipt.replace(" ", "") not in kept

    # Reloaded with the upload URL still unreachable: the file is still on the phone, waiting.
    page.reload()
    status = page.locator("#return-uploader [data-role=uploads-status]")
    expect(status).to_have_text(WAITING)
    assert _kept_uploads(page) == 1
    assert not EvidenceItem.objects.exists()

    page.unroute("**/api/uploads/**")
    expect(status).to_have_text(DONE, timeout=90_000)
    expect(uploader.locator("[data-role=files] li.received")).to_contain_text(
        "Received: signal-drop.mp4"
    )
    assert _kept_uploads(page) == 0
    _assert_byte_exact(sha256)
