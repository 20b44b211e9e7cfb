"""A resident's tip from a phone, start to finish, and an investigator working it.

Real everything: the tip page with Leaflet and the ALTCHA widget, the API, Uppy + tus to our
tus server, the return page, a Celery worker running the media pipeline with ffmpeg, the
investigator's login with TOTP and the player. Then every table and every captured log line is
searched for the tipster's address and user agent.
"""

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from evidence import samples
from evidence.cases import services as case_services
from evidence.models import EvidenceItem, Source
from portal.roles import Role
from submissions import services
from submissions.demo import seed_categories
from submissions.models import QuestionTemplate, Tip, TipMessage, TipStatus
from tests.e2e.conftest import ARTIFACTS, PHONE, wait_until
from tests.e2e.test_evidence_upload_browser import _play, _sign_in, _throttle_uploads
from tests.submissions.helpers import TIPSTER_UA, tables_containing

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

PIPELINE_TIMEOUT_SECONDS = 120
HERE = {"latitude": 40.7561, "longitude": -73.9602}
LAPTOP = {"width": 1366, "height": 768}
RECEIPT = re.compile(r"^\d{4} \d{4} \d{4} \d{4}$")
TEMPLATE_QUESTION = "Did you see the number plate of the vehicle?"
CASE_NUMBER = "2026-0042"


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
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        user_agent=TIPSTER_UA, geolocation=HERE,
        permissions=["geolocation", "clipboard-read", "clipboard-write"],
    )  # fmt: skip
    return context


def _verified(user):
    user.is_verified = lambda: True
    return user


def _panel_setup(agency, investigator, make_staff) -> None:
    """What a supervisor keeps ready: a question template and the investigator's case."""
    supervisor = _verified(make_staff(Role.SUPERVISOR))
    QuestionTemplate.objects.create(
        agency=agency, title="Number plate", body=TEMPLATE_QUESTION, created_by=supervisor
    )
    case_services.case_create(
        actor=supervisor, number=CASE_NUMBER, title="Bike thefts", lead=investigator
    )


def _plain_words_errors(page) -> None:
    """Sending an empty form: each field says what it needs, and nothing is sent."""
    page.get_by_role("button", name="Send my tip").click()
    errors = page.locator("[data-role=field-error]")
    expect(errors.filter(has_text="Choose what it's about.")).to_be_visible()
    expect(errors.filter(has_text="Tell us what happened.")).to_be_visible()
    expect(page.get_by_label("What is it about?")).to_be_focused()
    assert "This field is required" not in page.content()
    assert not Tip.objects.exists()


def _keep_the_receipt(page, base: str, screenshot: str) -> tuple[str, str, str]:
    """The receipt, shown large: leaving asks first; copy and save keep it. Returns the receipt,
    the reference and the saved file's text."""
    box = page.locator("#tip-receipt")
    expect(box.locator("[data-role=receipt]")).to_have_text(RECEIPT)
    receipt = box.locator("[data-role=receipt]").inner_text()
    reference = box.locator("[data-role=reference]").inner_text()
    assert re.fullmatch(r"T-[A-Z0-9]{8}", reference), reference
    here = page.url
    # Not kept yet: the browser asks before the page is left, and staying keeps the receipt.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    box.get_by_role("link", name="Come back later with your receipt").click()
    assert asked == ["beforeunload"]
    expect(box.locator("[data-role=receipt]")).to_have_text(receipt)
    assert page.url == here
    # Printed, only the receipt shows.
    page.emulate_media(media="print")
    expect(box.locator("[data-role=receipt]")).to_be_visible()
    expect(page.locator("header.top")).to_be_hidden()
    expect(box.get_by_role("button", name="Copy the receipt")).to_be_hidden()
    page.emulate_media(media="screen")
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    box.get_by_role("button", name="Copy the receipt").click()
    expect(box.locator("[data-role=receipt-action-status]")).to_contain_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == receipt
    expect(box.get_by_label("I have saved my receipt")).to_be_checked()
    with page.expect_download() as saved:
        box.get_by_role("button", name="Save it as a file").click()
    assert saved.value.suggested_filename == f"tip-{reference}.txt"
    text = Path(saved.value.path()).read_text(encoding="utf-8")
    assert f"Your tip receipt: {receipt}" in text and f"{base}/tips/return/" in text
    assert reference in text
    return receipt, reference, text


