"""Issue 16, items 4, 10 and 11 in Debian's Chromium, on a 390 px phone and a 1366 px laptop.

An investigator asks for footage from 18:00 on the agency's clock (America/New_York): the form
shows the UTC it means as they type, and the request then reads "18:00 America/New_York (23:00
UTC)". On the phone the header folds into a Menu button that opens and navigates, and the
requests table turns into cards led by the status. An auditor filters the audit log by an
action group and opens a row's details, shown as JSON.
"""

import datetime as dt
import json
import re
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.roles import Role
from registry.models import FootageRequest
from tests.e2e.conftest import PHONE
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import camera_facing_incident, search

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
LAPTOP = {"width": 1366, "height": 900}
NY = zoneinfo.ZoneInfo("America/New_York")


def _fits(page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"horizontal scroll on {page.url}: scrollWidth={scroll_width}"


def _layout(page) -> dict:
    """How the requests table is laid out: the header row's display and height, a row's and
    a cell's display, and whether the status cell sits above the case cell."""
    return page.evaluate(
        """() => {
            const table = document.querySelector("table[data-cards]");
            const row = table.tBodies[0].rows[0];
            const status = row.querySelector("td.card-lead");
            const first = row.cells[0];
            return {
                thead: getComputedStyle(table.tHead).position,
                theadHeight: table.tHead.getBoundingClientRect().height,
                row: getComputedStyle(row).display,
                cell: getComputedStyle(first).display,
                statusLabel: status.dataset.label,
                statusAbove: status.getBoundingClientRect().bottom <= first.getBoundingClientRect().top + 1,
                sideBySide: Math.abs(status.getBoundingClientRect().top - first.getBoundingClientRect().top) < 1,
            };
        }"""
    )


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_local_times_cards_menu_and_audit_details(
    live_server, browser, police, make_staff, viewport
):
    base, width = live_server.url, viewport["width"]
    phone = width < 640
    camera = camera_facing_incident(owner(role="business"))
    found = search(investigator(police))
    officer = make_staff(full_name="Ivy Investigator")
    auditor = make_staff(role=Role.AUDITOR)
    day = (timezone.now().astimezone(NY) - dt.timedelta(days=1)).date()
    due = day + dt.timedelta(days=4)
    six_pm = dt.datetime.combine(day, dt.time(18), tzinfo=NY)
    utc = six_pm.astimezone(dt.UTC)

    context = browser.new_context(viewport=viewport, device_scale_factor=2, is_mobile=phone)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, base, officer)
        page.goto(f"{base}/staff/registry/requests/new/?search={found.pk}&camera={camera.pk}")
        expect(page.get_by_text("Footage from (America/New_York)")).to_be_visible()
        page.fill("#id_window_start", f"{day}T18:00")
        page.fill("#id_window_end", f"{day}T19:00")
        page.fill("#id_deadline", f"{due}T18:00")
        # As they type, the UTC the wall-clock time means (static/js/local-time.js).
        expect(page.locator("#id_window_start-utc")).to_have_text(f"= {utc:%Y-%m-%d %H:%M} UTC")
        _fits(page, width)
        page.get_by_role("button", name="Send the request").click()
        expect(page.locator("#request-window")).to_contain_text(
            f"{day} 18:00 America/New_York ({utc:%H:%M} UTC)"
        )
        assert FootageRequest.objects.get().window_start == utc

        # The header: a Menu button on the phone that opens and navigates; links on a laptop.
        menu = page.get_by_role("button", name="Menu")
        requests_link = page.locator("#main-nav").get_by_role("link", name="Footage requests")
        if phone:
            expect(requests_link).to_be_hidden()
            expect(menu).to_have_attribute("aria-expanded", "false")
            menu.click()
            expect(menu).to_have_attribute("aria-expanded", "true")
        else:
            expect(menu).to_be_hidden()
        requests_link.click()
        expect(page.locator("h1")).to_have_text("Footage requests")
        _fits(page, width)

        layout = _layout(page)
        assert layout["statusLabel"] == "Request state"  # the column that decides the next step
        if phone:
            # Cards: the header row is out of view, cells stack, the status leads the card.
            assert layout["thead"] == "absolute" and layout["theadHeight"] <= 1
            assert layout["row"] == "flex" and layout["cell"] == "block"
            assert layout["statusAbove"]
        else:
            assert layout["thead"] == "static" and layout["theadHeight"] > 10
            assert layout["row"] == "table-row" and layout["cell"] == "table-cell"
            assert layout["sideBySide"]
    finally:
        context.close()

    context = browser.new_context(viewport=viewport, device_scale_factor=2, is_mobile=phone)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, base, auditor)
        page.goto(f"{base}/staff/audit/")
        page.select_option("#id_action", "group:registry")
        page.select_option("#id_period", "today")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"action=group%3Aregistry"))
        row = page.locator("tr").filter(has_text="Camera owners were asked for footage").first
        expect(row).to_be_visible()
        details = row.locator("details.audit-details")
        expect(details.locator("pre")).to_be_hidden()
        details.locator("summary").click()
        expect(details.locator("pre")).to_be_visible()
        shown = json.loads(details.locator("pre").inner_text())
        assert shown["window_start"] == utc.isoformat()
        _fits(page, width)
    finally:
        context.close()
