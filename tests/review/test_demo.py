import io

import pytest
from django.core.management import call_command

from portal.models import AuditEvent, User
from portal.roles import Role
from review.models import ReviewSample

pytestmark = pytest.mark.django_db


def test_seed_demo_prints_a_reviewer_login_and_draws_this_months_sample_once():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    reviewer = User.objects.get(email="reviewer@riverton.example")
    assert reviewer.role == Role.COMMUNITY_REVIEWER and reviewer.agency.slug == "riverton-pd"
    text = out.getvalue()
    assert "Community reviewer" in text and "reviewer@riverton.example" in text
    sample = ReviewSample.objects.get()
    assert sample.agency == reviewer.agency
    kinds = set(sample.items.values_list("kind", flat=True))
    assert kinds == {"registry_search", "bodycam_recording"}  # the demo's search and recording
    assert f"/staff/review/{sample.pk}/" in text

    call_command("seed_demo", stdout=io.StringIO())
    assert ReviewSample.objects.count() == 1
    assert AuditEvent.objects.filter(action="review.sample_drawn").count() == 1
