"""Owners, tipsters and the public read times on their own clock: a browser in Los Angeles
sees the defence link's expiry and a live-view request's time in Pacific time, in its
language, on a phone (static/js/local-time.js on <time data-local-time>)."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from evidence.models import ShareLink
from registry.models import LiveAsk
from tests.e2e.conftest import PHONE, fits_the_width
from tests.portal.public_pages import public_world

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

# 18:30 UTC on 4 July 2031 is 11:30 Pacific Daylight Time in Los Angeles.
AT = dt.datetime(2031, 7, 4, 18, 30, 15, tzinfo=dt.UTC)


def _los_angeles(browser, locale: str):
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        timezone_id="America/Los_Angeles",
        locale=locale,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} {r.status}"))
    return context, page, failed


def _shown(page, selector: str) -> tuple[str, str]:
    """The text and title of the first localized <time> under `selector`, once the script ran."""
    time = page.locator(f"{selector} time[data-local-time][data-localized='1']").first
    time.wait_for()
    assert time.get_attribute("datetime") == "2031-07-04T18:30:15Z"
    return time.inner_text(), time.get_attribute("title")


def test_a_los_angeles_browser_sees_pacific_time_on_the_public_pages(live_server, browser):
    w = public_world()
    ShareLink.objects.update(expires_at=AT)
    LiveAsk.objects.filter(pk=w["live_ask"].pk).update(created_at=AT)
    defence = f"{live_server.url}{reverse('evidence_public:link')}?t={w['defence_token']}"
    live_ask = (
        f"{live_server.url}{reverse('cameras:live_ask', args=[w['live_ask'].pk])}"
        f"?t={w['live_token']}"
    )

    context, page, failed = _los_angeles(browser, "en-US")
    try:
        page.goto(defence)
        text, title = _shown(page, "main")
        assert re.fullmatch(r"Jul 4, 2031, 11:30\s?AM PDT", text), text
        assert title == "2031-07-04 18:30 UTC"
        fits_the_width(page)

        page.goto(live_ask)
        text, title = _shown(page, "#ask-created")
        assert re.fullmatch(r"Jul 4, 2031, 11:30\s?AM PDT", text), text
        assert title == "2031-07-04 18:30 UTC"
        fits_the_width(page)
        assert not failed, failed
    finally:
        context.close()

    # A Spanish browser gets the Spanish page, and the time in Spanish.
    context, page, failed = _los_angeles(browser, "es-ES")
    try:
        page.goto(live_ask)
        assert page.locator("html").get_attribute("lang") == "es"
        text, title = _shown(page, "#ask-created")
        assert "jul" in text and "2031" in text and "11:30" in text, text
        assert "Jul" not in text and "AM" not in text and "18:30" not in text, text
        assert title == "2031-07-04 18:30 UTC"
        fits_the_width(page)
        assert not failed, failed
    finally:
        context.close()
