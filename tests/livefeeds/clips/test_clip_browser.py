"""A clip saved from the relay's ring plays on the evidence item page, in Chromium.

Real parts: the ring as nginx-rtmp lays it out, the clip maker and the intake, the media
pipeline (run in this process: the pipeline is not the subject here), the login and TOTP pages,
and Debian's Chromium 390 px wide playing the item's stream.
"""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from evidence import services as evidence_services
from evidence.models import EvidenceItem
from livefeeds import clip_intake, clips
from portal.roles import Role
from tests.conftest import totp_code
from tests.e2e.conftest import wait_until
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _sign_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base_url}/login/code/")
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    page.get_by_label("6-digit code").fill(totp_code(device))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/staff/")


def test_the_investigator_plays_a_saved_live_clip_on_its_item_page(
    live_server, ring, make_staff, phone
):
    investigator = verified(make_staff(role=Role.INVESTIGATOR))
    case = make_case(lead=investigator)
    item = clip_intake.live_clip_save(
        requester=investigator,
        case_id=case.pk,
        app=ring.app,
        stream=ring.stream,
        window=clips.window_last(8, now=ring.end),
        session_id="session-1",
        subject={"device": {"serial": "BWC-0001"}},
    )
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    item.refresh_from_db()
    assert item.sha256 == item.metadata["source_details"]["live_clip"]["clip"]["sha256"]

    _sign_in(phone, live_server.url, investigator)
    phone.goto(f"{live_server.url}/staff/evidence/{item.pk}/")
    expect(phone.locator("#secondary-copy")).to_contain_text("Secondary copy.")
    expect(phone.locator("#secondary-copy")).to_contain_text("8 relay segments")
    expect(phone.locator("dl.facts").first).to_contain_text("Live relay clip (secondary)")
    expect(phone.locator(".hash").first).to_have_text(item.sha256)
    video = phone.locator("video#player")
    expect(video).to_be_visible()
    wait_until(phone, "() => document.getElementById('player').readyState >= 1", timeout=30_000)
    phone.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    wait_until(phone, "() => document.getElementById('player').currentTime > 1.5", timeout=30_000)
    expect(phone.locator(".player-error")).to_have_count(0)
    duration = phone.evaluate("document.getElementById('player').duration")
    assert duration == pytest.approx(8, abs=0.5)
