"""A supervisor watches the operations page in Chromium, on a phone and on a laptop: a signed
trigger posted to the webhook over real HTTP shows as a high-priority alert within 2 s, with
its beep; the supervisor resolves it with a reason by clicking the page's buttons, and the
audit log keeps the reason. A camera's recording heartbeat puts its officer on the map, an idle
one takes them off."""

import datetime as dt
import json
import time
import uuid

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from devices import webhooks
from devices.models import Alert
from devices.services import triggers as trigger_services
from portal.models import AuditEvent
from portal.roles import Role
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.e2e.conftest import PHONE, open_menu, wait_until
from tests.e2e.test_devices_browser import LAPTOP, _fits
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.cases_helpers import verified

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

# One request per connection: the live server's thread (and its database connection) ends with
# the response, rather than wait for a next request that never comes and keep the test database
# busy when it is dropped.
ONE_REQUEST = {"Connection": "close"}


def _post_trigger(base: str, source, secret: str, body: dict) -> requests.Response:
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    return requests.post(
        f"{base}/api/devices/v1/triggers/",
        data=raw,
        headers={
            **ONE_REQUEST,
            "Content-Type": "application/json",
            webhooks.SOURCE_HEADER: str(source.pk),
            webhooks.TIMESTAMP_HEADER: timestamp,
            webhooks.NONCE_HEADER: uuid.uuid4().hex,
            webhooks.SIGNATURE_HEADER: webhooks.signature_of(secret, timestamp, raw),
        },
        timeout=10,
    )


