"""Findings: one per reviewer and item, validated (outcome, length, a concern says what),
kept as plain text, audited, and summed on the sample's page."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from portal.models import AuditEvent
from portal.roles import Role
from review import services
from review.models import Finding
from tests.conftest import client_for
from tests.review.helpers import drawn, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(police):
    return drawn(police, searches=2, recordings=1)


def _post(client, item, **data):
    return client.post(reverse("review:item", args=[item.pk]), data)


def test_a_reviewer_records_a_finding_once_and_it_is_audited(police, sample):
    reviewer = staff(police)
    client = client_for(reviewer)
    item = sample.items.filter(kind="registry_search").first()
    response = _post(client, item, outcome="concern", text="The reason does not fit the case.")
    assert response.status_code == 302
    assert response["Location"] == reverse("review:sample", args=[sample.pk])
    finding = Finding.objects.get()
    assert (finding.item, finding.reviewer, finding.outcome) == (item, reviewer, "concern")
    event = AuditEvent.objects.get(action="review.finding_recorded")
    assert event.actor == reviewer and event.details["outcome"] == "concern"
    assert event.details["object_id"] == item.object_id

    # A second post changes nothing: a finding is written once.
    again = _post(client, item, outcome="within_policy", text="")
    assert again.status_code == 200
    assert Finding.objects.get().outcome == "concern"
    with pytest.raises(ValidationError):
        services.finding_record(actor=reviewer, item=item, outcome="within_policy", text="")

    # Another reviewer records their own; the sample page sums them.
    client_for(staff(police)).post(
        reverse("review:item", args=[item.pk]), {"outcome": "within_policy", "text": ""}
    )
    page = client.get(reverse("review:sample", args=[sample.pk])).content.decode()
    row = page.split('<tr data-kind="registry_search">', 1)[1].split("</tr>", 1)[0]
    assert '<td data-outcome="concern">1</td>' in row
    assert '<td data-outcome="within_policy">1</td>' in row
    assert '<td data-outcome="serious_concern">0</td>' in row


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "fine", "text": "x"}, "outcome"),
        ({"outcome": "", "text": "x"}, "outcome"),
        ({"text": "no outcome at all"}, "outcome"),
        ({"outcome": "concern", "text": "   "}, "text"),
        ({"outcome": "serious_concern"}, "text"),
        ({"outcome": "concern", "text": "x" * 4001}, "text"),
    ],
    ids=[
        "unknown-outcome",
        "empty-outcome",
        "missing-outcome",
        "blank-concern",
        "serious-without-text",
        "oversized",
    ],
)
def test_a_bad_finding_is_refused_with_the_form_and_nothing_is_stored(police, sample, data, field):
    item = sample.items.first()
    response = _post(client_for(staff(police)), item, **data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Finding.objects.exists()
    assert not AuditEvent.objects.filter(action="review.finding_recorded").exists()


def test_the_service_refuses_what_the_form_would(police, sample):
    reviewer = staff(police)
    item = sample.items.first()
    for outcome, text in (("maybe", "x"), ("concern", ""), ("concern", "x" * 4001)):
        with pytest.raises(ValidationError):
            services.finding_record(actor=reviewer, item=item, outcome=outcome, text=text)
    with pytest.raises(PermissionDenied):
        services.finding_record(
            actor=staff(police, Role.AGENCY_ADMIN), item=item, outcome="concern", text="x"
        )
    assert not Finding.objects.exists()


def test_html_in_a_finding_stays_text(police, sample):
    reviewer = staff(police)
    client = client_for(reviewer)
    item = sample.items.first()
    text = '<script>alert("x")</script><b>bold</b> & "quotes"\nsecond line'
    assert _post(client, item, outcome="serious_concern", text=text).status_code == 302
    assert Finding.objects.get().text == text
    page = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page


def test_invisible_direction_tricks_are_defused(police, sample):
    item = sample.items.first()
    _post(client_for(staff(police)), item, outcome="concern", text="abc\u202edef")
    assert "\u202e" not in Finding.objects.get().text
