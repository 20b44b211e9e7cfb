"""A supervisor watching a body camera live saves its last 10 seconds into a case, in Chromium,
through the real relay: nginx + nginx-rtmp started by the test (it serves the page's origin),
the simulator's ffmpeg pushing a clock-stamped stream while its heartbeats say recording, and a
real Celery worker (reading the relay's ring) running livefeeds.save_live_clip and then the media
pipeline. The page shows the clip queued, then saved with a link; the item is in the case,
hashed as its manifest says, marked secondary, and plays on its page."""

import time

import pytest
from playwright.sync_api import expect

from evidence.models import EvidenceItem, Source
from livefeeds.models import ViewSession
from portal.models import AuditEvent
from portal.roles import Role
from tests.e2e.conftest import PHONE, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import UserFactory, add_totp_device
from tests.livefeeds import relayctl
from tests.livefeeds.helpers import is_publishing, live_camera, push, supervisor_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def relay(live_server, settings):
    started = relayctl.start(live_server.url, settings.RELAY_SECRET)
    settings.RELAY_HTTP_PORT = started.config.http_port
    settings.RELAY_CONTROL_PORT = started.config.control_port
    settings.RELAY_HLS_URL = "/hls/"
    settings.RELAY_DIR = started.prefix
    settings.RELAY_HLS_PLAYLIST_SECONDS = started.config.playlist_seconds
    try:
        yield started
    finally:
        relayctl.quiesce(started)


def test_a_supervisor_saves_the_last_10_seconds_of_a_body_camera_into_a_case(
    relay, live_server, worker_pool, browser, police
):
    # The worker reads the ring where this relay writes it.
    worker_pool.start(RELAY_DIR=str(relay.prefix))
    camera = live_camera(police, live_server.url, serial="BWC-CLIP-1")
    camera.beat("recording")
    push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    investigator = UserFactory(role=Role.INVESTIGATOR, agency=police)
    add_totp_device(investigator)
    case = make_case(lead=verified(investigator), number="RPD-2026-0042")
    sam = supervisor_of(police, full_name="Sam Supervisor")
    base = relay.http

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, base, sam)
    page.goto(f"{base}/staff/live/")
    page.get_by_role("link", name="Watch", exact=True).click()
    page.get_by_label("Category").select_option("incident")
    page.get_by_label("Reason").fill("Subject advancing on officer")
    page.get_by_label("Case or incident number").fill("RPD-2026-0042")
    page.get_by_role("button", name="Start watching").click()
    wait_until(page, "() => document.getElementById('live-viewer').dataset.state === 'live'",
               timeout=20_000)  # fmt: skip

    # The case number of the view is offered; she keeps it and asks for the last 10 s once the
    # ring holds that much.
    expect(page.locator("#id_case_number")).to_have_value("RPD-2026-0042")
    time.sleep(10)
    camera.beat("recording")
    page.get_by_label("Seconds (at most").fill("10")
    page.get_by_role("button", name="Save the last seconds").click()
    row = page.locator("#clip-list li").first
    expect(row.locator(".clip-asked")).to_have_text("last 10 s")
    expect(row).to_have_attribute("data-state", "queued", timeout=5_000)
    # The video keeps playing while the clip is cut (the form went by fetch, no reload).
    expect(page.locator("#live-status")).to_have_text("live")
    expect(row).to_have_attribute("data-state", "saved", timeout=60_000)
    expect(row.locator(".clip-case")).to_have_text("RPD-2026-0042")
    # 390 px: the panel (its date and time fields too) never makes the page scroll sideways.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width

    item = EvidenceItem.objects.get(source=Source.LIVE_CLIP)
    session = ViewSession.objects.get()
    manifest = item.metadata["source_details"]["live_clip"]
    assert item.metadata["source_details"]["secondary"] is True
    assert manifest["session"] == str(session.pk)
    assert manifest["device"]["serial"] == "BWC-CLIP-1"
    assert case.items.filter(pk=item.pk).exists()
    asked = AuditEvent.objects.get(action="livefeeds.clip_requested")
    assert asked.actor_id == sam.pk and asked.case_ref == "RPD-2026-0042"
    assert AuditEvent.objects.filter(action="livefeeds.clip_saved", target_id=str(item.pk)).exists()
    # The worker's pipeline hashes and processes it: the hash is the manifest's.
    relayctl.wait_for(
        lambda: EvidenceItem.objects.get(pk=item.pk).state == EvidenceItem.State.READY,
        timeout=90,
        every=0.5,
    )
    item.refresh_from_db()
    assert item.sha256 == manifest["clip"]["sha256"]
    assert manifest["window_requested"]["asked"] == "last 10 s"

    row.locator("a.clip-item").click()
    expect(page).to_have_url(f"{base}/staff/evidence/{item.pk}/")
    expect(page.locator("#secondary-copy")).to_contain_text("Secondary copy.")
    expect(page.locator(".hash").first).to_have_text(item.sha256)
    video = page.locator("video#player")
    expect(video).to_be_visible()
    wait_until(page, "() => document.getElementById('player').readyState >= 1", timeout=30_000)
    page.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    wait_until(page, "() => document.getElementById('player').currentTime > 1.5", timeout=30_000)
    duration = page.evaluate("document.getElementById('player').duration")
    # 10 s asked, cut on the relay's 1 s segments (the one being written is not listed yet).
    assert 8.5 <= duration <= 11.5, duration
    context.close()
    # Let the worker finish what the item queued (its last processing steps) before it stops.
    inspect = worker_pool.app.control.inspect(timeout=1)
    relayctl.wait_for(lambda: not any((inspect.active() or {}).values()), timeout=60, every=0.5)
