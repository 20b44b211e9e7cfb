"""CCTV live through every real part: a GStreamer RTSP camera, the relay manager's loop (in a
thread, against the live server's settings) pulling it with ffmpeg into nginx-rtmp, nginx's
auth_request asking Django for every playlist and segment, and Chromium playing it.

1. A supervisor watches a resident's camera by the page's buttons: the video's currentTime
   advances; then the owner pauses sharing, the very next segment is 403 and the page says
   the owner paused.
2. The incident live wall, at 390 px and at 1366 px: one CCTV camera live, one refused by its
   owner's policy (in words), one body camera live; a screenshot of each is kept.
"""

import datetime as dt
import threading
import time

import pytest
import requests
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from devices.models import CadIncident, DeviceAssignment
from devices.simulator import Fix
from livefeeds.relaymgr import RelayManager
from portal.models import AuditEvent
from registry import feeds
from tests.e2e.conftest import ARTIFACTS, PHONE, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.livefeeds import relayctl
from tests.livefeeds.cctv.helpers import RtspCamera
from tests.livefeeds.helpers import is_publishing, live_camera, push, supervisor_of
from tests.livefeeds.watch.helpers import link
from tests.registry.cameras import INCIDENT, offset, owner, register

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def relay(live_server, settings):
    started = relayctl.start(live_server.url, settings.RELAY_SECRET)
    settings.RELAY_HTTP_PORT = started.config.http_port
    settings.RELAY_CONTROL_PORT = started.config.control_port
    settings.RELAY_RTMP_PORT = started.config.rtmp_port
    settings.RELAY_HLS_URL = "/hls/"
    settings.RELAYMGR_ALLOW_PRIVATE_SOURCES = True
    try:
        yield started
    finally:
        relayctl.quiesce(started)


@pytest.fixture
def relaymgr(relay):
    """The relay manager's loop in a thread (what `manage.py relaymgr` runs)."""
    stop = threading.Event()
    manager = RelayManager(idle_seconds=20, backoff_min=0.5, backoff_max=2, socket_timeout=3)

    def run() -> None:
        try:
            manager.run(stop, 0.3)
        finally:
            connection.close()  # the thread's own connection, before the test database goes

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield manager
    stop.set()
    thread.join(timeout=15)


@pytest.fixture
def rtsp():
    started: list[RtspCamera] = []

    def start() -> RtspCamera:
        camera = RtspCamera().start()
        started.append(camera)
        return camera

    yield start
    for camera in started:
        camera.stop()


def _current_time(page, selector="#live-video") -> float:
    return page.evaluate(f"() => document.querySelector('{selector}').currentTime")


def test_a_supervisor_watches_a_real_camera_and_the_owners_pause_stops_it(
    relay, relaymgr, rtsp, live_server, browser, police
):
    resident = owner()
    camera = register(resident, *INCIDENT, name="Corner shop")
    source = rtsp()
    link(camera, resident, address=source.address, agency=police)
    sam = supervisor_of(police, full_name="Sam Supervisor")
    base = relay.http  # the relay's origin: the page and its HLS share it

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, base, sam)
    page.goto(f"{base}/staff/live/cameras/{camera.pk}/watch/")
    expect(page.locator("#watch-state")).to_contain_text("shares this camera with your agency")
    page.get_by_label("Category").select_option("incident")
    page.get_by_label("Reason").fill("Robbery in progress next door")
    page.get_by_label("Case or incident number").fill("CAD-2026-0107")
    page.get_by_role("button", name="Start watching").click()
    expect(page.locator("h1")).to_have_text("Live view of Corner shop")
    wait_until(page, "() => document.getElementById('live-viewer').dataset.state === 'live'",
               timeout=30_000)  # fmt: skip
    first = _current_time(page)
    time.sleep(2)
    assert _current_time(page) > first + 1  # the video advances
    hls_url = base + page.locator("#live-viewer").get_attribute("data-hls")
    assert requests.get(hls_url, timeout=5).status_code == 200
    token = hls_url.split("/hls/", 1)[1].split("/", 1)[0]
    assert requests.get(hls_url.replace(token, "A" * 22), timeout=5).status_code == 403

    # The owner pauses: the next request (past the 1 s decision cache) is refused.
    feeds.live_pause(actor=resident, camera_id=camera.pk)
    relayctl.wait_for(lambda: requests.get(hls_url, timeout=5).status_code == 403, timeout=2)
    wait_until(page, "() => document.getElementById('live-viewer').dataset.state === 'refused'",
               timeout=10_000)  # fmt: skip
    expect(page.locator("#live-detail")).to_have_text("The owner has paused live sharing.")
    stopped = _current_time(page)
    time.sleep(1.5)
    assert _current_time(page) == stopped
    started = AuditEvent.objects.get(action="live.view_started")
    assert started.reason == "Robbery in progress next door"
    context.close()


