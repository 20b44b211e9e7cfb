"""Redis unreachable: the tips line still takes tips, and its abuse limits still hold.

Rate-limit counters, the hour's address salt and the proof-of-work replay guard fall back to
the web process's memory; the new-tip notification cannot be queued and is left to the sweep.
"""

import json

import pytest

from submissions.models import Tip
from tests.outage import redis_unreachable
from tests.submissions.helpers import send_tip, solved, tip_body, tipster_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    with redis_unreachable(settings):
        yield


def test_a_tip_is_accepted_and_stored_while_redis_is_down(tips_agency, redis_down):
    client = tipster_client()
    response = send_tip(client, tips_agency)
    assert response.status_code == 201, response.content
    tip = Tip.objects.get(reference=response.json()["tip"])
    assert tip.notified_at is None  # not queued: the sweep tells the reviewers later


def test_a_spent_proof_of_work_is_refused_again_while_redis_is_down(tips_agency, redis_down):
    client = tipster_client()
    body = tip_body(tips_agency, altcha=solved(client))
    first = client.post("/api/tips/", json.dumps(body), content_type="application/json")
    again = client.post("/api/tips/", json.dumps(body), content_type="application/json")
    assert first.status_code == 201, first.content
    assert again.status_code == 403, again.content
    assert b"already used" in again.content


def test_the_rate_limit_holds_with_half_the_allowance_while_redis_is_down(
    tips_agency, settings, redis_down
):
    settings.TIPS_RATE_CREATE_PER_HOUR = 2  # one a process while counted in memory
    client = tipster_client()
    assert send_tip(client, tips_agency).status_code == 201
    assert send_tip(client, tips_agency).status_code == 429
