"""Debian's Chromium driven by Playwright (no `playwright install`), on a phone-sized screen."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def wait_until(page, predicate: str, *, timeout: float = 15_000) -> None:
    """Wait until the JavaScript arrow function `predicate` returns something truthy.

    A bare wait_for_function throws at once when the predicate dereferences an element the
    parser has not reached yet (`null.dataset`); here a TypeError means "not yet, poll again".
    """
    page.wait_for_function(
        f"""() => {{
            try {{ return ({predicate})(); }}
            catch (error) {{ if (error instanceof TypeError) return false; throw error; }}
        }}""",
        timeout=timeout,
    )
