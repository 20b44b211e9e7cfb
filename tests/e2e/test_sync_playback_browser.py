"""Synchronized playback on the case page, in Chromium at 390 px and 1366 px: a body camera's
video and a shop's CCTV video of the same minute (named phone.mp4 here), made with ffmpeg and run through the real media
pipeline, play on one clock; after playing and after a seek in one player the two positions
(each mapped to the shared clock by its capture time) stay within 0.2 s; the body camera's
marker on the case map follows and the shop camera's cone lights while its video is on; shifting one video's clock moves it on the timeline and is
audited as a capture-time correction. No console errors and no failed requests."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from evidence import services as evidence_services
from evidence.models import EvidenceItem, Source
from portal import media
from portal.models import AuditEvent
from registry.models import FootageRequestCamera
from tests.devices.helpers import recorded_item
from tests.e2e.conftest import ARTIFACTS, fits_the_width, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in, _watch_for_trouble
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

STARTED = dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC)  # 09:00 in New York (EST)
PHONE_LATER = 3  # the phone video starts 3 s after the body camera's
WALK = [(0, 40.7128, -74.006, 4.0), (4, 40.7138, -74.006, 4.0), (8, 40.7148, -74.004, 4.0)]
TOLERANCE = 0.2  # seconds between the two players on the shared clock


def _clip(path, *, started: dt.datetime, pattern: str) -> bytes:
    """An 8 s H.264 clip whose container says when it was recorded."""
    media.synthesize(
        "-f", "lavfi", "-i", f"{pattern}=size=320x240:rate=25", "-t", "8",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
        "-metadata", f"creation_time={started:%Y-%m-%dT%H:%M:%S}.000000Z", str(path),
    )  # fmt: skip
    return path.read_bytes()


@pytest.fixture
def two_videos(police, make_staff, tmp_path):
    """A case holding a body camera's video (with its GPS walk) and a phone's video that
    starts PHONE_LATER seconds into it, both processed by the real pipeline."""
    bodycam = recorded_item(
        police,
        started_at=STARTED,
        fixes=WALK,
        content=_clip(tmp_path / "bodycam.mp4", started=STARTED, pattern="testsrc2"),
        state=EvidenceItem.State.RECEIVED,
    )
    # The "phone" video is a shop's CCTV answer to a footage request: its camera's cone is mapped.
    officer = investigator(police)
    camera = camera_facing_incident(owner(role="business"), name="Shop front")
    asked = FootageRequestCamera.objects.get(
        request=ask(officer, search(officer), [camera]), camera=camera
    )
    phone = stored_item(
        agency=police,
        source=Source.FOOTAGE_REQUEST,
        source_ref=str(asked.pk),
        original_filename="phone.mp4",
        content=_clip(
            tmp_path / "phone.mp4",
            started=STARTED + dt.timedelta(seconds=PHONE_LATER),
            pattern="smptebars",
        ),
        state=EvidenceItem.State.RECEIVED,
    )
    for item in (bodycam, phone):
        assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
        item.refresh_from_db()
    assert phone.capture_time - bodycam.capture_time == dt.timedelta(seconds=PHONE_LATER)
    lead = verified(make_staff())
    case = make_case(lead=lead, items=[bodycam, phone])
    return lead, case, bodycam, phone


# Both players' positions on the shared clock (ms), read in one go.
POSITIONS = """() => [...document.querySelectorAll('video.sync-video')].map(
    v => Number(v.dataset.startMs) + v.currentTime * 1000)"""
CLOCK = "Number(document.getElementById('sync-clock').dataset.ms)"


def _video(page, item) -> str:
    return f"document.querySelector('video.sync-video[data-item=\"{item.pk}\"]')"


def _gap(page) -> float:
    a, b = page.evaluate(POSITIONS)
    return abs(a - b) / 1000


def _in_step(page) -> str:
    """Both players playing, past the later one's start, within TOLERANCE of each other."""
    return f"""() => {{
        const vs = [...document.querySelectorAll('video.sync-video')];
        const at = vs.map(v => Number(v.dataset.startMs) + v.currentTime * 1000);
        return vs.every(v => !v.paused && !v.seeking && v.readyState >= 3)
            && Math.abs(at[0] - at[1]) < {TOLERANCE * 1000};
    }}"""


def _stays_in_step(page, samples: int = 3) -> None:
    """Playing on, the two stay within TOLERANCE: sampled as the clock moves on."""
    for _ in range(samples):
        before = page.evaluate(f"() => {CLOCK}")
        wait_until(page, f"() => {CLOCK} > {before} + 300")
        assert _gap(page) < TOLERANCE, page.evaluate(POSITIONS)


