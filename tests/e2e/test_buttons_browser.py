"""Link-styled buttons are readable, and destructive ones ask first, in Chromium.

`button.link` inherited the buttons' white text on a white card: Pause, Resume and Delete on
"My cameras", "Remove from case", "Remove" (a member) and the tipster's "Close my tip on this
device" were invisible. Destructive ones now ask with the page's words: dismissing keeps the
thing, accepting goes ahead.
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from evidence.cases import services as case_services
from evidence.models import CaseMember
from registry import services as registry_services
from registry.models import Camera
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import TipCategory
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import PASSWORD, stored_item
from tests.registry.cameras import INCIDENT, owner, register

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

# WCAG contrast ratio of the button's text against the first opaque background behind it.
CONTRAST = """(el) => {
  const rgba = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = [255, 255, 255];
  for (let node = el; node; node = node.parentElement) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0) { bg = c; break; }
  }
  const [hi, lo] = [lum(rgba(getComputedStyle(el).color)), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


def _assert_readable(button) -> None:
    expect(button).to_be_visible()
    ratio = button.evaluate(CONTRAST)
    assert ratio >= 4.5, f"{button.inner_text()!r}: contrast {ratio:.2f}"


def _click_and_answer(page, button, *, accept: bool, asks: str) -> None:
    """Click; the confirm must appear with `asks` in it; accept or dismiss it."""
    seen = []

    def answer(dialog):
        seen.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", answer)
    if accept:
        with page.expect_navigation():
            button.click()
    else:
        button.click()
        # The dialog's event reaches us while Playwright waits; on a loaded machine that can
        # take longer than a fixed pause, so wait for it (up to 10 s), then a little more.
        for _ in range(100):
            if seen:
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(300)  # a form that were sent anyway would be navigating now
    assert seen and asks in seen[0], seen


def _sign_in_resident(page, base_url, resident) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(resident.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("header.top")).to_contain_text("Sign out")


def test_my_cameras_buttons_are_readable_and_pause_and_delete_ask_first(live_server, phone):
    resident = owner()
    porch = register(resident, *INCIDENT, name="Porch")
    garage = register(resident, *INCIDENT, name="Garage")
    registry_services.camera_pause(actor=resident, camera_id=garage.pk)
    _sign_in_resident(phone, live_server.url, resident)
    phone.goto(f"{live_server.url}/cameras/mine/")
    porch_row = phone.locator(f"tr[data-camera-id='{porch.pk}']")
    garage_row = phone.locator(f"tr[data-camera-id='{garage.pk}']")
    for button in (
        porch_row.get_by_role("button", name="Pause"),
        porch_row.get_by_role("button", name="Delete"),
        garage_row.get_by_role("button", name="Resume"),
    ):
        _assert_readable(button)

    pause = porch_row.get_by_role("button", name="Pause")
    _click_and_answer(phone, pause, accept=False, asks="Pause this camera?")
    porch.refresh_from_db()
    assert porch.paused_at is None
    _click_and_answer(phone, pause, accept=True, asks="Pause this camera?")
    porch.refresh_from_db()
    assert porch.paused_at is not None

    delete = phone.locator(f"tr[data-camera-id='{garage.pk}']").get_by_role("button", name="Delete")
    _click_and_answer(phone, delete, accept=False, asks="Delete this camera?")
    assert Camera.objects.get(pk=garage.pk).deleted_at is None
    _click_and_answer(phone, delete, accept=True, asks="Delete this camera?")
    assert Camera.objects.get(pk=garage.pk).deleted_at is not None


def test_case_remove_buttons_are_readable_and_ask_first(live_server, phone, make_staff, police):
    lead = make_staff()
    colleague = make_staff()
    item = stored_item(agency=police, original_filename="doorbell.mp4")
    case = make_case(lead=lead, items=[item])
    case_services.case_member_add(actor=verified(lead), case=case, user=colleague)
    _sign_in(phone, live_server.url, lead)
    phone.goto(f"{live_server.url}/staff/evidence/cases/{case.pk}/")
    remove_item = phone.get_by_role("button", name="Remove from case")
    remove_member = phone.get_by_role("button", name="Remove", exact=True)
    _assert_readable(remove_item)
    _assert_readable(remove_member)

    _click_and_answer(phone, remove_item, accept=False, asks="Remove this item from case")
    assert case.items.filter(pk=item.pk).exists()
    _click_and_answer(phone, remove_item, accept=True, asks="Remove this item from case")
    assert not case.items.filter(pk=item.pk).exists()

    remove_member = phone.get_by_role("button", name="Remove", exact=True)
    _click_and_answer(phone, remove_member, accept=False, asks="from case")
    assert CaseMember.objects.filter(case=case, user=colleague).exists()
    _click_and_answer(phone, remove_member, accept=True, asks="from case")
    assert not CaseMember.objects.filter(case=case, user=colleague).exists()


def test_the_tipsters_close_button_is_readable_and_asks_first(live_server, phone, police):
    seed_categories(police)
    new = tip_services.tip_create(
        agency=police,
        category=TipCategory.objects.filter(agency=police).first(),
        description="A grey van by the school every night.",
        occurred_at=dt.datetime(2026, 1, 15, 21, 30, tzinfo=dt.UTC),
    )
    phone.goto(f"{live_server.url}/tips/return/")
    phone.get_by_label("Your receipt").fill(new.receipt)
    phone.get_by_role("button", name="Open my tip").click()
    close = phone.get_by_role("button", name="Close my tip on this device")
    _assert_readable(close)
    _click_and_answer(phone, close, accept=False, asks="Close your tip on this device?")
    expect(phone.locator("h1")).to_have_text("Your tip")
    _click_and_answer(phone, close, accept=True, asks="Close your tip on this device?")
    phone.goto(f"{live_server.url}/tips/return/tip/")
    expect(phone.locator("h1")).not_to_have_text("Your tip")
