"""A resident's tip from a phone, start to finish, and an investigator working it.

Real everything: the tip page with Leaflet and the ALTCHA widget, the API, Uppy + tus to our
tus server, the return page, a Celery worker running the media pipeline with ffmpeg, the
investigator's login with TOTP and the player. Then every table and every captured log line is
searched for the tipster's address and user agent.
"""

import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from evidence import samples
from evidence.models import EvidenceItem, Source
from portal.roles import Role
from submissions import services
from submissions.demo import seed_categories
from submissions.models import Tip, TipMessage
from tests.e2e.conftest import ARTIFACTS, PHONE
from tests.e2e.test_evidence_upload_browser import _play, _sign_in, _throttle_uploads
from tests.submissions.helpers import TIPSTER_UA, tables_containing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

PIPELINE_TIMEOUT_SECONDS = 120
HERE = {"latitude": 40.7561, "longitude": -73.9602}


def _watch(page, base_url: str) -> list[str]:
    trouble: list[str] = []
    origin = urlsplit(base_url).netloc
    page.on("pageerror", lambda error: trouble.append(f"page error: {error}"))

    def check_request(request):
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != origin:
            trouble.append(f"off-site request: {request.url}")

    def check_response(response):
        if response.status >= 400:
            trouble.append(f"{response.status} from {response.request.method} {response.url}")

    page.on("request", check_request)
    page.on("response", check_response)
    return trouble


def _tipster_context(browser):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, user_agent=TIPSTER_UA,
        geolocation=HERE, permissions=["geolocation"],
    )  # fmt: skip
    return context


def _wait_ready(tip: Tip, kind: str) -> EvidenceItem:
    deadline = time.monotonic() + PIPELINE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        item = EvidenceItem.objects.filter(
            source=Source.TIP, source_ref=tip.reference, media_kind=kind
        ).first()
        if item and item.state == EvidenceItem.State.READY:
            return item
        if item and item.state in (EvidenceItem.State.UNPLAYABLE, EvidenceItem.State.REJECTED):
            pytest.fail(f"{kind} became {item.state}: {item.state_reason}")
        time.sleep(0.5)
    pytest.fail(f"no ready {kind} for {tip.reference}")


def test_a_resident_sends_a_tip_with_a_video_comes_back_and_the_investigator_plays_it(
    live_server, celery_worker, browser, make_staff, police, settings, caplog, capfd, tmp_path
):
    settings.TIPS_POW_COST = 1000
    settings.TIPS_POW_KEY_PREFIX = "0"
    caplog.set_level("DEBUG")
    seed_categories(police)
    investigator = make_staff(Role.INVESTIGATOR)
    clip = samples.phone_clip_mov(tmp_path, seconds=4, lat=40.7571, lon=-73.9612, name="scene.mov")
    photo = samples.photo_with_exif_gps(tmp_path, lat=40.7570, lon=-73.9611)
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    context = _tipster_context(browser)
    phone = context.new_page()
    phone.set_default_timeout(20_000)
    trouble = _watch(phone, base)

    # 1. The tip, with a video, from the phone.
    phone.goto(f"{base}/tips/")
    phone.get_by_role("link", name="Riverton PD").click()
    expect(phone.locator("#tip-map .leaflet-tile-loaded").first).to_be_visible()
    phone.get_by_label("What is it about?").select_option("vehicle")
    phone.get_by_label("What happened?").fill(
        "Two men took a bike from the rack and drove off in a grey van."
    )
    phone.get_by_role("button", name="Use my location").click()
    expect(phone.locator("[data-role=place-status]")).to_have_text("Place set from your location.")
    phone.locator('#tip-files input[type=file][name="files[]"]').first.set_input_files(str(clip))
    expect(phone.locator(".uppy-Dashboard-Item")).to_have_count(1)
    phone.get_by_label("No: keep the time and place").check()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(ARTIFACTS / "tip-form-390.png"), full_page=True)
    _throttle_uploads(phone)
    phone.get_by_role("button", name="Send my tip").click()

    receipt_box = phone.locator("#tip-receipt [data-role=receipt]")
    expect(receipt_box).to_have_text(__import__("re").compile(r"^\d{4} \d{4} \d{4} \d{4}$"))
    receipt = receipt_box.inner_text()
    row = phone.locator("#tip-receipt [data-role=files] li").filter(has_text="scene.mov")
    bar = row.locator("progress")
    phone.wait_for_function("bar => bar.value > 0 && bar.value < 100", arg=bar.element_handle())
    phone.screenshot(path=str(ARTIFACTS / "tip-receipt-390.png"), full_page=True)
    expect(row).to_contain_text("Received: scene.mov", timeout=90_000)
    expect(bar).to_have_attribute("value", "100")

    tip = Tip.objects.get()
    assert (round(tip.location.y, 4), round(tip.location.x, 4)) == (40.7561, -73.9602)
    assert tip.share_file_metadata is False and tip.category.slug == "vehicle"

    # 2. An investigator asks a question.
    investigator.is_verified = lambda: True
    services.tip_question_send(actor=investigator, tip=tip, body="Did you see the van's plate?")

    # 3. The tipster comes back, answers and adds a photo.
    phone.goto(f"{base}/tips/return/")
    expect(phone.get_by_text("there is no way back to your tip")).to_be_visible()
    phone.get_by_label("Your receipt").fill(receipt)
    phone.get_by_role("button", name="Open my tip").click()
    expect(phone).to_have_url(f"{base}/tips/return/tip/")
    expect(phone.get_by_text("Did you see the van's plate?")).to_be_visible()
    expect(phone.get_by_text("The investigators have a question for you.")).to_be_visible()
    phone.get_by_label("Your answer or anything to add").fill("Yes: it started with KX7.")
    phone.get_by_role("button", name="Send", exact=True).click()
    expect(phone.get_by_text("Your message was sent.")).to_be_visible()
    phone.locator('#return-uploader input[type=file][name="files[]"]').first.set_input_files(
        str(photo)
    )
    phone.locator("#return-uploader").get_by_role("button", name="Upload 1 file").click()
    expect(phone.locator("#return-uploader [data-role=files] li")).to_contain_text(
        "Received: photo.jpg", timeout=60_000
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(ARTIFACTS / "tip-return-390.png"), full_page=True)
    context.close()
    assert TipMessage.objects.filter(tip=tip, direction="from_tipster").get().body == (
        "Yes: it started with KX7."
    )

    # 4. The investigator sees the answer and plays the video.
    video = _wait_ready(tip, "video")
    _wait_ready(tip, "image")
    staff_context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    staff = staff_context.new_page()
    staff.set_default_timeout(20_000)
    _sign_in(staff, base, investigator)
    staff.goto(f"{base}/staff/tips/")
    staff.get_by_role("link", name=tip.reference).click()
    expect(staff.get_by_text("Yes: it started with KX7.")).to_be_visible()
    expect(staff.get_by_role("heading", name="Files (2)")).to_be_visible()
    staff.screenshot(path=str(ARTIFACTS / "tip-inbox-390.png"), full_page=True)
    played = _play(staff, f"{base}/staff/evidence/{video.pk}/")
    assert played.endswith("/index.m3u8")
    staff_context.close()

    # 5. Nothing anywhere names the tipster's address or user agent.
    assert trouble == [], trouble
    out, err = capfd.readouterr()
    for needle in (TIPSTER_UA, "CanvassTipsterProbe"):
        assert tables_containing(needle) == [], needle
        assert needle not in caplog.text + out + err, needle
    assert tables_containing("127.0.0.1") == []
    assert "127.0.0.1" not in caplog.text
