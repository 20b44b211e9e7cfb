"""axe-core on every public page and the main staff pages, on a phone and on a laptop.

Debian's Chromium opens each page at 390 px and at 1366 px and runs axe-core (from npm, pinned
in package.json, read from node_modules: no CDN) against WCAG 2.1 A and AA; a serious or
critical violation fails the test, listed with the page, the rule and the elements. One
browser context walks every page: the visitor's, a camera owner's once signed in, an
investigator's and an auditor's. The pages are the Spanish crawl's (tests/portal/public_pages)
plus the staff pages people use every day.
"""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from portal.roles import Role
from submissions import services as tip_services
from submissions.models import TipCategory
from tests.conftest import totp_code
from tests.factories import PASSWORD, UserFactory, add_totp_device
from tests.portal.public_pages import anonymous_pages, owner_pages, public_world

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SIZES = [{"width": 390, "height": 844}, {"width": 1366, "height": 800}]
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"serious", "critical"}

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


def _sign_in(page, base_url, user, device) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    if device is not None:
        page.get_by_label("6-digit code").fill(totp_code(device))
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


class Walk:
    """One page, loaded once and sized in turn to each width, with axe run at each."""

    def __init__(self, page, base_url):
        self.page, self.base_url = page, base_url
        self.found: dict[str, list] = {}
        self.seen = 0

    def check(self, what: str, url: str | None = None) -> None:
        if url is not None:
            self.page.set_viewport_size(SIZES[0])
            self.page.goto(f"{self.base_url}{url}")
        self.page.wait_for_load_state("load")
        for size in SIZES:
            self.page.set_viewport_size(size)
            self._axe(f"{what} at {size['width']} px")

    def _axe(self, where: str) -> None:
        if not self.page.evaluate("() => typeof axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        violations = self.page.evaluate(RUN_AXE, TAGS)
        self.seen += 1
        bad = [v for v in violations if v["impact"] in FAILING]
        if bad:
            self.found[where] = bad


def test_public_and_staff_pages_have_no_serious_accessibility_violations(
    live_server, browser, cheap_pow
):
    w = public_world()
    police = w["police"]
    category = TipCategory.objects.filter(agency=police).first()
    made = tip_services.tip_create(
        agency=police,
        category=category,
        description="Una furgoneta gris aparcada cada noche.",
        occurred_at=w["request"].window_start,
    )
    investigator = w["investigator"]  # the case's lead
    investigator_device = add_totp_device(investigator)
    auditor = UserFactory(role=Role.AUDITOR, agency=police, full_name="Ada Auditora")
    auditor_device = add_totp_device(auditor)

    # The axe script is added to each page from node_modules: the context lets it past the
    # site's Content-Security-Policy (which allows no inline script), and only this test's.
    context = browser.new_context(bypass_csp=True, viewport=SIZES[0])
    page = context.new_page()
    page.set_default_timeout(20_000)
    walk = Walk(page, live_server.url)
    try:
        for what, method, url, _ in anonymous_pages(w):
            if method == "GET" and not what.endswith("unknown"):
                walk.check(what, url)
        # A receipt checked, and a tip opened again with its receipt: the pages after a form.
        page.goto(f"{live_server.url}{reverse('receipts:verify')}")
        page.locator("#receipt").fill(json.dumps(w["receipt"]))
        page.get_by_role("button", name="Verify").click()
        page.locator("#verdict").wait_for()
        walk.check("receipt verified")
        page.goto(f"{live_server.url}/tips/return/")
        page.locator("input[name=receipt]").fill(made.receipt)
        page.get_by_role("button", name="Open my tip").click()
        page.wait_for_url("**/tips/return/tip/")
        walk.check("tip returned")

        context.clear_cookies()
        _sign_in(page, live_server.url, w["shop"], None)
        for what, _, url, _ in owner_pages(w):
            walk.check(what, url)

        context.clear_cookies()
        _sign_in(page, live_server.url, investigator, investigator_device)
        tip = made.tip
        for what, url in [
            ("dashboard", "/staff/"),
            ("evidence list", reverse("evidence:list")),
            ("evidence item", reverse("evidence:detail", args=[w["item"].pk])),
            ("case list", reverse("evidence:case_list")),
            ("case", reverse("evidence:case_detail", args=[w["case"].pk])),
            ("tips inbox", reverse("submissions_staff:inbox")),
            ("tip", reverse("submissions_staff:tip", args=[tip.reference])),
            ("footage requests", reverse("registry_requests:list")),
            ("footage request", reverse("registry_requests:detail", args=[w["request"].pk])),
            ("live", reverse("livefeeds:list")),
        ]:
            walk.check(what, url)

        context.clear_cookies()
        _sign_in(page, live_server.url, auditor, auditor_device)
        walk.check("audit log", reverse("portal:audit_log"))
    finally:
        context.close()
    assert walk.seen > 90
    assert not walk.found, "Serious or critical axe-core violations:\n" + "\n".join(
        f"{where}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
        for where, violations in walk.found.items()
        for v in violations
    )
