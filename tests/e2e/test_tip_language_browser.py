"""The tip page's third-party widgets speak the page's language: Uppy's Dashboard and ALTCHA.

Debian's Chromium on a phone, with the browser's language set; the page itself is rendered in
that language by Django, and the bundled widgets must follow it rather than stay in English.
"""

import pytest
from playwright.sync_api import expect

from submissions.demo import seed_categories
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _tip_page(browser, url, locale):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, locale=locale
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    return context, page


@pytest.mark.parametrize(
    ("locale", "html_lang", "dashboard", "altcha", "english_only"),
    [
        ("es-ES", "es", "Suelte archivos aquí", "No soy un robot", "Drop files here"),
        ("en-US", "en", "Drop files here", "I'm not a robot", None),
    ],
)
def test_uppy_and_altcha_follow_the_page_language(
    live_server, police, browser, locale, html_lang, dashboard, altcha, english_only
):
    seed_categories(police)
    context, page = _tip_page(browser, f"{live_server.url}/tips/{police.slug}/", locale)
    try:
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        drop_zone = page.locator(".uppy-Dashboard-AddFiles-title")
        expect(drop_zone).to_contain_text(dashboard)
        expect(page.locator("altcha-widget")).to_contain_text(altcha)
        if english_only:
            assert english_only not in drop_zone.inner_text()
            assert "I'm not a robot" not in page.locator("altcha-widget").inner_text()
    finally:
        context.close()
