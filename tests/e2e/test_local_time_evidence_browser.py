"""Local time on the evidence pages in Chromium (issue 16, item 4), at 390 px and 1366 px: a
supervisor reads an item received on a July evening (EDT) and a case opened on a December
evening (EST) on New York's clock with UTC beside it, asks for the item's deletion with the
page's button, and finds the request on the retention page and the case's activity the same way."""

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import expect

from evidence.cases import services as case_services
from evidence.models import ValueSource
from portal.roles import Role
from tests.e2e.conftest import fits_the_width
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.cases_helpers import verified
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

SUMMER = dt.datetime(2026, 7, 4, 22, 30, tzinfo=dt.UTC)
WINTER = dt.datetime(2026, 12, 4, 23, 15, tzinfo=dt.UTC)
# Any time on New York's clock with UTC beside it (and the UTC day when it differs).
LOCAL_AND_UTC = r"\d{4}-\d\d-\d\d \d\d:\d\d America/New_York \((\d{4}-\d\d-\d\d )?\d\d:\d\d UTC\)"
LOCAL_AND_UTC_SECONDS = (
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d America/New_York \((\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC\)"
)


def test_a_supervisor_reads_evidence_times_on_the_agency_clock(
    live_server, sized_page, make_staff, police
):
    page, base = sized_page, live_server.url
    supervisor = verified(make_staff(role=Role.SUPERVISOR, full_name="Sam Reyes"))
    with time_machine.travel(SUMMER, tick=False):
        item = stored_item(
            agency=police,
            original_filename="porch.mp4",
            received_at=SUMMER,
            capture_time=SUMMER,
            capture_time_source=ValueSource.DEVICE_METADATA,
            capture_time_confidence="high",
        )
    with time_machine.travel(WINTER, tick=False):
        case = case_services.case_create(actor=supervisor, number="26-1204", title="Porch theft")
    _sign_in(page, base, supervisor)

    page.goto(f"{base}/staff/evidence/{item.pk}/")
    summer = "2026-07-04 18:30:00 America/New_York (22:30:00 UTC)"
    expect(page.locator("#item-received")).to_have_text(summer)
    expect(page.locator("#item-captured")).to_contain_text(f"{summer} from device metadata")
    page.locator("#retention summary").click()  # "Disclosure, retention and deletion"
    page.get_by_label("Why delete (a second person must approve)").fill("Duplicate of 26-1204")
    page.get_by_role("button", name="Request deletion").click()
    expect(page.locator(".messages")).to_contain_text("Deletion requested")
    requested = page.locator("ol.timeline li").filter(has_text="evidence.deletion_requested")
    expect(requested).to_have_text(
        re.compile(r"evidence\.deletion_requested · " + LOCAL_AND_UTC_SECONDS + " · Sam Reyes")
    )
    fits_the_width(page)

    page.goto(f"{base}/staff/evidence/cases/")
    row = page.locator("tr").filter(has_text="26-1204")
    expect(row).to_contain_text("2026-12-04 18:15 America/New_York (23:15 UTC)")
    fits_the_width(page)

    page.get_by_role("link", name="Retention and deletions").click()
    asked = page.locator("li").filter(has_text="Duplicate of 26-1204")
    expect(asked).to_contain_text(re.compile(r"asked by Sam Reyes " + LOCAL_AND_UTC + ": "))
    fits_the_width(page)

    page.goto(f"{base}/staff/evidence/cases/")
    page.get_by_role("link", name="26-1204").click()
    expect(page).to_have_url(f"{base}/staff/evidence/cases/{case.pk}/")
    opened = page.locator("ol.timeline li").filter(has_text="Sam Reyes opened the case")
    expect(opened).to_have_text(
        "Sam Reyes opened the case · 2026-12-04 18:15 America/New_York (23:15 UTC)"
    )
    fits_the_width(page)
