"""The public tip pages without JavaScript: a plain POST text tip, the receipt, the return page."""

import re

import pytest

from portal.models import AuditEvent
from submissions.models import Tip, TipMessage
from tests.submissions.helpers import tipster_client

pytestmark = pytest.mark.django_db


def _form(agency, **overrides):
    return {
        "category": "drugs",
        "description": "Cars stop at number 12 for a minute, every evening.",
        "occurred_at": "2025-03-01T19:45",
        "address": "",
        "contact": "",
        "share_file_metadata": "no",
    } | overrides


def test_the_landing_page_lists_agencies_taking_tips(tips_agency):
    page = tipster_client().get("/tips/").content.decode()
    assert f'href="/tips/{tips_agency.slug}/"' in page
    assert 'href="/tips/return/"' in page


def test_the_tip_page_has_the_form_the_scripts_hook(tips_agency):
    page = tipster_client().get(f"/tips/{tips_agency.slug}/")
    html = page.content.decode()

    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "no-referrer"
    assert 'id="tip-form"' in html and 'data-api="/api/tips/"' in html
    assert 'data-challenge="/api/tips/challenge/"' in html
    assert '<div id="tip-offline-status" aria-live="polite"></div>' in html
    assert "Contact details (optional)" in html
    assert "Leave this empty to stay anonymous" in html
    assert "Set-Cookie" not in str(page.headers) and not page.cookies


def test_a_text_tip_is_accepted_without_javascript(tips_agency, geocoder):
    client = tipster_client()
    response = client.post(
        f"/tips/{tips_agency.slug}/", _form(tips_agency, address="100 Main Street, Riverton")
    )

    assert response.status_code == 200, response.content.decode()[:2000]
    html = response.content.decode()
    receipt = re.search(
        r'<output data-role="receipt">(\d{4} \d{4} \d{4} \d{4})</output>', html
    ).group(1)
    assert "It is shown only once" in html
    tip = Tip.objects.get()
    assert tip.category.slug == "drugs" and tip.share_file_metadata is False
    assert (tip.location.y, tip.location.x) == (40.7128, -74.006)
    assert tip.occurred_at.isoformat() == "2025-03-02T00:45:00+00:00"
    assert not response.cookies
    # Back with the receipt: the return page, then an answer.
    opened = client.post("/tips/return/", {"receipt": receipt})
    assert opened.status_code == 302 and opened["Location"] == "/tips/return/tip/"
    cookie = opened.cookies["canvass_tip"]
    assert (
        cookie["samesite"] == "Strict" and cookie["httponly"] and cookie["path"] == "/tips/return/"
    )
    page = client.get("/tips/return/tip/").content.decode()
    assert "Received" in page
    client.post("/tips/return/tip/", {"body": "It is a <b>blue</b> car."})
    assert TipMessage.objects.get().body == "It is a <b>blue</b> car."
    assert (
        "It is a &lt;b&gt;blue&lt;/b&gt; car." in client.get("/tips/return/tip/").content.decode()
    )


def test_without_javascript_an_unfound_address_is_kept_as_written(tips_agency, geocoder):
    response = tipster_client().post(
        f"/tips/{tips_agency.slug}/", _form(tips_agency, address="Behind the old mill")
    )
    assert "kept as you wrote it" in response.content.decode()
    tip = Tip.objects.get()
    assert tip.location is None and tip.address == "Behind the old mill"


def test_no_javascript_tips_have_a_stricter_limit(tips_agency, settings):
    settings.TIPS_RATE_NOJS_PER_HOUR = 2
    client = tipster_client()
    codes = [
        client.post(f"/tips/{tips_agency.slug}/", _form(tips_agency)).status_code for _ in range(3)
    ]

    assert codes == [200, 200, 429]
    assert Tip.objects.count() == 2


def test_a_bad_form_says_what_is_wrong_and_keeps_nothing(tips_agency):
    response = tipster_client().post(
        f"/tips/{tips_agency.slug}/", _form(tips_agency, description="", category="nope")
    )
    html = response.content.decode()
    assert response.status_code == 400
    # In plain words, at each field: never Django's "This field is required."
    assert "Tell us what happened." in html
    assert "Choose what it&#x27;s about." in html
    assert "This field is required." not in html and "Select a valid choice." not in html
    assert not Tip.objects.exists()


def test_a_wrong_receipt_on_the_return_page_gets_the_generic_error(tips_agency, settings):
    settings.TIPS_RATE_WRONG_RECEIPTS_PER_HOUR = 3
    client = tipster_client()
    answers = [
        client.post("/tips/return/", {"receipt": f"0000 0000 0000 000{n}"}) for n in range(4)
    ]

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert "That receipt does not open a tip." in answers[0].content.decode()
    page = client.get("/tips/return/").content.decode()
    assert "no way back to your tip" in page
    assert not AuditEvent.objects.filter(action="tip.returned").exists()


def test_the_return_page_needs_a_valid_cookie(tips_agency):
    client = tipster_client()
    client.cookies["canvass_tip"] = "forged"
    assert client.get("/tips/return/tip/")["Location"] == "/tips/return/"
    assert client.post("/tips/return/tip/uploads/").status_code == 403
