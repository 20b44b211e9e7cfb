"""A supervisor sets up trigger sources and rules in Chromium, on a phone and on a laptop: adds
a source and reads its id and secret once, signs a delivery with them that the webhook takes,
changes a rule and adds a type of the agency's own, rotates the secret (the old one stops
working) and revokes the source, clicking the page's own buttons."""

import json
import time
import uuid

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from devices import webhooks
from devices.models import AlertRule, TriggerSource
from portal.models import AuditEvent
from portal.roles import Role
from tests.devices.factories import DeviceFactory, assigned, officer_of
from tests.e2e.conftest import PHONE
from tests.e2e.test_devices_browser import LAPTOP, _fits
from tests.e2e.test_evidence_upload_browser import _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _deliver(base: str, source_id: str, secret: str, serial: str) -> int:
    raw = json.dumps(
        {"type": "taser_armed", "at": timezone.now().isoformat(), "device": serial}
    ).encode()
    stamp = str(int(time.time()))
    return requests.post(
        f"{base}/api/devices/v1/triggers/",
        data=raw,
        headers={
            "Connection": "close",
            "Content-Type": "application/json",
            webhooks.SOURCE_HEADER: source_id,
            webhooks.TIMESTAMP_HEADER: stamp,
            webhooks.NONCE_HEADER: uuid.uuid4().hex,
            webhooks.SIGNATURE_HEADER: webhooks.signature_of(secret, stamp, raw),
        },
        timeout=10,
    ).status_code


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_supervisor_adds_a_source_sets_rules_rotates_and_revokes(
    live_server, browser, make_staff, police, viewport
):
    supervisor = make_staff(role=Role.SUPERVISOR)
    device = DeviceFactory(agency=police, serial="BWC-TRIG-1")
    assigned(device, officer_of(police))
    base = live_server.url
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # confirm.js asks before revoking
    _sign_in(page, base, supervisor)
    page.goto(f"{base}/staff/devices/triggers/")

    page.get_by_label("Name").fill("TASER hub")
    page.get_by_role("button", name="Add source").click()
    source_id = page.locator("#trigger-source-id").inner_text()
    secret = page.locator("#trigger-secret").inner_text()
    assert TriggerSource.objects.get(pk=source_id).name == "TASER hub"
    assert _deliver(base, source_id, secret, device.serial) == 201
    _fits(page, viewport["width"])

    # The holster rule: no alert; saved by its row's own button.
    row = page.locator("tr[data-kind='holster_draw']")
    row.get_by_label("Alert for Holster drawn").select_option("off")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("tr[data-kind='holster_draw'] select")).to_have_value("off")
    assert AlertRule.objects.get(agency=police, kind="holster_draw").priority == "off"

    add = page.locator("#rule-add")
    add.get_by_label("Type").fill("door_breach")
    add.get_by_label("Label").fill("Door breached")
    add.get_by_role("button", name="Add type").click()
    expect(page.locator("tr[data-kind='door_breach']")).to_contain_text("Door breached")

    page.locator(f"tr[data-source-id='{source_id}']").get_by_role(
        "button", name="Rotate the secret"
    ).click()
    new_secret = page.locator("#trigger-secret").inner_text()
    assert new_secret != secret
    assert _deliver(base, source_id, secret, device.serial) == 401
    assert _deliver(base, source_id, new_secret, device.serial) == 201

    page.locator(f"tr[data-source-id='{source_id}']").get_by_role("button", name="Revoke").click()
    expect(page.locator(f"tr[data-source-id='{source_id}']")).to_have_count(0)
    assert _deliver(base, source_id, new_secret, device.serial) == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "device.trigger_source_added",
        "device.trigger_source_rotated",
        "device.trigger_source_revoked",
        "device.alert_rule_set",
    } <= actions
    _fits(page, viewport["width"])
    context.close()
