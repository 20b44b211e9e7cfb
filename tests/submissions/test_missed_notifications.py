"""A tip taken while Redis was down still reaches its reviewers: the sweep queues the notice."""

import datetime as dt
import time

from submissions.models import Tip
from submissions.tasks import notify_missed_tips
from tests.outage import redis_unreachable
from tests.submissions.helpers import send_tip, tipster_client


def test_the_sweep_notifies_reviewers_of_a_tip_taken_while_redis_was_down(
    celery_worker, tips_agency, settings
):
    with redis_unreachable(settings):
        response = send_tip(tipster_client(), tips_agency)
    assert response.status_code == 201, response.content
    tip = Tip.objects.get(reference=response.json()["tip"])
    assert tip.notified_at is None
    assert notify_missed_tips() == 0  # too young: its notice may still be on its way

    Tip.objects.filter(pk=tip.pk).update(received_at=tip.received_at - dt.timedelta(minutes=3))
    assert notify_missed_tips() == 1  # the beat job, run here; a real worker sends it
    deadline = time.monotonic() + 60
    while not Tip.objects.filter(pk=tip.pk, notified_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the reviewers were never told"
        time.sleep(0.25)
