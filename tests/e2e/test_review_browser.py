"""A community reviewer's month in Chromium, on a phone and on a laptop: signs in, finds the
sample through the menu, opens a drawn registry search (its details only), records a concern
whose text holds HTML (shown as text), and sees it counted; the agency's admin then sees the
sample and the summary, not the items. No console error, no failed request."""

import pytest
from playwright.sync_api import expect

from portal.roles import Role
from review.models import Finding
from tests.e2e.conftest import ARTIFACTS, PHONE, open_menu
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.review.helpers import drawn

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 800}


def _fits(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"horizontal scroll on {page.url}: scrollWidth={scroll_width}"


def _watch_requests(page) -> list[str]:
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: failed.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
    )
    return failed


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_reviewer_opens_a_drawn_item_and_records_a_finding(
    live_server, browser, make_staff, police, viewport
):
    sample = drawn(police, searches=2, recordings=1)
    reviewer = make_staff(role=Role.COMMUNITY_REVIEWER, full_name="Remy Reviewer")
    admin = make_staff(role=Role.AGENCY_ADMIN, full_name="Ada Admin")
    context = browser.new_context(viewport=viewport, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    failed = _watch_requests(page)
    base, width = live_server.url, viewport["width"]
    month = sample.month.strftime("%B %Y")
    try:
        _sign_in(page, base, reviewer)
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Evidence")).to_have_count(0)
        open_menu(page)
        nav.get_by_role("link", name="Community review").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Community review")
        _fits(page, width)

        page.get_by_role("link", name=month).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Review sample, {month}")
        expect(page.locator("#sample-seed")).to_have_text(sample.seed)
        expect(page.locator("#review-items li")).to_have_count(3)
        _fits(page, width)

        page.get_by_role("link", name="Registry searches #1").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Registry searches")
        expect(page.locator("#item-facts")).to_contain_text("Burglary number")
        expect(page.locator("#item-facts")).to_contain_text("h:")
        _fits(page, width)

        page.get_by_label("Concern", exact=True).check()
        page.get_by_label("What you found").fill("<b>Too wide</b> a window for a burglary")
        page.get_by_role("button", name="Record finding").click()
        expect(page.locator("ul.messages")).to_contain_text("Finding recorded.")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Review sample, {month}")
        first = page.locator("#review-items li").first
        expect(first).to_contain_text("your finding: Concern")
        expect(
            page.locator(
                '#findings-summary tr[data-kind="registry_search"] td[data-outcome="concern"]'
            )
        ).to_have_text("1")
        _fits(page, width)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"review-sample-{width}.png"), full_page=True)

        first.get_by_role("link").click()
        expect(page.locator("#my-text")).to_have_text("<b>Too wide</b> a window for a burglary")
        expect(page.locator("#my-text b")).to_have_count(0)
        expect(page.locator("#finding-form")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / f"review-item-{width}.png"), full_page=True)
        finding = Finding.objects.get()
        assert (finding.reviewer_id, finding.outcome) == (reviewer.pk, "concern")

        open_menu(page)
        page.get_by_role("button", name="Sign out").click()
        _sign_in(page, base, admin)
        open_menu(page)
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Community review"
        ).click()
        page.get_by_role("link", name=month).click()
        expect(page.locator("#drawn-items tbody tr")).to_have_count(3)
        expect(page.locator("#review-items")).to_have_count(0)
        expect(
            page.locator(
                '#findings-summary tr[data-kind="registry_search"] td[data-outcome="concern"]'
            )
        ).to_have_text("1")
        _fits(page, width)
        assert failed == []
    finally:
        context.close()
