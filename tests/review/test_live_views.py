"""Live-view sessions as a sample kind: drawn with the rest, shown as metadata only (who
watched, when, how long, why, the case hashed while open, whether the officer asked), never
the video; the access rules of the other kinds hold for them."""

import pytest
from django.urls import reverse

from livefeeds.models import ViewSession
from portal.models import AuditEvent
from portal.roles import Role
from review import services
from review.kinds import KINDS, case_shown
from tests.conftest import client_for
from tests.review.helpers import make_live_views, staff, this_month

pytestmark = pytest.mark.django_db


def test_the_draw_includes_the_months_live_views(police, other_police, settings):
    settings.REVIEW_SAMPLE_PER_KIND = 2
    mine = make_live_views(police, staff_started=3, officer_requested=1)
    make_live_views(other_police, staff_started=1, officer_requested=0)
    populations = services.populations_of(agency=police, month=this_month(police))
    assert "live_view" in KINDS
    assert sorted(populations["live_view"]) == sorted(str(s.pk) for s in mine)

    sample = services.review_sample_create(agency=police, month=this_month(police))
    recorded = services.sample_recorded(sample=sample)
    assert len(recorded["live_view"]) == 2
    assert set(recorded["live_view"]) <= {str(s.pk) for s in mine}
    assert services.sample_redraw(sample=sample) == recorded
    (event,) = AuditEvent.objects.filter(action="review.sample_drawn", agency=police)
    assert event.details["items"]["live_view"] == recorded["live_view"]


def test_a_reviewer_sees_a_live_views_metadata_and_never_its_video(police):
    sessions = make_live_views(police, staff_started=1, officer_requested=1)
    sample = services.review_sample_create(agency=police, month=this_month(police))
    reviewer = staff(police, full_name="Remy Reviewer")
    client = client_for(reviewer)
    by_id = {str(s.pk): s for s in sessions}
    for item in sample.items.filter(kind="live_view"):
        session = by_id[item.object_id]
        response = client.get(reverse("review:item", args=[item.pk]))
        assert response.status_code == 200
        text = response.content.decode()
        assert "Sam Supervisor (Supervisor)" in text
        assert session.viewer.email not in text
        assert "Olive Officer" in text
        assert session.reason in text
        # The incident number is hashed as the public log hashes it (no closed case holds it).
        assert session.case_ref not in text
        assert case_shown(police, session.case_ref) in text
        assert "metadata only" in text
        assert "<video" not in text and "/hls/" not in text and "/media/" not in text
        assert session.token_hash not in text
        assert "Officer-requested (Watch me)" in text
        facts = {str(k): v for k, v in KINDS["live_view"].facts(police, item.object_id)}
        assert str(facts["Officer-requested (Watch me)"]) == ("yes" if session.alert_id else "no")
        assert facts["Length (minutes)"] == "0"
    opened = AuditEvent.objects.filter(action="review.item_opened", actor=reviewer)
    assert opened.count() == 2


def test_live_view_items_keep_the_review_access_rules(police, other_police, resident):
    make_live_views(police, staff_started=1, officer_requested=0)
    make_live_views(other_police, staff_started=1, officer_requested=0)
    sample = services.review_sample_create(agency=police, month=this_month(police))
    theirs = services.review_sample_create(agency=other_police, month=this_month(other_police))
    item = sample.items.get(kind="live_view")
    other_item = theirs.items.get(kind="live_view")

    reviewer = client_for(staff(police))
    assert reviewer.get(reverse("review:item", args=[item.pk])).status_code == 200
    assert reviewer.get(reverse("review:item", args=[other_item.pk])).status_code == 404
    # The supervisor who watched, an investigator and a resident may not open the item.
    for user in (staff(police, Role.SUPERVISOR), staff(police, Role.INVESTIGATOR), resident):
        assert client_for(user).get(reverse("review:item", args=[item.pk])).status_code == 403
    # An admin sees the sample, not the item.
    admin = client_for(staff(police, Role.AGENCY_ADMIN))
    assert admin.get(reverse("review:item", args=[item.pk])).status_code == 403
    # A session of another agency is no fact of this one.
    assert KINDS["live_view"].facts(police, other_item.object_id) is None
    assert ViewSession.objects.count() == 2