def _work_the_tip(staff, base: str, tip: Tip, investigator, *, photos: int) -> None:
    """The investigator works the tip from the panel: assign to me, a next step, a templated
    question, the case number from suggestions; the photos and videos are on the page."""
    staff.goto(f"{base}/staff/tips/{tip.reference}/")
    media = staff.locator(".tip-media")
    expect(media.locator("img")).to_have_count(photos)
    for n in range(photos):
        wait_until(
            staff,
            f"() => document.querySelectorAll('.tip-media img')[{n}].naturalWidth > 0",
        )
    panel = staff.locator("#work-tip")
    panel.get_by_role("button", name="Assign to me").click()
    expect(panel.locator("[data-role=assignee]")).to_have_text(investigator.label)
    expect(panel.get_by_role("button", name="Assign to me")).to_have_count(0)
    # Only the steps open from "assigned", in words.
    steps = panel.locator("form.tip-steps button")
    expect(steps).to_have_text(
        [
            "Send back to triage",
            "Mark as actionable",
            "Mark as not actionable",
            "Mark as a duplicate",
        ]
    )
    panel.get_by_role("button", name="Mark as actionable").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text(f"Tip {tip.reference} · Actionable")
    staff.get_by_label("Start from a template").select_option(label="Number plate")
    expect(staff.get_by_label("Question to the tipster")).to_have_value(TEMPLATE_QUESTION)
    staff.get_by_role("button", name="Send question").click()
    expect(staff.get_by_text("Question sent.")).to_be_visible()
    case_field = staff.locator("#work-tip").get_by_label("Case number")
    case_field.press_sequentially("0042")
    expect(staff.locator(f'#case-suggestions option[value="{CASE_NUMBER}"]')).to_have_count(1)
    case_field.fill(CASE_NUMBER)
    staff.locator("#work-tip").get_by_role("button", name="Save", exact=True).click()
    expect(staff.get_by_text("Saved.")).to_be_visible()
    assert staff.evaluate("document.documentElement.scrollWidth") <= staff.viewport_size["width"]
    tip.refresh_from_db()
    assert tip.assigned_to == investigator and tip.status == TipStatus.ACTIONABLE
    assert tip.case_number == CASE_NUMBER
    assert tip.messages.filter(body=TEMPLATE_QUESTION, author=investigator).exists()


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
    started = time.monotonic()
    settings.TIPS_POW_COST = 1000
    settings.TIPS_POW_KEY_PREFIX = "0"
    caplog.set_level("DEBUG")
    seed_categories(police)
    investigator = make_staff(Role.INVESTIGATOR)
    _panel_setup(police, investigator, make_staff)
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
    # On a touch screen the picker says what it does; nothing is dropped on a phone.
    expect(phone.locator("#tip-files")).to_contain_text("Add photos or videos")
    expect(phone.locator("#tip-files")).not_to_contain_text("Drop files here")
    _plain_words_errors(phone)
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
    expect(receipt_box).to_have_text(RECEIPT)
    receipt = receipt_box.inner_text()
    row = phone.locator("#tip-receipt [data-role=files] li").filter(has_text="scene.mov")
    bar = row.locator("progress")
    phone.wait_for_function("bar => bar.value > 0 && bar.value < 100", arg=bar.element_handle())
    phone.screenshot(path=str(ARTIFACTS / "tip-receipt-390.png"), full_page=True)
    expect(row).to_contain_text("Received: scene.mov", timeout=90_000)
    expect(bar).to_have_attribute("value", "100")
    _keep_the_receipt(phone, base, "tip-receipt-kept-390.png")

    tip = Tip.objects.get()
    assert (round(tip.location.y, 4), round(tip.location.x, 4)) == (40.7561, -73.9602)
    assert tip.share_file_metadata is False and tip.category.slug == "vehicle"

    # 2. An investigator asks a question.
    _verified(investigator)
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
    expect(staff.locator(".tip-media video[data-player]")).to_have_count(1)
    _work_the_tip(staff, base, tip, investigator, photos=1)
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
    print(f"journey seconds, tip with a video at 390 px: {time.monotonic() - started:.1f}")


def test_at_1366_a_resident_sends_a_photo_comes_back_with_the_saved_receipt_and_it_is_worked(
    live_server, celery_worker, browser, make_staff, police, settings, tmp_path
):
    started = time.monotonic()
    settings.TIPS_POW_COST = 1000
    settings.TIPS_POW_KEY_PREFIX = "0"
    seed_categories(police)
    investigator = make_staff(Role.INVESTIGATOR)
    _panel_setup(police, investigator, make_staff)
    photo = samples.photo_with_exif_gps(tmp_path, lat=40.7570, lon=-73.9611)
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    context = browser.new_context(
        viewport=LAPTOP, user_agent=TIPSTER_UA, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    trouble = _watch(page, base)

    # 1. The tip, with a photo, from a laptop.
    page.goto(f"{base}/tips/{police.slug}/")
    expect(page.locator("#tip-files")).to_contain_text("Drop files here")
    _plain_words_errors(page)
    page.get_by_label("What is it about?").select_option("vehicle")
    page.get_by_label("What happened?").fill("A grey van without plates, parked by the school.")
    page.locator('#tip-files input[type=file][name="files[]"]').first.set_input_files(str(photo))
    expect(page.locator(".uppy-Dashboard-Item")).to_have_count(1)
    page.get_by_role("button", name="Send my tip").click()
    expect(page.locator("#tip-receipt [data-role=files] li")).to_contain_text(
        "Received: photo.jpg", timeout=60_000
    )
    _receipt, reference, saved = _keep_the_receipt(page, base, "tip-receipt-kept-1366.png")
    tip = Tip.objects.get(reference=reference)

    # 2. Coming back: the receipt read from the saved file.
    from_file = re.search(r"Your tip receipt: ([\d ]+)", saved).group(1).strip()
    page.goto(f"{base}/tips/return/")
    page.get_by_label("Your receipt").fill(from_file)
    page.get_by_role("button", name="Open my tip").click()
    expect(page).to_have_url(f"{base}/tips/return/tip/")
    expect(page.locator("dd[data-role=reference]")).to_have_text(reference)
    expect(page.get_by_text("You can write here until")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "tip-return-1366.png"), full_page=True)
    context.close()

    # 3. The investigator works it from the panel, at 1366 px.
    _wait_ready(tip, "image")
    staff_context = browser.new_context(viewport=LAPTOP)
    staff = staff_context.new_page()
    staff.set_default_timeout(20_000)
    _sign_in(staff, base, _verified(investigator))
    _work_the_tip(staff, base, tip, investigator, photos=1)
    staff.screenshot(path=str(ARTIFACTS / "tip-work-1366.png"), full_page=True)
    staff_context.close()
    assert trouble == [], trouble
    print(f"journey seconds, tip with a photo at 1366 px: {time.monotonic() - started:.1f}")
