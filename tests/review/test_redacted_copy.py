"""A community reviewer plays the released redacted copy of a sampled body-camera recording
(solid fill, approved), audited in the item's custody; never a blurred copy, never the
original, never another agency's."""

import hashlib

import pytest
from django.urls import reverse

from devices.models import Recording
from evidence.selectors import custody_of
from portal.models import AuditEvent
from portal.roles import Role
from review import services
from tests.conftest import client_for
from tests.evidence.redaction.released import photo_item, redacted
from tests.review.helpers import make_facts, staff, this_month

pytestmark = pytest.mark.django_db


def _sampled_recording(agency, *, fill="solid", approved=True):
    """This month's sample over one recording whose evidence item has a redacted copy."""
    _searches, (recording,) = make_facts(agency, searches=0, recordings=1)
    item = photo_item(agency)
    Recording.objects.filter(pk=recording.recording.pk).update(item=item)
    lead = staff(agency, Role.INVESTIGATOR)
    boss = staff(agency, Role.SUPERVISOR)
    job = redacted(item, by=lead, fill=fill, approved_by=boss if approved else None)
    sample = services.review_sample_create(agency=agency, month=this_month(agency))
    return sample.items.get(kind="bodycam_recording"), item, job


def test_a_reviewer_plays_the_released_redacted_copy_and_it_is_audited(police):
    sampled, item, job = _sampled_recording(police)
    reviewer = staff(police)
    client = client_for(reviewer)
    url = reverse("review:item_redacted", args=[sampled.pk])
    page = client.get(reverse("review:item", args=[sampled.pk])).content.decode()
    assert url in page and "released: play it below" in page
    played = client.get(url)
    assert played.status_code == 200
    body = b"".join(played.streaming_content)
    assert hashlib.sha256(body).hexdigest() == job.output.sha256 != item.sha256
    row = custody_of(item=item).filter(action="review.redacted_copy_played").get()
    assert row.actor_id == reviewer.pk
    assert row.details["sha256"] == job.output.sha256
    assert row.details["recipe_sha256"] == job.recipe.sha256
    assert (
        AuditEvent.objects.filter(
            action="review.item_opened", actor=reviewer, target_id=str(sampled.pk)
        ).count()
        == 2
    )  # the page and the copy


@pytest.mark.parametrize(("fill", "approved"), [("blur", True), ("solid", False)])
def test_a_blurred_or_unapproved_copy_is_never_offered(police, fill, approved):
    sampled, item, _job = _sampled_recording(police, fill=fill, approved=approved)
    client = client_for(staff(police))
    page = client.get(reverse("review:item", args=[sampled.pk])).content.decode()
    assert "<video" not in page and "<img" not in page and "metadata only" in page
    assert client.get(reverse("review:item_redacted", args=[sampled.pk])).status_code == 404
    assert not custody_of(item=item).filter(action="review.redacted_copy_played").exists()


def test_another_agency_an_admin_and_other_staff_cannot_play_it(police, other_police):
    sampled, item, _job = _sampled_recording(police)
    url = reverse("review:item_redacted", args=[sampled.pk])
    assert client_for(staff(other_police)).get(url).status_code == 404
    assert client_for(staff(police, Role.AGENCY_ADMIN)).get(url).status_code == 403
    assert client_for(staff(police, Role.INVESTIGATOR)).get(url).status_code == 403
    assert not custody_of(item=item).filter(action="review.redacted_copy_played").exists()


def test_a_recording_flagged_do_not_disclose_is_never_played_to_a_reviewer(police):
    """A community reviewer is outside the agency: an item flagged "do not disclose" goes out
    in no form, its released redacted copy included (metadata only, 404 on the copy)."""
    sampled, item, _job = _sampled_recording(police)
    item.do_not_disclose, item.do_not_disclose_reason = True, "Ongoing covert operation"
    item.save(update_fields=["do_not_disclose", "do_not_disclose_reason"])
    client = client_for(staff(police))
    page = client.get(reverse("review:item", args=[sampled.pk])).content.decode()
    assert "<video" not in page and "<img" not in page and "metadata only" in page
    assert client.get(reverse("review:item_redacted", args=[sampled.pk])).status_code == 404
    assert not custody_of(item=item).filter(action="review.redacted_copy_played").exists()
