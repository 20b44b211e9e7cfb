"""The case page shows each item's latest custody lines and the case's latest activity; each
"Show all N" loads the rest in place, from text nodes (a file name that looks like HTML stays
text), and the read is audited. Chromium at 390 px (a phone) and 1366 px (a laptop); the real
sign-in with its code."""

import pytest
from playwright.sync_api import expect

from evidence import services as evidence_services
from evidence.cases.views import ACTIVITY_SHOWN
from evidence.selectors import CUSTODY_TAIL
from portal.models import AuditEvent
from tests.e2e.conftest import fits_the_width
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

NAME = '<img src=x onerror="window.pwned=1">clip.mp4'


def test_case_page_expands_an_items_whole_custody(live_server, sized_page, make_staff, police):
    page = sized_page
    lead = verified(make_staff(full_name="Dana Ortiz"))
    item = stored_item(agency=police, original_filename=NAME)
    for _ in range(8):
        evidence_services.item_record_view(actor=lead, item=item, via="page")
    case = make_case(lead=lead, items=[item])
    before = AuditEvent.objects.filter(target_id=str(item.pk)).count()
    assert before > CUSTODY_TAIL

    _sign_in(page, live_server.url, lead)
    page.goto(f"{live_server.url}/staff/evidence/cases/{case.pk}/")
    custody = page.locator("#timeline details.custody")
    custody.locator("summary").click()
    lines = custody.locator(".custody-lines > li")
    expect(lines).to_have_count(CUSTODY_TAIL)
    expect(custody.locator(".custody-shown")).to_have_text(
        f"The latest {CUSTODY_TAIL} of {before}:"
    )
    fits_the_width(page)

    custody.get_by_role("button", name=f"Show all {before}").click()
    # Every line, oldest first, the last being this very read of the custody.
    expect(lines).to_have_count(before + 1)
    expect(custody.locator(".custody-shown")).to_have_text(f"All {before + 1}:")
    expect(custody.get_by_role("button", name=f"Show all {before}")).to_have_count(0)
    expect(lines.last).to_contain_text(f"Dana Ortiz read the custody record of {NAME}")
    expect(lines.first).to_contain_text("UTC)")
    assert custody.locator(".custody-lines img").count() == 0
    assert page.evaluate("window.pwned") is None
    fits_the_width(page)
    read = AuditEvent.objects.filter(target_id=str(item.pk)).order_by("-seq").first()
    assert (read.action, read.actor_id, read.details["via"]) == (
        "evidence.custody_viewed",
        lead.pk,
        "case",
    )


def test_case_page_expands_the_cases_whole_activity(live_server, sized_page, make_staff, police):
    page = sized_page
    lead = verified(make_staff(full_name="Dana Ortiz"))
    items = [stored_item(agency=police, original_filename=f"IMG_{n:04d}.jpg") for n in range(11)]
    items.append(stored_item(agency=police, original_filename=NAME))
    case = make_case(lead=lead, items=items)

    _sign_in(page, live_server.url, lead)
    page.goto(f"{live_server.url}/staff/evidence/cases/{case.pk}/")
    activity = page.locator("#activity")
    lines = activity.locator("#activity-lines > li")
    expect(lines).to_have_count(ACTIVITY_SHOWN)
    expect(lines.first).to_contain_text("Dana Ortiz viewed the case")
    expect(activity).not_to_contain_text("Dana Ortiz opened the case")
    fits_the_width(page)

    # Opened, 12 items added, this visit: 14; the button's own read makes 15.
    activity.get_by_role("button", name="Show all 14").click()
    expect(lines).to_have_count(15)
    expect(activity.get_by_role("button", name="Show all 14")).to_have_count(0)
    expect(lines.first).to_contain_text("Dana Ortiz viewed the case")
    expect(lines.last).to_contain_text("Dana Ortiz opened the case")
    expect(lines.last).to_contain_text("UTC)")
    expect(activity).to_contain_text(f"Dana Ortiz added {NAME} as exhibit 12")
    assert activity.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    fits_the_width(page)
    read = AuditEvent.objects.filter(target_id=str(case.pk)).order_by("-seq").first()
    assert (read.action, read.actor_id, read.details["via"]) == ("case.viewed", lead.pk, "activity")
