"""Retention categories, legal hold and two-person deletion (through the real services)."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from evidence import services
from evidence.cases import services as case_services
from evidence.models import Case, Derivative, EvidenceItem
from evidence.tasks import apply_retention
from portal import storage
from portal.models import AuditEvent
from portal.roles import Role
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db


def _old_item(agency, category, days_old, **fields):
    item = stored_item(agency=agency, retention_category=category, **fields)
    EvidenceItem.objects.filter(pk=item.pk).update(
        received_at=timezone.now() - dt.timedelta(days=days_old)
    )
    item.refresh_from_db()
    return item


def _with_derivative(item):
    key = storage.new_object_key(f"evidence/{item.agency.slug}/derivatives")
    storage.save_once(key, ContentFile(b"poster bytes"))
    Derivative.objects.create(
        item=item, kind=Derivative.Kind.POSTER, name="poster.jpg", key=key, size=12,
        sha256="0" * 64, media_type="image/jpeg",
    )  # fmt: skip
    return key


def _exists(key):
    from django.core.files.storage import default_storage

    return default_storage.exists(key)


@pytest.fixture
def supervisors(make_staff):
    return verified(make_staff(role=Role.SUPERVISOR)), verified(make_staff(role=Role.SUPERVISOR))


@pytest.fixture
def one_year(police, supervisors):
    return services.retention_category_create(
        actor=supervisors[0], name="Tip media that led nowhere", days=365
    )


def test_item_in_an_open_case_outlives_its_category_and_goes_once_the_case_closes(
    police, make_staff, one_year, supervisors
):
    kept = _old_item(police, one_year, 400)
    loose = _old_item(police, one_year, 400)
    young = _old_item(police, one_year, 10)
    lead = verified(make_staff())
    case = make_case(lead=lead, items=[kept])

    assert apply_retention() == 1

    for item in (kept, loose, young):
        item.refresh_from_db()
    assert kept.state != EvidenceItem.State.DELETED and _exists(kept.original_key)
    assert young.state != EvidenceItem.State.DELETED
    assert loose.state == EvidenceItem.State.DELETED and not _exists(loose.original_key)
    report = AuditEvent.objects.get(action="retention.applied")
    assert [row["item"] for row in report.details["deleted"]] == [str(loose.pk)]
    assert len(mail.outbox) == 2  # both supervisors of the agency
    assert str(loose.pk) in mail.outbox[0].body

    case_services.case_update(actor=lead, case=case, status=Case.Status.CLOSED)
    assert apply_retention() == 1
    kept.refresh_from_db()
    assert kept.state == EvidenceItem.State.DELETED


def test_legal_hold_keeps_an_item_past_retention_and_is_audited(police, one_year, supervisors):
    held = _old_item(police, one_year, 400)
    services.item_legal_hold_set(
        actor=supervisors[0], item=held, hold=True, reason="Civil suit 2024-CV-1"
    )
    assert apply_retention() == 0
    held.refresh_from_db()
    assert held.legal_hold and _exists(held.original_key)
    assert AuditEvent.objects.filter(
        action="evidence.legal_hold_set", target_id=str(held.pk), reason="Civil suit 2024-CV-1"
    ).exists()


def test_indefinite_category_is_never_applied(police, supervisors):
    homicide = services.retention_category_create(actor=supervisors[0], name="Homicide", days=None)
    item = _old_item(police, homicide, 5000)
    assert apply_retention() == 0
    item.refresh_from_db()
    assert item.state == EvidenceItem.State.READY


def test_two_person_deletion_leaves_a_tombstone_and_removes_the_stored_objects(police, supervisors):
    requester, approver = supervisors
    item = stored_item(agency=police)
    derivative_key = _with_derivative(item)
    sha256, size = item.sha256, item.size

    request = services.deletion_request(actor=requester, item=item, reason="Duplicate upload")
    assert _exists(item.original_key)
    services.deletion_approve(actor=approver, request=request)

    item.refresh_from_db()
    assert item.state == EvidenceItem.State.DELETED and item.deleted_at is not None
    assert (item.sha256, item.size) == (sha256, size)
    assert not _exists(item.original_key) and not _exists(derivative_key)
    assert not item.derivatives.exists()
    custody = list(
        AuditEvent.objects.filter(target_id=str(item.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert custody[-2:] == ["evidence.deletion_requested", "evidence.deleted"]
    deleted = AuditEvent.objects.get(action="evidence.deleted", target_id=str(item.pk))
    assert deleted.details["sha256"] == sha256
    assert deleted.details["requested_by"] == requester.label
    assert deleted.details["approved_by"] == approver.label
    assert deleted.details["derivatives"][0]["name"] == "poster.jpg"


def test_one_person_alone_cannot_delete(police, supervisors):
    requester, _ = supervisors
    item = stored_item(agency=police)
    request = services.deletion_request(actor=requester, item=item, reason="Duplicate")
    with pytest.raises(PermissionDenied):
        services.deletion_approve(actor=requester, request=request)
    item.refresh_from_db()
    assert item.state == EvidenceItem.State.READY and _exists(item.original_key)
    refused = AuditEvent.objects.get(action="evidence.deletion_refused", target_id=str(item.pk))
    assert refused.outcome == "denied"
    assert "own request" in refused.details["why"]


def test_an_investigator_can_neither_request_nor_approve(police, make_staff, supervisors):
    investigator = verified(make_staff())
    item = stored_item(agency=police)
    with pytest.raises(PermissionDenied):
        services.deletion_request(actor=investigator, item=item, reason="x")
    request = services.deletion_request(actor=supervisors[0], item=item, reason="Duplicate")
    with pytest.raises(PermissionDenied):
        services.deletion_approve(actor=investigator, request=request)


def test_a_supervisor_of_another_agency_cannot_approve(
    police, other_police, make_staff, supervisors
):
    item = stored_item(agency=police)
    request = services.deletion_request(actor=supervisors[0], item=item, reason="Duplicate")
    stranger = verified(make_staff(role=Role.SUPERVISOR, agency=other_police))
    with pytest.raises(PermissionDenied):
        services.deletion_approve(actor=stranger, request=request)
    assert _exists(item.original_key)


def test_manual_deletion_of_an_item_in_an_open_case_or_on_hold_is_refused_with_the_reason(
    police, make_staff, supervisors
):
    requester, approver = supervisors
    in_case = stored_item(agency=police)
    make_case(lead=verified(make_staff()), items=[in_case], number="24-HOM-1")
    with pytest.raises(ValidationError, match="open case 24-HOM-1"):
        services.deletion_request(actor=requester, item=in_case, reason="x")

    held = stored_item(agency=police)
    request = services.deletion_request(actor=requester, item=held, reason="Duplicate")
    services.item_legal_hold_set(actor=requester, item=held, hold=True, reason="Court order 7")
    with pytest.raises(ValidationError, match="legal hold"):
        services.deletion_approve(actor=approver, request=request)
    assert _exists(held.original_key) and _exists(in_case.original_key)


def test_retention_category_names_and_days_are_checked(supervisors):
    supervisor = supervisors[0]
    services.retention_category_create(actor=supervisor, name="Traffic", days=30)
    with pytest.raises(ValidationError):
        services.retention_category_create(actor=supervisor, name="Traffic", days=60)
    with pytest.raises(ValidationError):
        services.retention_category_create(actor=supervisor, name="Bad", days=0)
    with pytest.raises(ValidationError):
        services.retention_category_create(actor=supervisor, name="  ", days=3)


def test_an_item_that_failed_or_whose_original_is_not_stored_is_never_due(police, one_year):
    """Retention removes evidence someone could have looked at, never a run's leftovers."""
    due = _old_item(police, one_year, days_old=400)
    _old_item(police, one_year, days_old=400, state=EvidenceItem.State.FAILED)
    _old_item(police, one_year, days_old=400, sha256="", state=EvidenceItem.State.REJECTED)
    assert [item.pk for item in services.retention_due()] == [due.pk]
