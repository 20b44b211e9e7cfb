"""A supervisor sets up the CAD link in Chromium, on a phone: makes the webhook secret (shown
once), reads the patent warning, and turns remote activation on, which is only stored."""

import pytest
from playwright.sync_api import expect

from devices.models import CadLink
from devices.services import cad as cad_services
from portal.roles import Role
from tests.e2e.conftest import PHONE
from tests.e2e.test_evidence_upload_browser import _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def test_supervisor_makes_the_cad_secret_and_sets_remote_activation(
    live_server, browser, make_staff, police
):
    supervisor = make_staff(role=Role.SUPERVISOR, full_name="Sam Supervisor")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url
    try:
        _sign_in(page, base, supervisor)
        page.goto(f"{base}/staff/devices/")
        page.get_by_role("link", name="CAD link").click()
        expect(page.locator("#cad-remote-activation")).to_contain_text("US 11,356,591")
        expect(page.locator("#cad-secret-state")).to_have_text("None yet")

        page.get_by_role("button", name="Make the secret").click()
        secret = page.locator("#cad-secret").inner_text()
        link = CadLink.objects.get(agency=police)
        assert secret == cad_services.cad_secret_of(link)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"horizontal scroll: {width}"

        page.goto(f"{base}/staff/devices/cad/")
        expect(page.locator("#cad-secret")).to_have_count(0)
        checkbox = page.get_by_label("Start cameras of dispatched units")
        expect(checkbox).not_to_be_checked()
        checkbox.check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("ul.messages")).to_contain_text("Remote activation from CAD is on.")
        link.refresh_from_db()
        assert link.remote_activation is True
    finally:
        context.close()
