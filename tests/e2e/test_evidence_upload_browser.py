"""The staff upload page on a phone: Uppy and tus to our tus server, then playback.

Real everything: the login and TOTP pages, the tus server, a Celery worker running the media
pipeline with ffmpeg (where playback is the subject), and Debian's Chromium 390 px wide.
"""

import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from evidence.models import EvidenceItem, Upload, UploadGrant
from tests.conftest import totp_code
from tests.e2e.conftest import ARTIFACTS, PHONE, wait_until
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

PIPELINE_TIMEOUT_SECONDS = 90
# Slow enough that the 4 s test clip takes a few seconds to send, so progress can be seen.
UPLOAD_BYTES_PER_SECOND = 64 * 1024
# Makes Chromium deny native HLS (as Firefox and older Chrome do) so hls.js takes over.
NO_NATIVE_HLS = """
const canPlayType = HTMLMediaElement.prototype.canPlayType;
HTMLMediaElement.prototype.canPlayType = function (type) {
  return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
};
"""
# And without Media Source Extensions hls.js cannot run either: the MP4 proxy is left.
NO_MSE = "delete window.MediaSource; delete window.ManagedMediaSource;"


def _ffmpeg(path, *args: str) -> str:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(path)],
        check=True,
        timeout=60,
    )
    return str(path)


def _make_clip(directory) -> str:
    """A 4 s H.264/AAC clip of about 430 kB."""
    return _ffmpeg(
        directory / "doorbell.mp4",
        *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine"),
        *("-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"),
    )


def _make_big_clip(directory) -> str:
    """A lossless 720p clip of about 12 MB: two 8 MiB tus chunks."""
    return _ffmpeg(
        directory / "doorbell.mp4",
        *("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "6"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"),
    )


def _watch_for_trouble(page, base_url: str) -> list[str]:
    """Collect script errors, failed requests, and any request that leaves our own server."""
    trouble: list[str] = []
    origin = urlsplit(base_url).netloc
    page.on("pageerror", lambda error: trouble.append(f"page error: {error}"))

    def check_console(message):
        # A failed load is reported with its URL by check_response instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            trouble.append(f"console: {message.text}")

    def check_request(request):
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.netloc != origin:
            trouble.append(f"off-site request: {request.url}")

    def check_response(response):
        # The site has no favicon yet; the browser asks for one on its own.
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            trouble.append(f"{response.status} from {response.request.method} {response.url}")

    page.on("console", check_console)
    page.on("request", check_request)
    page.on("response", check_response)
    return trouble


def _sign_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base_url}/login/code/")
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    page.get_by_label("6-digit code").fill(totp_code(device))
    page.get_by_role("button", name="Sign in").click()
    # Each lands where their work is: staff on the dashboard, prosecutors on "Shared with me".
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/staff/(evidence/shared/)?$"))


def _throttle_uploads(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": UPLOAD_BYTES_PER_SECOND,
        },
    )


def _assert_fits_the_phone(page) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"horizontal scroll: scrollWidth={scroll_width}"


def _open_uploader(page, base_url: str) -> None:
    page.goto(f"{base_url}/staff/evidence/")
    page.get_by_role("link", name="Upload evidence").click()
    expect(page).to_have_url(f"{base_url}/staff/evidence/upload/")
    # The Dashboard appears once the page holds its upload grant.
    expect(page.locator(".uppy-Dashboard")).to_be_visible()


def _start_upload(page, clip: str):
    page.locator('input.uppy-Dashboard-input[name="files[]"]').first.set_input_files(clip)
    page.get_by_role("button", name="Upload 1 file").click()
    return page.locator("[data-role=files] li").filter(has_text="doorbell.mp4")


def _upload(page, clip: str) -> None:
    _throttle_uploads(page)
    row = _start_upload(page, clip)
    expect(row).to_contain_text("Sending: doorbell.mp4")
    progress = row.locator("progress")
    expect(progress).to_be_visible()
    page.wait_for_function("bar => bar.value > 0 && bar.value < 100", arg=progress.element_handle())
    expect(row).to_contain_text("Received: doorbell.mp4 — processing", timeout=60_000)
    expect(progress).to_have_attribute("value", "100")
    expect(page.get_by_role("link", name="Go to the evidence list")).to_be_visible()
    expect(page.locator(".uppy-StatusBar.is-complete")).to_contain_text("Complete")


def _wait_until_ready(user) -> EvidenceItem:
    deadline = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    item = None
    while time.monotonic() < deadline:
        item = EvidenceItem.objects.filter(uploaded_by=user).first()
        state = item and item.state
        if state == EvidenceItem.State.READY:
            return item
        if state in (EvidenceItem.State.UNPLAYABLE, EvidenceItem.State.REJECTED):
            pytest.fail(f"item became {state}: {item.state_reason}")
        time.sleep(0.5)
    pytest.fail(f"no ready item after {PIPELINE_TIMEOUT_SECONDS} s: {item and item.state}")


def _play(page, url: str) -> str:
    """Open the item page, play the video muted, and return the source it played from."""
    page.goto(url)
    video = page.locator("video#player")
    expect(video).to_be_visible()
    # The video is on screen before the deferred player.js has given it its stream; a play()
    # before that can be lost. HAVE_METADATA means the player is attached.
    wait_until(page, "() => document.getElementById('player').readyState >= 1", timeout=30_000)
    page.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    wait_until(page, "() => document.getElementById('player').currentTime > 0.5", timeout=30_000)
    expect(page.locator(".player-error")).to_have_count(0)
    return page.evaluate("document.getElementById('player').currentSrc")


