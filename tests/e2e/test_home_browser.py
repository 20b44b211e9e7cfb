"""The home page in Debian's Chromium: a visitor finds the tip form, staff land on their
dashboard and follow a card, a resident lands on their cameras; on a phone and a laptop, with
no console error and no failed request."""

import pytest
from playwright.sync_api import expect

from portal.roles import Role
from tests.conftest import totp_code
from tests.e2e.conftest import ARTIFACTS, PHONE
from tests.factories import PASSWORD, PublicUserFactory, UserFactory, add_totp_device
from tests.registry.cameras import INCIDENT, register
from tests.workbench.conftest import make_tip

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1366, "height": 800}
SIZES = pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1366px"])


@pytest.fixture
def open_page(browser):
    """open_page(viewport) -> a page whose failed requests (4xx/5xx, network) are collected."""
    contexts, failures = [], []

    def open_(viewport):
        context = browser.new_context(viewport=viewport, is_mobile=viewport == PHONE)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "response",
            lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"),
        )
        page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not failures, failures


def _no_sideways_scroll(page, viewport, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{viewport['width']}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"horizontal scroll: scrollWidth={width}"


def _sign_in(page, base_url, user, device=None) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    if device is not None:
        page.get_by_label("6-digit code").fill(totp_code(device))
        page.get_by_role("button", name="Sign in").click()


def test_a_visitor_on_a_phone_goes_from_home_to_the_tip_form(live_server, tips_agency, open_page):
    page = open_page(PHONE)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Got a footage request?")).to_be_visible()
    expect(
        page.get_by_role("link", name="Sent a tip before? Open my tip with my receipt")
    ).to_be_visible()
    _no_sideways_scroll(page, PHONE, "home-visitor")
    page.locator("#start-tip").click()
    page.get_by_role("link", name=tips_agency.name).click()
    expect(page).to_have_url(f"{live_server.url}/tips/{tips_agency.slug}/")
    expect(page.get_by_label("What happened?")).to_be_visible()


@SIZES
def test_staff_land_on_the_dashboard_and_follow_a_card(
    live_server, tips_agency, open_page, viewport
):
    user = UserFactory(role=Role.INVESTIGATOR, agency=tips_agency, full_name="Dana Detective")
    device = add_totp_device(user)
    tip = make_tip(tips_agency, description="A van without plates, twice this week.")
    page = open_page(viewport)
    _sign_in(page, live_server.url, user, device)
    expect(page).to_have_url(f"{live_server.url}/staff/")
    card = page.locator("#card-new_tips")
    expect(card.locator(".count")).to_have_text("1")
    expect(page.locator("header .badge").first).to_have_text("1")
    _no_sideways_scroll(page, viewport, "home-dashboard")
    card.get_by_role("link", name=tip.reference, exact=False).click()
    expect(page).to_have_url(f"{live_server.url}/staff/tips/{tip.reference}/")
    expect(page.get_by_text("A van without plates, twice this week.")).to_be_visible()


@SIZES
def test_a_resident_lands_on_their_cameras(live_server, open_page, viewport):
    resident = PublicUserFactory(full_name="Rosa Resident")
    register(resident, *INCIDENT, name="Front porch")
    page = open_page(viewport)
    _sign_in(page, live_server.url, resident)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Rosa Resident")
    cameras = page.locator("#owner-cameras")
    expect(cameras.get_by_role("link", name="Front porch")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_have_count(0)
    _no_sideways_scroll(page, viewport, "home-resident")
    cameras.get_by_role("link", name="All my cameras").click()
    expect(page).to_have_url(f"{live_server.url}/cameras/mine/")
    expect(page.get_by_text("Front porch").first).to_be_visible()
