"""A camera owner answers "no footage" and "I decline" from the emailed link, in Chromium.

The owner has no account: the link's token is all. The page's form posts must pass Django's
CSRF check in a real browser (with `Referrer-Policy: no-referrer` Chromium posted
`Origin: null`, and every answer ended on Django's bare 403 page).
"""

import pytest
from playwright.sync_api import expect

from registry.models import FootageRequestCamera
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    path_of,
    search,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
Status = FootageRequestCamera.Status


def test_the_owner_answers_no_footage_for_one_camera_and_declines_for_the_other(
    live_server, phone, police
):
    officer = investigator(police)
    shop = owner(role="business")
    front = camera_facing_incident(shop, name="Shop front")
    door = camera_facing_incident(shop, name="Shop door", direction_deg=80)
    ask(officer, search(officer), [front, door])
    [link] = links_in_outbox(shop.email)

    phone.goto(f"{live_server.url}{path_of(link)}")
    section = phone.locator("section[data-camera]").filter(has_text="Shop front")
    section.get_by_role("button", name="I have no footage of that time").click()
    expect(phone.locator(".messages")).to_contain_text("your answer for Shop front was sent")
    expect(section).to_contain_text("Answered: No footage")

    section = phone.locator("section[data-camera]").filter(has_text="Shop door")
    section.get_by_role("button", name="I decline").click()
    expect(phone.locator(".messages")).to_contain_text("your answer for Shop door was sent")

    answers = dict(FootageRequestCamera.objects.values_list("camera__name", "status"))
    assert answers == {"Shop front": Status.NO_FOOTAGE, "Shop door": Status.DECLINED}
