"""A camera owner links a real RTSP camera, tests it, chooses "ask me each time", answers an
agency's emailed link, and pauses, on a phone-sized screen in Debian's Chromium."""

import re

import pytest
from django.core import mail
from django.test import TestCase
from playwright.sync_api import expect

from livefeeds.cctv import cctv_live_ask, cctv_live_decision
from registry.models import LiveAsk
from tests.factories import PASSWORD
from tests.livefeeds.cctv.helpers import RtspCamera
from tests.registry.cameras import INCIDENT, investigator, owner, register
from tests.registry.requests_helpers import path_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
LINK = re.compile(r"^http://\S+/cameras/live-ask/\S+$", re.MULTILINE)


@pytest.fixture
def camera_stream():
    cam = RtspCamera(user="viewer", password="pw-0123456789").start()
    yield cam
    cam.stop()


def test_the_owner_links_tests_allows_for_15_minutes_and_pauses(
    live_server, phone, police, settings, camera_stream
):
    settings.RELAYMGR_ALLOW_PRIVATE_SOURCES = True
    resident = owner()
    camera = register(resident, *INCIDENT, name="Porch")
    base = live_server.url
    phone.goto(f"{base}/login/")
    phone.get_by_label("Email").fill(resident.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Continue").click()
    phone.goto(f"{base}/cameras/mine/")
    phone.get_by_role("link", name="Live feed").click()
    expect(phone.locator("h1")).to_have_text("Live feed: Porch")

    phone.fill("#id_address", camera_stream.address)
    phone.fill("#id_username", camera_stream.user)
    phone.fill("#id_password", camera_stream.password)
    phone.click("#feed-save")
    expect(phone.locator(".messages")).to_contain_text("The stream is saved")
    expect(phone.locator("#id_password")).to_have_value("")
    assert camera_stream.password not in phone.content()

    phone.click("#feed-test")
    expect(phone.locator("#feed-result")).to_have_attribute("data-state", "ok", timeout=30_000)
    still = phone.locator("#feed-still")
    expect(still).to_be_visible()
    phone.wait_for_function("() => document.querySelector('#feed-still').naturalWidth > 0")
    assert still.bounding_box()["width"] <= 390

    phone.check("input[name=mode][value=ask]")
    phone.click("#policy-save")
    expect(phone.locator("#live-state")).to_contain_text("Ask me each time")

    officer = investigator(police)
    with TestCase.captureOnCommitCallbacks(execute=True):
        cctv_live_ask(actor=officer, camera=camera, reason="Robbery in progress on Main St")
    [link] = LINK.findall(mail.outbox[-1].body)
    assert cctv_live_decision(camera, police).code == "ask_pending"

    phone.goto(f"{base}{path_of(link)}")
    expect(phone.locator("h1")).to_contain_text("Porch")
    expect(phone.locator(".facts")).to_contain_text("Robbery in progress on Main St")
    phone.get_by_role("button", name="Allow for 15 minutes").click()
    expect(phone.locator(".messages")).to_contain_text("to watch for 15 minutes")
    expect(phone.locator("#ask-state")).to_contain_text("Allowed until")
    assert LiveAsk.objects.get().status == LiveAsk.Status.ALLOWED
    assert cctv_live_decision(camera, police).code == "ask_allowed"

    phone.goto(f"{base}/cameras/mine/{camera.pk}/live/")
    phone.click("#live-pause")
    expect(phone.locator("#live-state")).to_contain_text("Paused")
    assert cctv_live_decision(camera, police).code == "paused"
    expect(phone.locator("#live-asks")).to_contain_text("Allowed")