def test_the_incident_live_wall_on_a_phone_and_a_laptop(
    relay, relaymgr, rtsp, live_server, browser, police
):
    resident = owner()
    shop = register(resident, *offset(*INCIDENT, 60, 40), name="Corner shop")
    link(shop, resident, address=rtsp().address, agency=police)
    porch = register(owner(), *offset(*INCIDENT, -80, 0), name="Porch camera")
    link(porch, porch.owner, address=rtsp().address, mode="never")
    register(owner(), *offset(*INCIDENT, 2000, 0), name="Far away")  # outside 300 m
    body = live_camera(police, live_server.url, serial="BWC-0042")
    DeviceAssignment.objects.filter(device=body.device).update(unit="A12")

    def beat() -> None:  # recording, 30 m from the incident (a place only while recording)
        lat, lon = offset(*INCIDENT, -20, -25)
        body.sim.heartbeat("recording", Fix(timezone.now(), lat, lon, 5.0))

    beat()
    push(relay, body)
    relayctl.wait_for(lambda: is_publishing(body), timeout=10)
    CadIncident.objects.create(
        agency=police,
        incident_id="CAD-2026-0311",
        incident_type="Disturbance with a weapon",
        point=Point(INCIDENT[1], INCIDENT[0], srid=4326),
        units=["A12"],
        dispatched_at=timezone.now() - dt.timedelta(minutes=3),
        received_at=timezone.now(),
    )
    sam = supervisor_of(police, full_name="Sam Supervisor")
    base = relay.http

    for name, viewport, extra in (
        ("phone", PHONE, {"device_scale_factor": 2, "is_mobile": True}),
        ("laptop", LAPTOP, {}),
    ):
        context = browser.new_context(viewport=viewport, **extra)
        page = context.new_page()
        page.set_default_timeout(20_000)
        _sign_in(page, base, sam)
        page.goto(f"{base}/staff/live/")
        page.get_by_role("link", name="Live wall").click()
        expect(page.locator("h1")).to_have_text("Live wall: incident CAD-2026-0311")
        expect(page.get_by_label("Distance (metres)")).to_have_value("300")
        expect(page.get_by_label("Case or incident number")).to_have_value("CAD-2026-0311")
        page.get_by_label("Category").select_option("incident")
        page.get_by_label("Reason").fill("Officer asked for backup; subject armed")
        page.get_by_role("button", name="Start the live wall").click()
        tiles = page.locator("#live-wall .tile")
        expect(tiles).to_have_count(3)
        shop_tile = tiles.filter(has_text="Corner shop")
        porch_tile = tiles.filter(has_text="Porch camera")
        body_tile = tiles.filter(has_text="BWC-0042")
        expect(porch_tile).to_have_attribute("data-state", "refused")
        expect(porch_tile.locator(".tile-state")).to_have_text("not permitted")
        expect(porch_tile.locator(".tile-detail")).to_have_text(
            "The camera's owner does not share it live."
        )
        for tile in (shop_tile, body_tile):
            expect(tile).to_have_attribute("data-state", "live", timeout=30_000)
            expect(tile.locator(".tile-state")).to_have_text("live")
        for tile_id in ("#" + shop_tile.get_attribute("id"), "#" + body_tile.get_attribute("id")):
            before = _current_time(page, f"{tile_id} video")
            time.sleep(1.5)
            assert _current_time(page, f"{tile_id} video") > before
        wait_until(page, "() => Number(document.getElementById('wall-map').dataset.markers) === 4")
        boxes = [tiles.nth(i).bounding_box() for i in range(3)]
        if name == "phone":
            # One column, nothing wider than the screen; a tap enlarges nothing wider.
            assert len({round(b["x"]) for b in boxes}) == 1
            assert all(b["x"] + b["width"] <= 390 for b in boxes)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        else:
            assert len({round(b["y"]) for b in boxes}) == 1  # a row of three
            shop_tile.locator(".tile-enlarge").click()
            expect(shop_tile).to_have_attribute("class", "tile enlarged")
            assert shop_tile.bounding_box()["width"] > 2 * boxes[0]["width"]
            shop_tile.locator(".tile-enlarge").click()
        page.screenshot(path=str(ARTIFACTS / f"live-wall-{name}.png"), full_page=True)
        page.get_by_role("button", name="Stop watching every camera").click()
        expect(page.locator(".messages")).to_contain_text("You stopped watching the wall.")
        beat()
        context.close()

    views = AuditEvent.objects.filter(action="live.view_started")
    assert views.count() == 4  # two tiles a time, twice; each with the one reason
    assert set(views.values_list("reason", flat=True)) == {
        "Officer asked for backup; subject armed"
    }
    assert AuditEvent.objects.filter(action="live.view_refused").count() == 2
