"""Debian's Chromium driven by Playwright (no `playwright install`), on a phone-sized screen."""

import re
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


# Every page reports Content-Security-Policy violations on its console, where the watch below
# sees them (Chromium also logs most of them as console errors itself).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
});
"""


# A Playwright wait given as a bare expression ("document.x > 1") is run with eval() in the page,
# which the site's CSP refuses (no 'unsafe-eval'); given as a function it is not. The watched
# pages turn bare expressions into arrow functions, so such waits keep working under the CSP.
_FUNCTION = re.compile(r"^\s*(async\s+)?(function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)")


def _waits_without_eval(page) -> None:
    wait = page.wait_for_function

    def wait_for_function(expression, *args, **kwargs):
        if not _FUNCTION.match(expression):
            expression = f"() => ({expression})"
        return wait(expression, *args, **kwargs)

    page.wait_for_function = wait_for_function


class WatchedBrowser:
    """The browser, whose every new context records console errors and uncaught page errors.

    The list is emptied before each test and checked after it (_no_console_errors below).
    """

    def __init__(self, browser):
        self._browser = browser
        self.trouble: list[str] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", self._console)
        context.on("page", _waits_without_eval)
        context.on("weberror", lambda error: self.trouble.append(f"page error: {error.error}"))
        return context

    def new_page(self, **kwargs):
        return self.new_context(**kwargs).new_page()

    def _console(self, message):
        # A failed load is the server's answer, which tests check where it matters; a page
        # may well ask for something that is not there (a 404 page, a refused API call).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.trouble.append(f"console error: {message.text}")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield WatchedBrowser(browser)
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def _no_console_errors(request):
    """Fail an e2e test whose pages logged an error or broke the Content-Security-Policy.

    A test that provokes a violation on purpose is marked csp_violations_expected; one that
    makes a page log an error on purpose (a refused upload), console_errors_expected.
    """
    if "browser" not in request.fixturenames:
        yield
        return
    watched = request.getfixturevalue("browser")
    watched.trouble.clear()
    yield
    expected = ("csp_violations_expected", "console_errors_expected")
    if not any(request.node.get_closest_marker(name) for name in expected):
        assert not watched.trouble, "\n".join(watched.trouble)


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


LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture(params=["390px", "1366px"])
def sized_page(request, browser):
    """A page on a 390 px phone, then on a 1366 px laptop: the journey runs at both sizes."""
    if request.param == "390px":
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    else:
        context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def fits_the_width(page) -> None:
    """No horizontal scroll at the page's own width."""
    width, viewport = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width <= viewport, f"horizontal scroll: scrollWidth={width} > {viewport}"


def open_menu(page) -> None:
    """On a phone (below 640 px) the header's links sit behind its Menu button
    (static/js/nav-menu.js): open it, as a person would, before using a header link.
    On a wider screen the links are in view and nothing is done."""
    wait_until(page, "() => document.querySelector('header.top').classList.contains('menu-ready')")
    if not page.evaluate("() => matchMedia('(max-width: 639.98px)').matches"):
        return
    menu = page.locator("header.top .menu-toggle")
    if menu.get_attribute("aria-expanded") != "true":
        menu.click()
    page.wait_for_function(
        "() => document.querySelector('header.top .menu-toggle')"
        ".getAttribute('aria-expanded') === 'true'"
    )


@pytest.fixture(scope="session")
def demo_basemap_file(tmp_path_factory) -> Path:
    """The demo town's PMTiles basemap, built once per run as `scripts/setup.sh` builds it."""
    from portal.management.commands.basemap_demo import build

    path = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    build(path)
    return path


@pytest.fixture(autouse=True)
def _maps_draw_the_demo_basemap(request):
    """Every browser test's maps draw a real basemap, served by Range from the built file."""
    if "live_server" not in request.fixturenames:
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.MAP_PMTILES_PATH = str(request.getfixturevalue("demo_basemap_file"))
    yield
