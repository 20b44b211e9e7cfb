"""Staff sign-in in a real browser (Debian's Chromium) on a phone-sized screen."""

import base64
import io
import re

import pytest
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from portal.roles import Role
from tests.conftest import totp_code
from tests.e2e.conftest import ARTIFACTS, PHONE, open_menu
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

DEMO_EMAIL = "investigator@riverton.example"
DEMO_PASSWORD = "canvass-demo-2026"


def _sign_in_with_password(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()


def _assert_dashboard(page, base_url: str, full_name: str) -> None:
    expect(page).to_have_url(f"{base_url}/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {full_name}")
    open_menu(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The stylesheet loaded (otherwise the width check below proves nothing).
    assert page.evaluate(
        "[...document.styleSheets].some(s => (s.href || '').includes('canvass.css')"
        " && s.cssRules.length > 0)"
    )
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"horizontal scroll: scrollWidth={scroll_width}"


def test_demo_investigator_signs_in_with_password_and_code_on_a_phone(live_server, phone):
    call_command("seed_demo", stdout=io.StringIO())
    device = TOTPDevice.objects.get(user__email=DEMO_EMAIL, confirmed=True)
    base_url = live_server.url

    _sign_in_with_password(phone, base_url, DEMO_EMAIL, DEMO_PASSWORD)

    expect(phone).to_have_url(f"{base_url}/login/code/")
    phone.get_by_label("6-digit code").fill(totp_code(device))
    phone.get_by_role("button", name="Sign in").click()

    _assert_dashboard(phone, base_url, "Ines Investigator")
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "dashboard-390.png"), full_page=True)


def test_staff_without_a_device_enrols_with_the_shown_key_and_reaches_the_dashboard(
    live_server, phone
):
    user = UserFactory(role=Role.INVESTIGATOR, full_name="Nell Newcomer")
    assert not TOTPDevice.objects.filter(user=user).exists()
    base_url = live_server.url

    _sign_in_with_password(phone, base_url, user.email, PASSWORD)

    expect(phone).to_have_url(f"{base_url}/login/enrol/")
    expect(phone.locator(".qr svg")).to_be_visible()
    expect(phone.get_by_text("Key:")).to_be_visible()
    key_text = phone.locator("code.secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{1,4}( [A-Z2-7]{1,4})*", key_text), key_text
    key = key_text.replace(" ", "")
    key += "=" * (-len(key) % 8)
    code = totp(base64.b32decode(key))
    phone.get_by_label("6-digit code").fill(f"{code:06d}")
    phone.get_by_role("button", name="Confirm").click()

    _assert_dashboard(phone, base_url, "Nell Newcomer")
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
