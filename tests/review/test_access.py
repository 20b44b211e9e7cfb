"""Reviewers see their agency's samples and nothing else: no item outside them, nothing after
the access ends, nothing of another agency, no other staff page; every opening is audited."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from portal.roles import Role
from review.models import SampledItem
from tests.conftest import client_for
from tests.review.helpers import drawn, staff

pytestmark = pytest.mark.django_db


def _item(sample, kind):
    return sample.items.filter(kind=kind).first()


def test_a_reviewer_opens_an_item_of_the_sample_and_sees_its_metadata_only(police):
    sample = drawn(police, searches=2, recordings=1)
    reviewer = staff(police, full_name="Remy Reviewer")
    client = client_for(reviewer)

    listing = client.get(reverse("review:index"))
    assert listing.status_code == 200
    assert reverse("review:sample", args=[sample.pk]) in listing.content.decode()
    page = client.get(reverse("review:sample", args=[sample.pk])).content.decode()
    for item in sample.items.all():
        assert reverse("review:item", args=[item.pk]) in page

    search_item = _item(sample, "registry_search")
    text = client.get(reverse("review:item", args=[search_item.pk])).content.decode()
    from registry.models import CameraSearch

    search = CameraSearch.objects.get(pk=search_item.object_id)
    assert search.reason in text
    assert search.actor.full_name in text
    assert search.actor.email not in text  # staff by name and role, no address
    assert search.case_number not in text and "h:" in text  # the open case's number is hashed
    opened = AuditEvent.objects.filter(action="review.item_opened", actor=reviewer)
    assert opened.count() == 1
    assert opened.get().details["object_id"] == search_item.object_id

    recording_item = _item(sample, "bodycam_recording")
    text = client.get(reverse("review:item", args=[recording_item.pk])).content.decode()
    assert "metadata only" in text
    assert "<video" not in text and "/media/" not in text


def test_an_item_not_in_any_sample_of_the_agency_is_404(police, other_police):
    mine = drawn(police, searches=1, recordings=0)
    theirs = drawn(other_police, searches=1, recordings=0)
    reviewer = staff(police)
    client = client_for(reviewer)
    missing = SampledItem.objects.order_by("-pk").first().pk + 100
    assert client.get(reverse("review:item", args=[missing])).status_code == 404
    other_item = theirs.items.get()
    assert client.get(reverse("review:item", args=[other_item.pk])).status_code == 404
    assert client.post(reverse("review:item", args=[other_item.pk]), {}).status_code == 404
    assert client.get(reverse("review:sample", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("review:sample", args=[mine.pk])).status_code == 200
    assert not AuditEvent.objects.filter(
        action="review.item_opened", target_id=str(other_item.pk)
    ).exists()


def test_after_the_access_ends_the_items_are_403_and_the_refusal_is_audited(police):
    sample = drawn(police, searches=1, recordings=0)
    reviewer = staff(police)
    client = client_for(reviewer)
    item = sample.items.get()
    assert client.get(reverse("review:item", args=[item.pk])).status_code == 200
    sample.access_until = timezone.now() - dt.timedelta(seconds=1)
    sample.save(update_fields=["access_until"])
    assert client.get(reverse("review:item", args=[item.pk])).status_code == 403
    response = client.post(
        reverse("review:item", args=[item.pk]), {"outcome": "within_policy", "text": ""}
    )
    assert response.status_code == 403
    assert not item.findings.exists()
    denied = AuditEvent.objects.filter(
        action="access.denied", actor=reviewer, target_id=str(item.pk)
    )
    assert denied.count() == 2 and {e.outcome for e in denied} == {"denied"}
    page = client.get(reverse("review:sample", args=[sample.pk])).content.decode()
    assert "access has ended" in page
    assert reverse("review:item", args=[item.pk]) not in page


def test_a_reviewer_sees_no_other_staff_page(police):
    drawn(police, searches=1, recordings=1)
    client = client_for(staff(police))
    for name in (
        "evidence:list",
        "evidence:case_list",
        "registry:search",
        "registry:map",
        "registry_requests:list",
        "devices:list",
        "devices:recordings",
        "submissions_staff:inbox",
        "portal:audit_log",
    ):
        assert client.get(reverse(name)).status_code in (403, 404), name
    home = client.get(reverse("portal:dashboard")).content.decode()
    assert reverse("review:index") in home
    assert reverse("evidence:list") not in home and reverse("registry:search") not in home


def test_an_agency_admin_sees_the_sample_and_summary_but_not_the_items(police):
    sample = drawn(police, searches=2, recordings=0)
    admin = staff(police, Role.AGENCY_ADMIN)
    client = client_for(admin)
    page = client.get(reverse("review:sample", args=[sample.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="findings-summary"' in text
    for item in sample.items.all():
        assert item.object_id in text
        assert reverse("review:item", args=[item.pk]) not in text
        assert client.get(reverse("review:item", args=[item.pk])).status_code == 403
    assert AuditEvent.objects.filter(action="review.sample_viewed", actor=admin).exists()


def test_other_staff_and_residents_cannot_open_the_review_pages(police, resident):
    sample = drawn(police, searches=1, recordings=0)
    item = sample.items.get()
    for user in (staff(police, Role.INVESTIGATOR), staff(police, Role.AUDITOR), resident):
        client = client_for(user)
        assert client.get(reverse("review:index")).status_code == 403
        assert client.get(reverse("review:sample", args=[sample.pk])).status_code == 403
        assert client.get(reverse("review:item", args=[item.pk])).status_code == 403


def test_a_community_reviewer_belongs_to_a_police_agency_and_holds_only_the_review(
    police, prosecution
):
    from django.core.exceptions import ValidationError

    from portal.roles import Cap, capabilities_of
    from portal.services import check_role_fits_agency
    from review.policies import REVIEW_ITEMS

    check_role_fits_agency(Role.COMMUNITY_REVIEWER, police)
    with pytest.raises(ValidationError):
        check_role_fits_agency(Role.COMMUNITY_REVIEWER, prosecution)
    assert capabilities_of(Role.COMMUNITY_REVIEWER) == {Cap.STAFF_AREA, REVIEW_ITEMS}
