"""The staff dashboard's work-queue cards and the header's badges, against real rows."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from submissions.models import Tip
from tests.conftest import client_for
from tests.factories import stored_item
from tests.workbench.conftest import make_day, make_tip
from workbench.selectors import badge_counts, dashboard_cards

pytestmark = pytest.mark.django_db(transaction=True)


def cards_of(user) -> dict:
    return {card.key: card for card in dashboard_cards(actor=user)}


def urls(card) -> list[str]:
    return [item.url for item in card.items]


def test_an_investigator_sees_each_queue_with_its_count_and_first_rows(day):
    cards = cards_of(day.investigator)
    assert set(cards) == {
        "new_tips",
        "tips_for_me",
        "footage_today",
        "requests_due",
        "my_cases",
        "shares_acknowledged",
    }
    new = cards["new_tips"]
    assert new.count == 2
    assert sorted(urls(new)) == sorted(
        reverse("submissions_staff:tip", args=[t.reference]) for t in day.new_tips
    )
    mine = cards["tips_for_me"]
    assert mine.count == 1 and urls(mine) == [
        reverse("submissions_staff:tip", args=[day.my_tip.reference])
    ]
    today = cards["footage_today"]
    assert today.count == 2
    assert sorted(urls(today)) == sorted(
        reverse("evidence:detail", args=[i.pk]) for i in day.items_today
    )
    due = cards["requests_due"]
    assert due.count == 1
    assert urls(due) == [reverse("registry_requests:detail", args=[day.request.pk])]
    assert due.items[0].urgent  # due within 48 hours
    assert "0 of 1 answered" in due.items[0].label
    cases = cards["my_cases"]
    assert cases.count == 2  # RPD-1 and RPD-2 (the shared one), not the other agency's
    assert reverse("evidence:case_detail", args=[day.case.pk]) in urls(cases)
    acked = cards["shares_acknowledged"]
    assert acked.count == 1 and "Riverton DA" in acked.items[0].label


def test_a_supervisor_also_sees_the_approvals_waiting_for_them(day):
    cards = cards_of(day.supervisor)
    approvals = cards["approvals"]
    assert approvals.count == 1
    assert urls(approvals) == [reverse("evidence:deletion_decide", args=[day.deletion.pk])]
    # An investigator approves nothing; the supervisor who asked is not asked to approve it.
    assert "approvals" not in cards_of(day.investigator)


def test_another_agencys_rows_never_appear(day):
    cards = cards_of(day.other_investigator)
    assert cards["new_tips"].count == 1
    assert (
        cards["new_tips"]
        .items[0]
        .label.startswith(day.other_investigator.agency.tips.get().reference)
    )
    assert cards["tips_for_me"].count == 0
    assert cards["footage_today"].count == 1
    assert cards["footage_today"].items[0].label == "elsewhere.mp4"
    assert cards["requests_due"].count == 0
    assert [i.label for i in cards["my_cases"].items] == ["EPD-1 · Burglary"]
    assert cards["shares_acknowledged"].count == 0


def test_the_dashboard_page_shows_the_cards_with_links(day):
    page = client_for(day.investigator).get(reverse("portal:dashboard"))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="card-new_tips"' in text and 'data-count="2"' in text
    assert reverse("submissions_staff:tip", args=[day.my_tip.reference]) in text
    assert reverse("registry_requests:detail", args=[day.request.pk]) in text
    assert "auth.login_succeeded" not in text.split('id="card-', 1)[1].split("</section>")[0]


def test_the_cards_show_times_on_the_agency_clock_with_utc_beside_them(day):
    summer = dt.datetime(2026, 7, 4, 22, 30, tzinfo=dt.UTC)  # EDT
    winter = dt.datetime(2026, 12, 4, 23, 15, tzinfo=dt.UTC)  # EST
    client = client_for(day.investigator)
    for at, shown in (
        (summer, "2026-07-04 18:30 America/New_York (22:30 UTC)"),
        (winter, "2026-12-04 18:15 America/New_York (23:15 UTC)"),
    ):
        Tip.objects.filter(pk=day.my_tip.pk).update(received_at=at)
        text = client.get(reverse("portal:dashboard")).content.decode()
        assert f"{day.my_tip.get_status_display()} · {shown}</span>" in text


def test_the_header_badges_count_new_tips_requests_due_and_unread(day):
    counts = badge_counts(user=day.investigator)
    assert counts == {"tips": 2, "requests": 1, "notifications": 0}
    page = client_for(day.investigator).get(reverse("evidence:list"))
    text = page.content.decode()
    assert 'title="new tips">2</span>' in text and 'title="due soon">1</span>' in text


def test_the_dashboards_query_count_does_not_grow_with_rows(
    police, other_police, prosecution, make_staff, django_assert_max_num_queries
):
    few = make_day(
        police=police, other_police=other_police, prosecution=prosecution, make_staff=make_staff
    )
    client = client_for(few.supervisor)
    client.get(reverse("portal:dashboard"))  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("portal:dashboard")).status_code == 200
    # Many more rows of every kind, in the same agency.
    for i in range(12):
        make_tip(police, description=f"more {i}")
        stored_item(agency=police, original_filename=f"more{i}.mp4")
    with django_assert_max_num_queries(len(small)):
        page = client.get(reverse("portal:dashboard"))
    assert page.status_code == 200
    assert 'data-count="14"' in page.content.decode()  # 2 new tips + 12


def test_a_cards_count_past_the_cap_reads_999_plus():
    """Counts stop at COUNT_CAP (bounded_count gives cap + 1 past it): the card says so."""
    from workbench.selectors import COUNT_CAP, Card

    assert Card(key="k", title="t", count=COUNT_CAP, more_url="/").count_text == "999"
    assert Card(key="k", title="t", count=COUNT_CAP + 1, more_url="/").count_text == "999+"


def test_counts_past_the_cap_read_999_plus_on_the_cards_and_the_badges(day, monkeypatch):
    """Every card and badge count is bounded (bounded_count at COUNT_CAP): past it, the page
    prints "999+" in the card, its "See all" link and the header's badges."""
    from workbench import selectors as workbench_selectors

    capped = []

    def more_than_the_cap(rows, cap):
        capped.append(cap)
        return cap + 1

    monkeypatch.setattr(workbench_selectors, "bounded_count", more_than_the_cap)
    text = client_for(day.investigator).get(reverse("portal:dashboard")).content.decode()
    assert capped and set(capped) == {workbench_selectors.COUNT_CAP}
    my_cases = text.split('id="card-my_cases"', 1)[1].split("</section>", 1)[0]
    assert '<span class="count" data-count="1000">999+</span>' in my_cases
    assert "See all 999+" in my_cases
    assert 'title="new tips">999+</span>' in text and 'title="due soon">999+</span>' in text
