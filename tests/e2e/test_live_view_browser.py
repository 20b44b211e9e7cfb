"""A supervisor watches a body camera live in Chromium, through the real relay: nginx +
nginx-rtmp started by the test (it serves the page's origin: HLS under /hls/, Canvass behind
it), the simulator's ffmpeg pushing a clock-stamped stream while its heartbeats say recording.
She starts the view with a reason and a case number by the page's buttons, the video plays
(its currentTime advances), a second supervisor revokes the view on his own page, and the
first one's playback stops: the page says so and the relay answers 403 for her token."""

import time

import pytest
import requests
from playwright.sync_api import expect

from livefeeds.models import ViewSession
from portal.models import AuditEvent
from tests.e2e.conftest import PHONE, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.livefeeds import relayctl
from tests.livefeeds.helpers import is_publishing, live_camera, push, supervisor_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def relay(live_server, settings):
    started = relayctl.start(live_server.url, settings.RELAY_SECRET)
    settings.RELAY_HTTP_PORT = started.config.http_port
    settings.RELAY_CONTROL_PORT = started.config.control_port
    settings.RELAY_HLS_URL = "/hls/"
    try:
        yield started
    finally:
        relayctl.quiesce(started)


def _current_time(page) -> float:
    return page.evaluate("() => document.getElementById('live-video').currentTime")


def test_supervisor_watches_live_and_a_revocation_stops_playback(
    relay, live_server, browser, police
):
    camera = live_camera(police, live_server.url, serial="BWC-LIVE-1")
    camera.beat("recording")
    push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    sam = supervisor_of(police, full_name="Sam Supervisor")
    rita = supervisor_of(police, full_name="Rita Revoker")
    base = relay.http  # the relay's origin: the page and its HLS share it

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, base, sam)
    page.goto(f"{base}/staff/live/")
    page.get_by_role("link", name="Watch", exact=True).click()
    page.get_by_label("Category").select_option("incident")
    page.get_by_label("Reason").fill("Subject advancing on officer")
    page.get_by_label("Case or incident number").fill("CAD-2026-0042")
    page.get_by_role("button", name="Start watching").click()

    expect(page.locator("#view-reason")).to_have_text("Subject advancing on officer")
    wait_until(page, "() => document.getElementById('live-viewer').dataset.state === 'live'",
               timeout=20_000)  # fmt: skip
    first = _current_time(page)
    time.sleep(2)
    assert _current_time(page) > first + 1  # the video advances
    expect(page.locator("#live-status")).to_have_text("live")
    hls_url = base + page.locator("#live-viewer").get_attribute("data-hls")
    assert requests.get(hls_url, timeout=5).status_code == 200
    # Keep the camera's heartbeat going while she watches (recording; a beat a few seconds).
    camera.beat("recording")

    # Rita revokes it on her own page, by its button.
    session = ViewSession.objects.get()
    other = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    revoker = other.new_page()
    revoker.set_default_timeout(20_000)
    _sign_in(revoker, base, rita)
    revoker.goto(f"{base}/staff/live/views/{session.pk}/")
    revoker.locator("#revoke-form").get_by_label("Reason").fill("Incident over")
    revoker.get_by_role("button", name="Revoke now").click()
    expect(revoker.get_by_text("Revoked: the viewer's next request is refused.")).to_be_visible()

    # The relay refuses her token at once; her page stops and says why within 5 s.
    assert requests.get(hls_url, timeout=5).status_code == 403
    wait_until(
        page,
        "() => ['ended', 'refused'].includes(document.getElementById('live-viewer').dataset.state)",
        timeout=5_000,
    )
    stopped = _current_time(page)
    time.sleep(1.5)
    assert _current_time(page) == stopped
    expect(page.locator("#live-status")).to_have_text("ended", timeout=5_000)
    expect(page.locator("#live-detail")).to_contain_text("Incident over")
    assert AuditEvent.objects.filter(action="live.view_revoked", reason="Incident over").exists()
    context.close()
    other.close()
