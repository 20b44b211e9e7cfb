"""A body camera's GPS track on the item page, in Chromium on a phone and on a laptop: the
marker stands where the camera was at the moment of the video on screen, moves when the video
is sought and while it plays, with no console errors (and so no CSP violations)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from evidence import services as evidence_services
from evidence.models import EvidenceItem
from portal import media
from tests.devices.helpers import recorded_item
from tests.e2e.conftest import PHONE, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 800}
STARTED = dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC)  # 09:00 in New York (EST)
# North for 4 s, then north-east: at 6 s into the video the camera is halfway along the second leg.
WALK = [(0, 40.7128, -74.006, 4.0), (4, 40.7138, -74.006, 4.0), (8, 40.7148, -74.004, 4.0)]


@pytest.fixture
def walked_item(police, tmp_path):
    """A processed (playable) 8 s body-camera video with its track."""
    clip = tmp_path / "bodycam.mp4"
    media.synthesize(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "8",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25", str(clip),
    )  # fmt: skip
    item = recorded_item(
        police,
        started_at=STARTED,
        fixes=WALK,
        content=clip.read_bytes(),
        state=EvidenceItem.State.RECEIVED,
    )
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    return item


def _marker(page) -> tuple[float, float, float, float]:
    """Where the map says the marker is (lat, lon), and the marker's centre on screen."""
    el = page.locator("#item-track-map")
    box = page.locator("#item-track-map path.track-marker").bounding_box()
    return (
        float(el.get_attribute("data-lat")),
        float(el.get_attribute("data-lon")),
        box["x"] + box["width"] / 2,
        box["y"] + box["height"] / 2,
    )


def _seek(page, seconds: float) -> None:
    page.evaluate(f"() => {{ document.getElementById('player').currentTime = {seconds}; }}")
    wait_until(
        page,
        f"() => Math.abs(document.getElementById('item-track-map').dataset.seconds - {seconds})"
        " < 0.01",
    )


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_marker_follows_the_video_when_sought_and_played(
    live_server, browser, make_staff, walked_item, viewport
):
    investigator = make_staff()
    context = browser.new_context(viewport=viewport, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    base, width = live_server.url, viewport["width"]
    try:
        _sign_in(page, base, investigator)
        page.goto(f"{base}/staff/evidence/{walked_item.pk}/")
        expect(page.get_by_role("heading", name="Where: the camera's GPS track")).to_be_visible()
        wait_until(page, "() => document.getElementById('item-track-map').dataset.ready === '1'")
        wait_until(page, "() => document.getElementById('player').readyState >= 1", timeout=30_000)
        lat, lon, x, y = _marker(page)
        assert (lat, lon) == (40.7128, -74.006)  # the first frame: the first position
        expect(page.locator("#track-position")).to_contain_text("0:00 into the video")

        _seek(page, 6)
        lat6, lon6, x6, y6 = _marker(page)
        assert (lat6, lon6) == pytest.approx((40.7143, -74.005), abs=1e-7)  # halfway, interpolated
        assert y6 < y and x6 > x  # on screen too: north (up) and east (right)
        expect(page.locator("#track-position")).to_have_text(
            "0:06 into the video, 09:00:06 (14:00:06 UTC): 40.714300, -74.005000"
        )

        _seek(page, 2)
        assert _marker(page)[:2] == pytest.approx((40.7133, -74.006), abs=1e-7)

        page.evaluate(
            "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
        )
        wait_until(
            page,
            "() => document.getElementById('item-track-map').dataset.seconds > 2.5",
            timeout=30_000,
        )
        assert _marker(page)[0] > 40.7133  # walking north as it plays
        expect(page.locator(".player-error")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        map_box = page.locator("#item-track-map").bounding_box()
        assert map_box["x"] >= 0 and map_box["x"] + map_box["width"] <= width
    finally:
        context.close()
