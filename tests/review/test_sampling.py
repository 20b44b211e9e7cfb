"""The monthly draw: reproducible from its seed, the seed derived from a published checkpoint,
both audited, a month drawn once (by the beat job or the command)."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.audit import verify_chain
from portal.checkpoints import audit_checkpoints_take
from portal.models import AuditEvent
from review import services
from review.models import ReviewSample
from tests.factories import AgencyFactory
from tests.review.helpers import drawn, make_facts, this_month

pytestmark = pytest.mark.django_db


def test_the_same_seed_over_the_same_facts_draws_the_same_sample(police, settings):
    settings.REVIEW_SAMPLE_PER_KIND = 4
    make_facts(police, searches=10, recordings=3)
    month = this_month(police)
    populations = services.populations_of(agency=police, month=month)
    assert len(populations["registry_search"]) == 10 and len(populations["bodycam_recording"]) == 3

    sample = services.review_sample_create(agency=police, month=month)
    recorded = services.sample_recorded(sample=sample)
    assert len(recorded["registry_search"]) == 4 and len(recorded["bodycam_recording"]) == 3
    assert set(recorded["registry_search"]) <= set(populations["registry_search"])
    # Drawn again from the recorded seed: the same ids in the same order.
    assert services.sample_redraw(sample=sample) == recorded
    # The order the facts are listed in does not matter, only the seed.
    shuffled = {k: list(reversed(v)) for k, v in populations.items()}
    assert services.sample_draw(seed=sample.seed, populations=shuffled, per_kind=4) == recorded
    other = services.sample_draw(seed="f" * 64, populations=populations, per_kind=4)
    assert other["registry_search"] != recorded["registry_search"]


def test_a_given_seed_draws_what_the_same_seed_draws_anywhere(police, settings):
    settings.REVIEW_SAMPLE_PER_KIND = 2
    make_facts(police, searches=6, recordings=0)
    month = this_month(police)
    expected = services.sample_draw(
        seed="ab" * 32,
        populations=services.populations_of(agency=police, month=month),
        per_kind=2,
    )
    sample = services.review_sample_create(agency=police, month=month, seed="AB" * 32)
    assert sample.seed == "ab" * 32 and sample.seed_basis == {"source": "given"}
    assert services.sample_recorded(sample=sample) == expected


def test_the_seed_comes_from_the_agencys_published_audit_checkpoint(police):
    make_facts(police, searches=2, recordings=0)
    (checkpoint,) = [c for c in audit_checkpoints_take() if c.agency_id == police.pk]
    month = this_month(police)
    sample = services.review_sample_create(agency=police, month=month)
    text = f"canvass.review-sample|{police.slug}|{month:%Y-%m}|{checkpoint.head_hash}"
    assert sample.seed == hashlib.sha256(text.encode()).hexdigest()
    assert sample.seed_basis["source"] == "audit_checkpoint"
    assert sample.seed_basis["seq"] == checkpoint.seq
    assert sample.seed_basis["checkpoint_day"] == checkpoint.day.isoformat()


def test_the_seed_and_every_item_drawn_are_audited_in_the_chain(police):
    sample = drawn(police, searches=3, recordings=2)
    (event,) = AuditEvent.objects.filter(action="review.sample_drawn")
    assert event.agency_id == police.pk and event.target_id == str(sample.pk)
    assert event.details["seed"] == sample.seed
    assert event.details["seed_basis"] == sample.seed_basis
    assert event.details["items"] == services.sample_recorded(sample=sample)
    assert sum(len(v) for v in event.details["items"].values()) == 5
    assert verify_chain().ok


def test_a_month_is_drawn_once_and_the_command_draws_it_again_to_check(police):
    make_facts(police, searches=3, recordings=1)
    month = f"{this_month(police):%Y-%m}"
    out = io.StringIO()
    call_command("review_sample", "--month", month, "--agency", police.slug, stdout=out)
    sample = ReviewSample.objects.get(agency=police)
    assert f"seed {sample.seed}" in out.getvalue()

    again = io.StringIO()
    call_command("review_sample", "--month", month, "--agency", police.slug, stdout=again)
    assert "drawn again from it, the same items" in again.getvalue()
    assert ReviewSample.objects.count() == 1
    assert AuditEvent.objects.filter(action="review.sample_drawn").count() == 1
    with pytest.raises(services.SampleExists):
        services.review_sample_create(agency=police, month=this_month(police))


def test_the_command_refuses_a_bad_month_a_future_month_and_a_bad_seed(police):
    for args in (
        ["--month", "2026-13"],
        ["--month", "November"],
        ["--month", f"{services.month_add(this_month(police), 2):%Y-%m}"],
        ["--month", f"{this_month(police):%Y-%m}", "--seed", "not-hex"],
    ):
        with pytest.raises(CommandError):
            call_command("review_sample", *args, "--agency", police.slug, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("review_sample", "--month", "2026-11", "--agency", "nowhere")
    assert not ReviewSample.objects.exists()


def test_the_beat_job_draws_last_month_of_every_police_agency_once(police, other_police):
    AgencyFactory(kind="prosecution")
    now = timezone.now()
    made = services.samples_draw_due(now=now)
    assert {s.agency_id for s in made} == {police.pk, other_police.pk}
    assert all(s.month == services.month_add(this_month(police), -1) for s in made)
    assert services.samples_draw_due(now=now) == []
    later = now + dt.timedelta(days=40)
    assert len(services.samples_draw_due(now=later)) == 2


def test_the_beat_job_waits_for_the_first_checkpoint_signed_after_the_month(police):
    make_facts(police, searches=2, recordings=0)
    (checkpoint,) = [c for c in audit_checkpoints_take() if c.agency_id == police.pk]
    # This month has not ended when the checkpoint was signed: its draw waits.
    month = this_month(police)
    _start, end = services.month_range(agency=police, month=month)
    assert services.samples_draw_due(now=end + dt.timedelta(hours=2)) == []
    assert not ReviewSample.objects.exists()

    # Last month had ended: its draw stands on that checkpoint.
    (sample,) = services.samples_draw_due()
    last = services.month_add(month, -1)
    assert sample.month == last and sample.seed_basis["seq"] == checkpoint.seq
    text = f"canvass.review-sample|{police.slug}|{last:%Y-%m}|{checkpoint.head_hash}"
    assert sample.seed == hashlib.sha256(text.encode()).hexdigest()


def test_the_beat_schedule_runs_the_monthly_draw(police, settings):
    from celery import current_app

    entry = settings.CELERY_BEAT_SCHEDULE["draw-review-samples"]
    assert entry["task"] in current_app.tasks
    assert current_app.tasks[entry["task"]].apply().get() == 1
    assert ReviewSample.objects.get().month == services.previous_month(agency=police)
