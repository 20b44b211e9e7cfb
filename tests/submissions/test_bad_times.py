"""Impossible times on the public tip paths (API and the no-JavaScript form) answer a 400 that
names the time field, never a 500, and keep nothing."""

import pytest

from submissions.models import Tip
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = pytest.mark.django_db

IMPOSSIBLE = [
    "2026-02-30T10:00",  # no such day: parse_datetime raised
    "2025-13-01T10:00",
    "2025-01-01T24:30",
    "0000-01-01T10:00",  # year 0 does not exist
    "0001-01-01T00:00+05:00",  # year 0 once in UTC
    "1850-06-01T10:00",  # before 1900
    "9999-12-31T23:59-12:00",  # year 10000 once in UTC
    "3000-01-01T10:00",  # far future
    "2025-01-01T10:00+99:00",  # an offset no zone has
]


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_the_api_answers_400_naming_the_field(tips_agency, value):
    response = send_tip(tipster_client(), tips_agency, occurred_at=value)
    assert response.status_code == 400, (value, response.content[:300])
    assert response.json()["detail"].startswith("occurred_at: "), response.json()
    assert not Tip.objects.exists()


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_the_no_javascript_form_answers_400_naming_the_field(tips_agency, value):
    response = tipster_client().post(
        f"/tips/{tips_agency.slug}/",
        {
            "category": "drugs",
            "description": "Cars stop at number 12 for a minute, every evening.",
            "occurred_at": value,
            "address": "",
            "contact": "",
            "share_file_metadata": "no",
        },
    )
    assert response.status_code == 400, (value, response.content[:300])
    form = response.context["form"]
    assert "occurred_at" in form.errors, form.errors
    assert not Tip.objects.exists()


def test_a_real_time_in_1950_is_still_accepted(tips_agency):
    response = send_tip(tipster_client(), tips_agency, occurred_at="1950-06-01T10:00")
    assert response.status_code == 201, response.content