def test_two_videos_play_and_seek_together_and_a_clock_shift_is_audited(
    live_server, sized_page, two_videos
):
    page = sized_page
    lead, case, bodycam, phone = two_videos
    base = live_server.url
    trouble = _watch_for_trouble(page, base)
    _sign_in(page, base, lead)
    page.goto(f"{base}/staff/evidence/cases/{case.pk}/")
    expect(page.get_by_role("heading", name="Synchronized playback")).to_be_visible()
    wait_until(
        page, "() => document.getElementById('sync-items').dataset.ready === '1'", timeout=30_000
    )
    wait_until(
        page,
        "() => [...document.querySelectorAll('video.sync-video')].every(v => v.readyState >= 2)",
        timeout=30_000,
    )

    # At the start of the shared clock the phone video has not started yet.
    phone_status = page.locator(f'li[data-item="{phone.pk}"] .sync-status')
    expect(phone_status).to_have_text("Waiting: starts in 0:03")
    expect(page.locator("#sync-clock")).to_have_text(
        "2026-11-03 09:00:00 America/New_York (14:00:00 UTC)"
    )
    expect(page.locator(f'li[data-item="{phone.pk}"]')).to_contain_text("confidence")
    cone = page.locator("#case-map path.sync-cone")
    expect(cone).to_have_attribute("data-on", "0")  # its camera's video has not started

    # Play: once the phone video starts, the two stay together.
    page.get_by_role("button", name="Play all").click()
    wait_until(page, _in_step(page), timeout=30_000)
    _stays_in_step(page)
    page.get_by_role("button", name="Pause all").click()
    wait_until(
        page, "() => [...document.querySelectorAll('video.sync-video')].every(v => v.paused)"
    )

    # Seek in the phone's own player: the body camera's follows, and its marker on the map.
    page.evaluate(f"() => {{ {_video(page, phone)}.currentTime = 1; }}")
    seek_to = PHONE_LATER + 1
    wait_until(
        page,
        f"() => Math.abs({_video(page, bodycam)}.currentTime - {seek_to}) < 0.05"
        f" && !{_video(page, bodycam)}.seeking",
    )
    assert _gap(page) < TOLERANCE
    marker = page.locator("#case-map path.sync-track-marker")
    wait_until(
        page,
        "() => Math.abs(document.querySelector('#case-map path.sync-track-marker')"
        ".dataset.lat - 40.7138) < 1e-6",
    )
    assert float(marker.get_attribute("data-lon")) == pytest.approx(-74.006, abs=1e-6)
    expect(cone).to_have_attribute("data-on", "1")  # the shop's video is on at that moment
    expect(page.locator("#sync-clock")).to_have_text(
        "2026-11-03 09:00:04 America/New_York (14:00:04 UTC)"
    )
    # ...and they play on together from there.
    page.get_by_role("button", name="Play all").click()
    wait_until(page, _in_step(page), timeout=30_000)
    _stays_in_step(page)
    page.get_by_role("button", name="Pause all").click()

    # The phone's clock was 2 s fast: shift it. The correction is audited and shown.
    item = page.locator(f'li[data-item="{phone.pk}"]')
    item.get_by_text("Shift this video's clock").click()
    item.get_by_label("Shift its clock by (seconds)").fill("2")
    item.get_by_label("Why").fill("Phone clock checked against the body camera")
    item.get_by_role("button", name="Shift the clock").click()
    expect(page.get_by_text("Clock shifted by +2.0 s.")).to_be_visible()
    expect(item).to_contain_text("Capture time corrected by hand: 2.0 s in all")
    row = AuditEvent.objects.get(action="evidence.metadata_changed", target_id=str(phone.pk))
    assert row.reason == "Phone clock checked against the body camera"
    assert row.details["field"] == "capture_time"
    phone.refresh_from_db()
    assert phone.capture_time == bodycam.capture_time + dt.timedelta(seconds=PHONE_LATER + 2)

    # Now the same moment of the body camera's video meets the phone's 2 s earlier.
    wait_until(
        page, "() => document.getElementById('sync-items').dataset.ready === '1'", timeout=30_000
    )
    page.evaluate(f"() => {{ {_video(page, bodycam)}.currentTime = 6; }}")
    wait_until(
        page,
        f"() => Math.abs({_video(page, phone)}.currentTime - 1) < 0.05 && !{_video(page, phone)}.seeking",
    )
    assert _gap(page) < TOLERANCE

    # The shared slider: past the body camera's end it says so, the shop's plays on.
    page.locator("#sync-seek").fill("9.7")
    expect(page.locator(f'li[data-item="{bodycam.pk}"] .sync-status')).to_have_text(
        "Ended 0:02 ago"
    )
    expect(page.locator(f'li[data-item="{phone.pk}"] .sync-status')).to_have_text(
        "Paused at 0:05 of 0:08"
    )
    wait_until(page, f"() => Math.abs({_video(page, phone)}.currentTime - 4.7) < 0.05")

    expect(page.locator(".player-error")).to_have_count(0)
    fits_the_width(page)
    width = page.viewport_size["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#sync").screenshot(path=str(ARTIFACTS / f"sync-playback-{width}.png"))
    page.locator("#case-map").screenshot(path=str(ARTIFACTS / f"sync-playback-map-{width}.png"))
    assert not trouble, trouble
