"""The public transparency page in Debian's Chromium on a 390 px phone, in Spanish: it reads,
it fits the screen (tables scroll inside their own box), its charts draw, nothing logs an error."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, PHONE
from tests.transparency.facts import seed
from transparency import services

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _phone_in(browser, locale):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, locale=locale
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def test_the_transparency_page_in_spanish_on_a_phone(live_server, police, browser):
    seed(police, searches=6, owners=2, tips=5, recordings=2)
    services.figures_materialise_recent()
    context, page = _phone_in(browser, "es-ES")
    try:
        page.goto(f"{live_server.url}/transparency/")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.get_by_role("link", name="Riverton PD").click()
        expect(page.locator("h1")).to_have_text("Transparencia: Riverton PD")
        searches = page.locator("#metric-registry_searches")
        expect(searches.locator("h3")).to_have_text("Búsquedas en el registro de cámaras")
        # The chart is drawn (a bar for the six searches) and the table beside it says so.
        expect(searches.locator("svg.chart rect.bar")).to_have_count(1)
        assert searches.locator("svg.chart rect.bar").bounding_box()["height"] > 10
        expect(searches.locator("td[data-dimension='']").first).to_have_text("7")
        # 6 by investigators and 1 by a supervisor: both withheld (7 - 6 would tell the one).
        expect(searches.locator("td[data-dimension='supervisor']").first).to_have_text(
            "no se muestra"
        )
        expect(searches.locator("td[data-dimension='investigator']").first).to_have_text(
            "no se muestra"
        )
        newest = page.locator("#metric-bwc_recordings td[data-dimension='']").first
        expect(newest).to_have_text("menos de 5")
        expect(page.locator("#not-yet-footage_offence_category")).to_contain_text("Todavía no")
        # 390 px: the page itself never scrolls sideways; wide tables scroll in their box.
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "transparency-390-es.png"), full_page=True)
        page.locator("#footage-log a").click()
        expect(page.locator("h1")).to_have_text("Registro de solicitudes de video: Riverton PD")
        expect(page.locator("#footage-log tbody tr")).to_have_count(2)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
    finally:
        context.close()
