"""Footage requests readable on both sides: the agency's states ("2 of 3 answered") and the
signed-in owner's Requests page, scoped to the owner and answering through the same services
as the emailed link."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from registry.footage import selectors as sel
from registry.models import FootageRequest, FootageRequestCamera
from tests.conftest import client_for
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search

pytestmark = pytest.mark.django_db
Status = FootageRequestCamera.Status
State = sel.RequestState
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
EARLIER = NOW - dt.timedelta(minutes=1)
SENT = FootageRequest.Status.SENT


@pytest.mark.parametrize(
    ("status", "asked", "answered", "deadline", "state"),
    [
        (SENT, 3, 0, LATER, State.SENT),
        (SENT, 3, 2, LATER, State.PARTLY_ANSWERED),
        (SENT, 3, 3, LATER, State.COMPLETE),
        (SENT, 3, 3, EARLIER, State.COMPLETE),  # all answered stays complete after the deadline
        (SENT, 3, 2, EARLIER, State.EXPIRED),
        (SENT, 3, 0, NOW, State.EXPIRED),  # the deadline itself has passed
        (FootageRequest.Status.AWAITING_APPROVAL, 3, 0, LATER, State.AWAITING_APPROVAL),
        (FootageRequest.Status.REFUSED, 3, 0, EARLIER, State.REFUSED),
    ],
)
def test_request_state_from_the_counts(status, asked, answered, deadline, state):
    assert (
        sel.request_state(status=status, asked=asked, answered=answered, deadline=deadline, now=NOW)
        == state
    )


def _answer(request, statuses):
    for rc, status in zip(request.cameras.order_by("pk"), statuses, strict=False):
        FootageRequestCamera.objects.filter(pk=rc.pk).update(
            status=status, answered_at=timezone.now()
        )


def _three_cameras(name):
    person = owner(role="business")
    return [
        camera_facing_incident(person, name=f"{name} {i}", direction_deg=80 + i) for i in range(3)
    ]


def _searched(officer, name):
    cameras = _three_cameras(name)
    return search(officer), cameras


def test_the_agency_list_shows_each_state_and_how_many_answered_in_one_query(police):
    officer = investigator(police)
    cameras = _three_cameras("Partly")
    partly = ask(officer, search(officer), cameras, case_number="C-PARTLY")
    _answer(partly, [Status.UPLOADED, Status.DECLINED])
    staff = client_for(officer)
    staff.get(reverse("registry_requests:list"))  # the session's first page does more
    with CaptureQueriesContext(connection) as one:
        assert staff.get(reverse("registry_requests:list")).status_code == 200

    complete = ask(officer, *_searched(officer, "Done"), case_number="C-DONE")
    _answer(complete, [Status.UPLOADED, Status.NO_FOOTAGE, Status.DECLINED])
    expired = ask(officer, *_searched(officer, "Late"), case_number="C-LATE")
    _answer(expired, [Status.NO_FOOTAGE])
    FootageRequest.objects.filter(pk=expired.pk).update(deadline=timezone.now())
    ask(officer, *_searched(officer, "Quiet"), case_number="C-QUIET")
    with CaptureQueriesContext(connection) as four:
        page = staff.get(reverse("registry_requests:list"))
    assert len(four.captured_queries) == len(one.captured_queries), "a query per request"

    body = page.content.decode()
    rows = {r.req.case_number: r.state for r in sel.footage_request_rows(actor=officer)}
    assert rows == {
        "C-PARTLY": State.PARTLY_ANSWERED,
        "C-DONE": State.COMPLETE,
        "C-LATE": State.EXPIRED,
        "C-QUIET": State.SENT,
    }
    for words in ("2 of 3 answered", "3 of 3 answered", "1 of 3 answered", "0 of 3 answered"):
        assert words in body, words
    for state in State.PARTLY_ANSWERED, State.COMPLETE, State.EXPIRED, State.SENT:
        assert f'data-state="{state.value}"' in body and str(state.label) in body
    detail = staff.get(reverse("registry_requests:detail", args=[partly.pk])).content.decode()
    assert 'data-state="partly_answered"' in detail and "2 of 3 answered" in detail


@pytest.fixture
def asked(police):
    """Two owners asked in two requests: the shop (two cameras) and a neighbour (one)."""
    officer = investigator(police)
    shop, neighbour = owner(role="business"), owner()
    front = camera_facing_incident(shop, name="Shop front")
    door = camera_facing_incident(shop, name="Shop door", direction_deg=80)
    porch = camera_facing_incident(neighbour, name="Porch")
    mine = ask(officer, search(officer), [front, door])
    theirs = ask(officer, search(officer), [porch], case_number="C-OTHER")
    return shop, neighbour, mine, theirs


def test_the_owner_lists_only_their_requests_with_their_state(asked):
    shop, neighbour, mine, theirs = asked
    _answer(mine, [Status.NO_FOOTAGE])
    page = client_for(shop).get(reverse("cameras:requests"))
    body = page.content.decode()
    assert page.status_code == 200
    assert f'data-request="{mine.pk}"' in body and f'data-request="{theirs.pk}"' not in body
    assert 'data-state="partly_answered"' in body and "1 of 2 cameras answered" in body
    assert [r["req"] for r in sel.owner_request_rows(owner=neighbour)] == [theirs]


def test_another_owners_request_is_404_and_their_answers_are_refused(asked):
    shop, neighbour, mine, theirs = asked
    shop_client = client_for(shop)
    porch = theirs.cameras.get()
    assert shop_client.get(reverse("cameras:request", args=[theirs.pk])).status_code == 404
    for answer in ("no_footage", "declined"):
        refused = shop_client.post(
            reverse("cameras:request_answer", args=[theirs.pk]),
            {"camera": porch.pk, "answer": answer},
        )
        assert refused.status_code == 404
    # A camera of another request named in the owner's own request's answer is not theirs.
    refused = shop_client.post(
        reverse("cameras:request_answer", args=[mine.pk]),
        {"camera": porch.pk, "answer": "declined"},
    )
    assert refused.status_code == 404
    grant = shop_client.post(reverse("cameras:request_grant", args=[theirs.pk, porch.pk]))
    assert grant.status_code == 404
    assert shop_client.get(reverse("cameras:request_receipt", args=[theirs.pk])).status_code == 404
    porch.refresh_from_db()
    assert porch.status == Status.SENT


def test_signed_out_staff_and_held_requests_never_reach_the_owner_page(asked, police):
    shop, _, mine, _ = asked
    anonymous = client_for(None).get(reverse("cameras:request", args=[mine.pk]))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    staff = client_for(investigator(police))
    assert staff.get(reverse("cameras:requests")).status_code == 403
    FootageRequest.objects.filter(pk=mine.pk).update(status=FootageRequest.Status.AWAITING_APPROVAL)
    assert client_for(shop).get(reverse("cameras:request", args=[mine.pk])).status_code == 404


def test_the_signed_in_owner_answers_with_the_link_pages_buttons(asked):
    shop, _, mine, _ = asked
    shop_client = client_for(shop)
    front, door = mine.cameras.order_by("pk")
    page = shop_client.get(reverse("cameras:request", args=[mine.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert body.count("I have no footage of that time") == 2 and body.count("I decline") == 2
    assert "data-confirm=" in body and 'id="request-map"' in body
    # The deadline in the reader's time (portal_time's browser_time: UTC to the second, "Z").
    deadline = mine.deadline.astimezone(dt.UTC).isoformat(timespec="seconds")
    assert f'datetime="{deadline.replace("+00:00", "Z")}" data-local-time' in body
    assert reverse("cameras:request_upload", args=[mine.pk, front.pk]) in body
    front.refresh_from_db()
    assert front.status == Status.OPENED  # opened, as the emailed link counts it

    url = reverse("cameras:request_answer", args=[mine.pk])
    shop_client.post(url, {"camera": front.pk, "answer": "no_footage"})
    done = shop_client.post(url, {"camera": door.pk, "answer": "declined"}, follow=True)
    assert "your answer for Shop door was sent" in done.content.decode()
    statuses = dict(mine.cameras.values_list("camera__name", "status"))
    assert statuses == {"Shop front": Status.NO_FOOTAGE, "Shop door": Status.DECLINED}
    again = shop_client.post(url, {"camera": door.pk, "answer": "no_footage"}, follow=True)
    assert "already" in again.content.decode()
    listing = shop_client.get(reverse("cameras:requests")).content.decode()
    assert 'data-state="complete"' in listing
    page = shop_client.get(reverse("cameras:request", args=[mine.pk])).content.decode()
    assert "You answered for every camera" in page and "I decline" not in page
    assert reverse("cameras:request_receipt", args=[mine.pk]) in page


def test_the_upload_page_and_grant_work_from_the_account(asked):
    shop, _, mine, _ = asked
    shop_client = client_for(shop)
    front = mine.cameras.order_by("pk").first()
    page = shop_client.get(reverse("cameras:request_upload", args=[mine.pk, front.pk]))
    assert page.status_code == 200
    grant_url = reverse("cameras:request_grant", args=[mine.pk, front.pk])
    assert f'data-grant-url="{grant_url}"' in page.content.decode()
    grant = shop_client.post(grant_url)
    assert grant.status_code == 201 and grant.json()["max_files"] == mine.max_files
