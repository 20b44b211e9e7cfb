"""A supervisor runs the body-camera inventory in Chromium, on a phone and on a laptop: adds a
device, records an officer's training, checks the device out to them, and issues the device's
credential, whose provisioning QR code and token are shown once."""

import datetime as dt
import json

import pytest
from playwright.sync_api import expect

from devices.models import Device, DeviceAssignment, DeviceCredential
from devices.selectors import agency_today
from portal.roles import Role
from portal.tokens import token_matches
from tests.e2e.conftest import PHONE, open_menu
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 800}


def _fits(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"horizontal scroll on {page.url}: scrollWidth={scroll_width}"


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_supervisor_adds_trains_checks_out_and_provisions_a_device(
    live_server, browser, make_staff, police, viewport
):
    supervisor = make_staff(role=Role.SUPERVISOR, full_name="Sam Supervisor")
    officer = UserFactory(agency=police, role=Role.OFFICER, full_name="Olive Officer")
    context = browser.new_context(viewport=viewport, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    base, width = live_server.url, viewport["width"]
    try:
        _sign_in(page, base, supervisor)
        open_menu(page)
        page.get_by_role("link", name="Body cameras").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Body cameras")
        _fits(page, width)

        page.get_by_role("link", name="Add device").click()
        page.get_by_label("Serial").fill("BWC-E2E-1")
        page.get_by_label("Make").fill("Axis")
        page.get_by_label("Model").fill("W110")
        page.get_by_role("button", name="Add device").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("BWC-E2E-1")
        device = Device.objects.get(serial="BWC-E2E-1", agency=police)
        device_url = page.url

        page.goto(f"{base}/staff/devices/officers/")
        page.get_by_role("link", name="Olive Officer").click()
        expect(page.locator("#training-state")).to_contain_text("Not current")
        today = agency_today(police)  # the agency's day, not the machine's (UTC)
        page.get_by_label("Completed on").fill(today.isoformat())
        page.get_by_label("Expires on").fill((today + dt.timedelta(days=365)).isoformat())
        page.get_by_role("button", name="Record training").click()
        expect(page.locator("ul.messages")).to_contain_text("Training recorded.")
        expect(page.locator("#training-state")).to_have_text("Current")
        _fits(page, width)

        page.goto(device_url)
        page.get_by_label("Officer").select_option(label="Olive Officer")
        page.get_by_role("button", name="Check out").click()
        expect(page.locator("ul.messages")).to_contain_text("Checked out to Olive Officer.")
        expect(page.locator("#checked-out-to")).to_contain_text("Olive Officer")
        assert (
            DeviceAssignment.objects.get(device=device, checked_in_at__isnull=True).officer
            == officer
        )

        page.get_by_role("button", name="Issue credential").click()
        qr = page.locator("#provisioning-qr svg")
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= width
        token = page.locator("#device-token").inner_text()
        credential = DeviceCredential.objects.get(device=device, revoked_at__isnull=True)
        assert token_matches(token, credential.token_hash)
        page.locator("#credential-issued summary").click()
        provisioning = json.loads(page.locator("#credential-issued details code").inner_text())
        assert provisioning == {
            "api": f"{base}/api/devices/v1/",
            "device": str(device.pk),
            "token": token,
        }
        _fits(page, width)

        # Shown once: the page again shows the credential as live, never its token.
        page.goto(device_url)
        expect(page.locator("#credential-state")).to_contain_text("Live since")
        assert token not in page.content()
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_supervisor_rotates_revokes_checks_in_repairs_and_finds_the_recording(
    live_server, browser, make_staff, police, viewport
):
    """The device page's other buttons, and the recordings list's filter, in a real browser."""
    from devices.models import Recording
    from devices.services import credential_issue
    from tests.devices.factories import DeviceFactory, assigned, officer_of
    from tests.evidence.cases_helpers import verified
    from tests.factories import stored_item

    supervisor = make_staff(role=Role.SUPERVISOR, full_name="Sam Supervisor")
    officer = officer_of(police, full_name="Olive Officer")
    device = DeviceFactory(agency=police, serial="BWC-E2E-2")
    assigned(device, officer)
    first, _ = credential_issue(actor=verified(supervisor), device=device)
    started = dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC)
    recording = Recording.objects.create(
        agency=police,
        device=device,
        device_recording_id="rec-e2e",
        officer=officer,
        started_at=started,
        stopped_at=started + dt.timedelta(minutes=2),
        trigger_on_source="holster",
        trigger_on_at=started,
        device_sha256="0" * 64,
        status=Recording.Status.COMPLETE,
        item=stored_item(agency=police, content=b"recording bytes"),
    )
    context = browser.new_context(viewport=viewport, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm.js questions
    base, width = live_server.url, viewport["width"]
    try:
        _sign_in(page, base, supervisor)
        page.goto(f"{base}/staff/devices/{device.pk}/")
        page.get_by_role("button", name="Rotate").click()
        expect(page.locator("#device-token")).to_be_visible()
        first.refresh_from_db()
        assert first.revoked_at is not None  # rotation ended the old credential at once

        page.goto(f"{base}/staff/devices/{device.pk}/")
        page.get_by_role("button", name="Revoke").click()
        expect(page.locator("#credential-state")).to_have_text("None")
        assert not DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).exists()

        page.get_by_role("button", name="Check in").click()
        expect(page.locator("#checked-out-to")).to_have_text("Nobody")

        page.locator("#status-form select").select_option(label="In repair")
        page.locator("#status-form").get_by_role("button", name="Save").click()
        expect(page.locator("#device-status")).to_have_text("In repair")
        _fits(page, width)

        page.goto(f"{base}/staff/devices/recordings/")
        # Typed, not chosen from a list (a force has thousands of devices).
        page.locator("#recording-filters").get_by_label("Device serial").fill(device.serial)
        page.get_by_role("button", name="Filter").click()
        row = page.locator(f'tr[data-recording-id="{recording.pk}"]')
        expect(row).to_contain_text("BWC-E2E-2")
        row.get_by_role("link", name="Open item").click()
        expect(page).to_have_url(f"{base}/staff/evidence/{recording.item_id}/")
        _fits(page, width)

        # From the device's page: the hidden device filter is said, and can be removed.
        page.goto(f"{base}/staff/devices/{device.pk}/")
        page.get_by_role("link", name="All recordings of this device").click()
        scope = page.locator("#recording-scope")
        expect(scope).to_contain_text("Only the recordings of device BWC-E2E-2")
        expect(page.locator(f'tr[data-recording-id="{recording.pk}"]')).to_have_count(1)
        _fits(page, width)
        scope.get_by_role("link", name="remove").click()
        expect(page.locator("#recording-scope")).to_have_count(0)
    finally:
        context.close()