def _heartbeat(base: str, token: str, state: str, lat: float, lon: float) -> None:
    now = timezone.now().isoformat()
    response = requests.post(
        f"{base}/api/devices/v1/heartbeat",
        json={
            "state": state,
            "battery_percent": 80,
            "storage_free_bytes": 10**10,
            "firmware": "11.2.6",
            "device_time": now,
            "location": {"lat": lat, "lon": lon, "at": now},
        },
        headers={**ONE_REQUEST, "Authorization": f"Device {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_supervisor_sees_a_trigger_alert_within_2_s_hears_it_and_resolves_it(
    live_server, browser, make_staff, police, viewport
):
    police.time_zone = "America/New_York"
    police.save(update_fields=["time_zone"])
    supervisor = make_staff(role=Role.SUPERVISOR, full_name="Sam Supervisor")
    officer = officer_of(police, full_name="Olive Officer")
    device = DeviceFactory(agency=police, serial="BWC-OPS-1")
    assignment = assigned(device, officer)
    assignment.unit = "2A33"
    assignment.save(update_fields=["unit"])
    token = credential_for(device)
    source, secret = trigger_services.trigger_source_add(actor=verified(supervisor), name="Hub")

    context = browser.new_context(viewport=viewport, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    base, width = live_server.url, viewport["width"]
    try:
        _sign_in(page, base, supervisor)
        open_menu(page)
        page.get_by_role("link", name="Operations").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Operations")
        wait_until(page, "() => document.getElementById('operations').dataset.state === 'live'")
        expect(page.locator("#ops-connection")).to_have_text("live")
        assert AuditEvent.objects.filter(
            action="device.operations_viewed", actor_id=supervisor.pk
        ).exists()
        sound = page.get_by_role("button", name="Sound off")
        sound.click()  # the gesture browsers want before any audio
        expect(page.get_by_role("button", name="Sound on")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.locator("#ops-sound-blocked")).to_be_hidden()

        # A recording officer appears on the map; nobody else does.
        _heartbeat(base, token, "recording", 40.7128, -74.006)
        wait_until(page, "() => document.getElementById('ops-map').dataset.markers === '1'")
        expect(page.locator("#ops-officers li")).to_contain_text("BWC-OPS-1")
        expect(page.locator("#ops-officers li")).to_contain_text("2A33")

        sent = time.monotonic()
        response = _post_trigger(
            base,
            source,
            secret,
            {"type": "sos", "at": timezone.now().isoformat(), "device": "BWC-OPS-1"},
        )
        assert response.status_code == 201, response.text
        banner = page.locator("#ops-high li.alert")
        banner.first.wait_for(state="attached", timeout=5_000)
        elapsed = time.monotonic() - sent
        assert elapsed < 2.0, f"the alert took {elapsed:.2f} s from the webhook to the page"
        alert = Alert.objects.get(agency=police)
        assert banner.first.get_attribute("data-alert-id") == str(alert.pk)
        expect(banner).to_contain_text("SOS")
        expect(banner).to_contain_text("Olive Officer")
        expect(banner).to_contain_text("2A33")
        expect(banner).to_contain_text("BWC-OPS-1")
        expect(banner).to_contain_text("America/New_York")
        wait_until(page, "() => document.getElementById('operations').dataset.sounds === '1'")
        banner.get_by_role("button", name="Show on map").click()
        _fits(page, width)

        # A reason is needed: an empty one is held back by the form, nothing is closed.
        banner.get_by_role("button", name="Resolve").click()
        assert Alert.objects.get(pk=alert.pk).state == "open"
        banner.get_by_label("Reason").fill("Officer safe, suspect detained")
        banner.get_by_role("button", name="Resolve").click()
        expect(page.locator(f'li[data-alert-id="{alert.pk}"]')).to_have_count(0)
        expect(page.locator("#ops-high-empty")).to_be_visible()
        alert.refresh_from_db()
        assert alert.state == "resolved" and alert.closed_by == supervisor
        row = AuditEvent.objects.get(action="device.alert_resolved", target_id=str(alert.pk))
        assert row.reason == "Officer safe, suspect detained" and row.actor_id == supervisor.pk

        # The recording stops: the officer leaves the map.
        _heartbeat(base, token, "idle", 40.7128, -74.006)
        wait_until(page, "() => document.getElementById('ops-map').dataset.markers === '0'")
        expect(page.locator("#ops-officers li")).to_have_count(0)
        _fits(page, width)
    finally:
        context.close()


def test_a_general_alert_goes_to_the_activity_list_silently_and_can_be_marked_false(
    live_server, browser, make_staff, police
):
    supervisor = make_staff(role=Role.DISPATCHER, full_name="Dana Dispatcher")
    manager = verified(make_staff(role=Role.SUPERVISOR))
    source, secret = trigger_services.trigger_source_add(actor=manager, name="Light bars")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url
    try:
        _sign_in(page, base, supervisor)
        page.goto(f"{base}/staff/devices/operations/")
        wait_until(page, "() => document.getElementById('operations').dataset.state === 'live'")
        page.get_by_role("button", name="Sound off").click()
        response = _post_trigger(
            base,
            source,
            secret,
            {
                "type": "light_bar",
                "at": timezone.now().isoformat(),
                "unit": "2A33",
                "location": {"lat": 40.75, "lon": -73.95},
            },
        )
        assert response.status_code == 201, response.text
        item = page.locator("#ops-activity li.alert")
        expect(item).to_contain_text("Light bar on")
        expect(page.locator("#ops-high li")).to_have_count(0)
        item.get_by_role("button", name="Show on map").click()
        item.get_by_label("Reason").fill("Traffic stop, routine")
        item.get_by_role("button", name="Mark false").click()
        expect(item).to_have_count(0)
        assert page.locator("#operations").get_attribute("data-sounds") == "0"
        assert Alert.objects.get(agency=police).state == "false"
        assert AuditEvent.objects.get(action="device.alert_marked_false").reason == (
            "Traffic stop, routine"
        )

        # Closed by someone else: the push takes it off this page too.
        response = _post_trigger(
            base,
            source,
            secret,
            {"type": "light_bar", "at": timezone.now().isoformat(), "unit": "2A33"},
        )
        assert response.status_code == 201, response.text
        expect(item).to_have_count(1)
        other = Alert.objects.get(agency=police, state="open")
        trigger_services.alert_close(
            actor=manager, alert_id=other.pk, state="resolved", reason="Handled by radio"
        )
        expect(item).to_have_count(0)

        # Four hours after it was raised an alert leaves the page by itself (here: 3 s).
        response = _post_trigger(
            base,
            source,
            secret,
            {"type": "light_bar", "at": timezone.now().isoformat(), "unit": "2A34"},
        )
        assert response.status_code == 201, response.text
        Alert.objects.filter(agency=police, state="open").update(
            expires_at=timezone.now() + dt.timedelta(seconds=3)
        )
        page.reload()
        expect(item).to_have_count(1)
        expect(item).to_have_count(0, timeout=8_000)
        assert Alert.objects.get(agency=police, state="open")  # expired, not closed
    finally:
        context.close()
