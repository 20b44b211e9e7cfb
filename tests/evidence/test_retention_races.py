"""Deletion under concurrency, on real Postgres connections: two approvers at once, an item
linked to an open case while a deletion is under way, and the tombstone afterwards (custody,
the audit chain that `manage.py audit_verify` checks)."""

import datetime as dt
import threading
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from evidence import services
from evidence.cases import services as case_services
from evidence.models import CaseItem, DeletionRequest, EvidenceItem
from evidence.services import retention as retention_services
from portal.models import AuditEvent
from portal.roles import Role
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(fn, results: dict, name: str):
    def run():
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each side got
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


@pytest.fixture
def supervisors(make_staff):
    return [verified(make_staff(role=Role.SUPERVISOR)) for _ in range(3)]


def _old_item(police, supervisors, days_old=400):
    category = services.retention_category_create(
        actor=supervisors[0], name=f"Short {timezone.now().timestamp()}", days=30
    )
    item = stored_item(agency=police, retention_category=category)
    EvidenceItem.objects.filter(pk=item.pk).update(
        received_at=timezone.now() - dt.timedelta(days=days_old)
    )
    item.refresh_from_db()
    return item


def test_two_approvers_at_once_delete_once(police, supervisors):
    requester, first, second = supervisors
    item = stored_item(agency=police)
    request = services.deletion_request(actor=requester, item=item, reason="Duplicate")
    barrier = threading.Barrier(2, timeout=30)
    results: dict = {}

    def approve(actor):
        def go():
            barrier.wait()
            return services.deletion_approve(
                actor=actor, request=DeletionRequest.objects.get(pk=request.pk)
            )

        return go

    threads = [_in_thread(approve(a), results, a.label) for a in (first, second)]
    for t in threads:
        t.join(60)
    outcomes = sorted(type(r).__name__ for r in results.values())
    assert outcomes == ["EvidenceItem", "ValidationError"], results
    assert AuditEvent.objects.filter(action="evidence.deleted", target_id=str(item.pk)).count() == 1
    request.refresh_from_db()
    assert request.state == DeletionRequest.State.APPROVED


def test_an_item_linked_to_an_open_case_after_the_jobs_selection_is_kept(
    police, make_staff, supervisors, monkeypatch
):
    item = _old_item(police, supervisors)
    lead = verified(make_staff())
    case = make_case(lead=lead)
    real_due = services.retention_due

    def due_then_linked(**kwargs):
        chosen = real_due(**kwargs)
        assert item.pk in {i.pk for i in chosen}
        case_services.case_item_add(actor=lead, case=case, item=item)  # between select and delete
        return chosen

    monkeypatch.setattr(retention_services, "retention_due", due_then_linked)
    assert services.retention_apply() == {}
    item.refresh_from_db()
    assert item.state == EvidenceItem.State.READY
    assert not AuditEvent.objects.filter(action="evidence.deleted", target_id=str(item.pk)).exists()


def test_linking_while_the_job_deletes_waits_and_is_refused(
    police, make_staff, supervisors, monkeypatch
):
    """The job holds the item's row while it writes the tombstone; a link arriving then waits,
    sees the item deleted and refuses, rather than filing a deleted item into an open case."""
    item = _old_item(police, supervisors)
    lead = verified(make_staff())
    case = make_case(lead=lead)
    tombstoned, release = threading.Event(), threading.Event()
    real_tombstone = retention_services._tombstone

    def slow_tombstone(**kwargs):
        keys = real_tombstone(**kwargs)
        tombstoned.set()
        assert release.wait(30)  # still inside the job's transaction, row locked
        return keys

    monkeypatch.setattr(retention_services, "_tombstone", slow_tombstone)
    results: dict = {}
    job = _in_thread(services.retention_apply, results, "job")
    assert tombstoned.wait(30)
    link = _in_thread(
        lambda: case_services.case_item_add(actor=lead, case=case, item=item), results, "link"
    )
    link.join(1.5)
    assert link.is_alive(), "the link did not wait for the deleting transaction"
    release.set()
    job.join(30)
    link.join(30)
    assert isinstance(results["link"], ValidationError), results
    assert "deleted" in str(results["link"])
    assert not CaseItem.objects.filter(case=case, item=item).exists()


def test_a_tombstone_keeps_its_custody_and_the_audit_chain_verifies(police, supervisors, signed_in):
    requester, approver, _ = supervisors
    item = stored_item(agency=police, original_filename="doorbell.mp4")
    request = services.deletion_request(actor=requester, item=item, reason="Wrong address")
    services.deletion_approve(actor=approver, request=request)
    # Approving again (a second tab) is refused without a second tombstone.
    with pytest.raises(ValidationError):
        services.deletion_approve(actor=supervisors[2], request=request)

    page = signed_in(approver).get(reverse("evidence:custody_report", args=[item.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "evidence.deleted" in text and item.sha256 in text
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "ok" in out.getvalue().lower() or "intact" in out.getvalue().lower(), out.getvalue()
