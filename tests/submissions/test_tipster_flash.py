"""The tipster's pages show their conversation, never internal banners or staff flash messages.

The return page once called its conversation `messages`: base.html took it for Django's flash
messages and showed every tip message as a banner, "From the tipster on <tip id>", above the page.
"""

import pytest
from django.test import Client

from submissions import services
from submissions.models import Tip
from tests.conftest import sign_in
from tests.registry.cameras import verified
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def returning(tips_agency, make_staff):
    """A tipster back on their tip, after one message each way."""
    client = tipster_client()
    created = send_tip(client, tips_agency)
    assert created.status_code == 201, created.content
    tip = Tip.objects.get()
    assert client.post("/tips/return/", {"receipt": created.json()["receipt"]}).status_code == 302
    assert client.post("/tips/return/tip/", {"body": "The van is blue."}).status_code == 302
    investigator = verified(make_staff())
    services.tip_question_send(actor=investigator, tip=tip, body="Which night did you see it?")
    return client, tip


def test_the_return_page_shows_the_conversation_without_banners_or_ids(returning):
    client, tip = returning
    page = client.get("/tips/return/tip/").content.decode()
    assert "The van is blue." in page and "Which night did you see it?" in page
    assert '<ul class="messages">' not in page
    assert "From the tipster on" not in page and "To the tipster on" not in page
    assert str(tip.pk) not in page


def test_a_staff_flash_message_waiting_in_the_session_stays_off_the_tip_pages(
    returning, make_staff
):
    _, tip = returning
    staff = sign_in(Client(), make_staff())
    # Refused on purpose: the view queues an error banner for the staff tip page.
    staff.post(f"/staff/tips/{tip.reference}/assign/", {"assignee": ""})
    for path in ("/tips/", "/tips/return/"):
        page = staff.get(path).content.decode()
        assert "Choose someone to assign the tip to." not in page, path
    # It waits for the staff page it belongs to.
    staff_page = staff.get(f"/staff/tips/{tip.reference}/").content.decode()
    assert "Choose someone to assign the tip to." in staff_page