def _error_when_the_playlist_is_lost(page, url: str) -> str:
    page.route("**/index.m3u8", lambda route: route.abort("connectionreset"))
    page.goto(url)
    message = page.locator(".player-error")
    expect(message).to_be_visible()
    page.unroute("**/index.m3u8")
    return message.inner_text()


def test_investigator_uploads_a_video_from_a_phone_and_plays_it(
    live_server, celery_worker, make_staff, phone, tmp_path
):
    investigator = make_staff()
    clip = _make_clip(tmp_path)
    base_url = live_server.url
    trouble = _watch_for_trouble(phone, base_url)
    ARTIFACTS.mkdir(exist_ok=True)

    _sign_in(phone, base_url, investigator)
    _open_uploader(phone, base_url)
    _upload(phone, clip)
    _assert_fits_the_phone(phone)
    phone.screenshot(path=str(ARTIFACTS / "upload-390.png"), full_page=True)

    item = _wait_until_ready(investigator)
    assert item.original_filename == "doorbell.mp4"
    item_url = f"{base_url}/staff/evidence/{item.pk}/"
    # Debian's Chromium (156) plays HLS itself; the other two paths are forced below.
    played = {"native HLS": _play(phone, item_url)}
    _assert_fits_the_phone(phone)
    phone.screenshot(path=str(ARTIFACTS / "item-390.png"), full_page=True)
    lost = {"native HLS": _error_when_the_playlist_is_lost(phone, item_url)}
    phone.add_init_script(NO_NATIVE_HLS)
    played["hls.js"] = _play(phone, item_url)
    lost["hls.js"] = _error_when_the_playlist_is_lost(phone, item_url)
    phone.add_init_script(NO_MSE)
    played["MP4 proxy"] = _play(phone, item_url)

    assert played["native HLS"].endswith("/index.m3u8"), played
    assert played["hls.js"].startswith("blob:"), played
    assert played["MP4 proxy"].endswith("/proxy.mp4"), played
    # The browser words its own errors; hls.js's are ours to spell out.
    assert lost["native HLS"].startswith("The video could not be played ("), lost
    assert lost["hls.js"] == (
        "The video could not be played (networkError: manifestLoadError). "
        "Reload the page to try again."
    )
    assert trouble == []


@pytest.mark.console_errors_expected  # Uppy logs the refused upload as an error
def test_a_refused_upload_shows_the_servers_reason(live_server, make_staff, phone, tmp_path):
    investigator = make_staff()
    clip = _make_clip(tmp_path)
    _sign_in(phone, live_server.url, investigator)
    _open_uploader(phone, live_server.url)
    # The grant the page holds is revoked before the file is sent (or it expired meanwhile).
    assert UploadGrant.objects.filter(user=investigator).update(revoked_at=timezone.now()) == 1

    row = _start_upload(phone, clip)

    expect(row).to_contain_text(
        "Not received: doorbell.mp4 — Uploading needs a valid Canvass-Upload-Grant header; "
        "the grant may have expired or been revoked."
    )
    expect(phone.get_by_role("link", name="Go to the evidence list")).to_be_hidden()
    assert not EvidenceItem.objects.exists()


def test_a_dropped_chunk_resumes_from_the_last_byte_the_server_holds(
    live_server, make_staff, phone, tmp_path
):
    investigator = make_staff()
    clip = _make_big_clip(tmp_path)
    _sign_in(phone, live_server.url, investigator)
    _open_uploader(phone, live_server.url)
    sent = []

    def drop_the_second_chunk(route):
        request = route.request
        attempt = (request.method, request.headers.get("upload-offset"))
        first_try = attempt not in sent
        sent.append(attempt)
        if attempt == ("PATCH", "8388608") and first_try:
            return route.abort("connectionreset")
        return route.fallback()

    phone.route("**/api/uploads/*", drop_the_second_chunk)
    row = _start_upload(phone, clip)

    expect(row).to_contain_text("Received: doorbell.mp4 — processing", timeout=60_000)
    # One upload, in 8 MiB chunks; after the drop the client asks where to go on (HEAD).
    assert sent == [
        ("POST", None),
        ("PATCH", "0"),
        ("PATCH", "8388608"),
        ("HEAD", None),
        ("PATCH", "8388608"),
    ]
    upload = Upload.objects.get()
    assert upload.state == Upload.State.COMPLETE
    assert upload.offset == upload.length == Path(clip).stat().st_size
    assert upload.grant.files_started == 1


def test_a_file_of_a_type_the_browser_cannot_name_is_sent_and_a_text_file_is_not(
    live_server, make_staff, phone, tmp_path
):
    # A DVR export: browsers know no type for .dav, and the server judges it by content.
    export = tmp_path / "export.dav"
    export.write_bytes(b"DHAV" + bytes(5000))
    notes = tmp_path / "notes.txt"
    notes.write_text("not evidence media")
    _sign_in(phone, live_server.url, make_staff())
    _open_uploader(phone, live_server.url)

    files = phone.locator('input.uppy-Dashboard-input[name="files[]"]').first
    files.set_input_files([str(export), str(notes)])
    expect(phone.locator(".uppy-Dashboard")).to_contain_text("You can only upload: video/*")
    phone.get_by_role("button", name="Upload 1 file").click()

    expect(phone.locator("[data-role=files] li")).to_have_text(
        ["Received: export.dav — processing"]
    )
    assert EvidenceItem.objects.get().original_filename == "export.dav"
