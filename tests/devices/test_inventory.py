"""The inventory services and selectors: training gate, assignments, credentials, scoping."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from devices import selectors
from devices import services as ds
from devices.models import Device, DeviceAssignment, DeviceCredential
from portal.models import AuditEvent
from portal.roles import Role
from portal.tokens import token_matches
from tests.devices.factories import DeviceFactory, assigned, officer_of, trained
from tests.evidence.cases_helpers import verified
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(make_staff):
    return verified(make_staff(role=Role.SUPERVISOR))


@pytest.fixture
def dispatcher(make_staff):
    return verified(make_staff(role=Role.DISPATCHER))


@pytest.fixture
def device(police):
    return DeviceFactory(agency=police)


def _last(action):
    return AuditEvent.objects.filter(action=action).order_by("-seq").first()


def test_a_supervisor_adds_a_device_with_its_audit_row(supervisor):
    device = ds.device_add(actor=supervisor, serial=" BWC-1 ", make="Axis", model="W110")
    assert device.agency == supervisor.agency and device.serial == "BWC-1"
    row = _last("device.added")
    assert row.target_id == str(device.pk) and row.actor == supervisor


def test_a_serial_is_unique_per_agency(supervisor):
    ds.device_add(actor=supervisor, serial="BWC-1", make="Axis", model="W110")
    with pytest.raises(ValidationError):
        ds.device_add(actor=supervisor, serial="bwc-1", make="Axis", model="W110")


def test_checkout_without_current_training_is_refused_and_audited(supervisor, device, police):
    officer = UserFactory(agency=police, role=Role.OFFICER)
    trained(officer, days_left=-1)  # expired yesterday
    with pytest.raises(ds.CheckoutRefused, match="training"):
        ds.device_check_out(actor=supervisor, device=device, officer=officer)
    assert not DeviceAssignment.objects.exists()
    row = _last("device.checkout_refused")
    assert row.outcome == AuditEvent.Outcome.DENIED
    assert row.target_id == str(device.pk) and row.details["officer"] == officer.pk


def test_training_expiring_today_is_still_current(supervisor, device, police):
    officer = UserFactory(agency=police, role=Role.OFFICER)
    trained(officer, days_left=0)
    assignment = ds.device_check_out(actor=supervisor, device=device, officer=officer)
    assert assignment.officer == officer and _last("device.checked_out") is not None


def test_recorded_training_opens_the_gate(supervisor, device, police):
    officer = UserFactory(agency=police, role=Role.OFFICER)
    today = selectors.agency_today(police)
    ds.training_record(
        actor=supervisor,
        officer=officer,
        course="BWC basics",
        completed_on=today,
        expires_on=today + dt.timedelta(days=365),
    )
    assert _last("device.training_recorded").target_id == str(officer.pk)
    ds.device_check_out(actor=supervisor, device=device, officer=officer)


def test_training_cannot_expire_before_completion(supervisor, police):
    officer = UserFactory(agency=police, role=Role.OFFICER)
    today = selectors.agency_today(police)
    with pytest.raises(ValidationError):
        ds.training_record(
            actor=supervisor,
            officer=officer,
            course="BWC",
            completed_on=today,
            expires_on=today - dt.timedelta(days=1),
        )


@pytest.mark.parametrize("status", [Device.Status.RETIRED, Device.Status.IN_REPAIR])
def test_a_device_out_of_service_is_not_checked_out(supervisor, police, status):
    device = DeviceFactory(agency=police, status=status)
    with pytest.raises(ds.CheckoutRefused):
        ds.device_check_out(actor=supervisor, device=device, officer=officer_of(police))
    assert _last("device.checkout_refused") is not None


def test_a_device_has_one_open_assignment(supervisor, device, police):
    ds.device_check_out(actor=supervisor, device=device, officer=officer_of(police))
    with pytest.raises(ds.CheckoutRefused, match="already checked out"):
        ds.device_check_out(actor=supervisor, device=device, officer=officer_of(police))
    assert DeviceAssignment.objects.filter(device=device).count() == 1


def test_the_database_backs_one_open_assignment_per_device(device, police):
    assigned(device, officer_of(police))
    with pytest.raises(IntegrityError), transaction.atomic():
        assigned(device, officer_of(police))


def test_an_officer_wears_one_device_at_a_time(supervisor, device, police):
    officer = officer_of(police)
    ds.device_check_out(actor=supervisor, device=device, officer=officer)
    with pytest.raises(ds.CheckoutRefused):
        ds.device_check_out(actor=supervisor, device=DeviceFactory(agency=police), officer=officer)


def test_check_in_closes_the_assignment_and_officer_at_reads_the_history(
    supervisor, device, police
):
    officer = officer_of(police)
    out = ds.device_check_out(actor=supervisor, device=device, officer=officer)
    during = timezone.now()
    back = ds.device_check_in(actor=supervisor, device=device)
    assert back.pk == out.pk and back.checked_in_at is not None
    assert selectors.officer_at(device, during) == officer
    assert selectors.officer_at(device, out.checked_out_at - dt.timedelta(seconds=1)) is None
    assert selectors.officer_at(device, back.checked_in_at + dt.timedelta(seconds=1)) is None
    assert _last("device.checked_in").target_id == str(device.pk)
    with pytest.raises(ValidationError):
        ds.device_check_in(actor=supervisor, device=device)


def test_a_checked_out_device_is_checked_in_before_leaving_service(supervisor, device, police):
    ds.device_check_out(actor=supervisor, device=device, officer=officer_of(police))
    with pytest.raises(ValidationError):
        ds.device_update(actor=supervisor, device=device, status=Device.Status.IN_REPAIR)


def test_status_and_firmware_changes_are_audited(supervisor, device):
    ds.device_update(
        actor=supervisor, device=device, status=Device.Status.IN_REPAIR, firmware="12.0"
    )
    device.refresh_from_db()
    assert device.status == Device.Status.IN_REPAIR and device.firmware == "12.0"
    assert _last("device.changed").details["status"] == ["in_service", "in_repair"]


def test_rotation_revokes_the_old_credential(supervisor, device):
    first, old_token = ds.credential_issue(actor=supervisor, device=device)
    second, new_token = ds.credential_issue(actor=supervisor, device=device)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    assert old_token != new_token and token_matches(new_token, second.token_hash)
    assert DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).count() == 1
    assert _last("device.credential_issued").details["replaces"] == first.pk
    assert selectors.credential_for_token(old_token) is None
    assert selectors.credential_for_token(new_token) == second


def test_a_revoked_token_no_longer_matches(supervisor, device):
    _, token = ds.credential_issue(actor=supervisor, device=device)
    assert selectors.credential_for_token(token) is not None
    ds.credential_revoke(actor=supervisor, device=device)
    assert selectors.credential_for_token(token) is None
    assert selectors.credential_for_token("") is None
    assert _last("device.credential_revoked").details["why"] == "revoked"


def test_retiring_a_device_revokes_its_credential(supervisor, device):
    _, token = ds.credential_issue(actor=supervisor, device=device)
    ds.device_update(actor=supervisor, device=device, status=Device.Status.RETIRED)
    assert selectors.credential_for_token(token) is None
    with pytest.raises(ValidationError):
        ds.credential_issue(actor=supervisor, device=device)


def test_stranger_gets_404(device, make_staff, other_police):
    stranger = verified(make_staff(role=Role.SUPERVISOR, agency=other_police))
    with pytest.raises(Http404):
        selectors.device_get_for(actor=stranger, id=device.pk)
    with pytest.raises(Http404):
        selectors.officer_get_for(actor=stranger, id=officer_of(device.agency).pk)
    assert device not in selectors.devices_for(actor=stranger)


def test_stranger_cannot_write_through_the_services(device, make_staff, other_police, police):
    stranger = verified(make_staff(role=Role.SUPERVISOR, agency=other_police))
    with pytest.raises(PermissionDenied):
        ds.credential_issue(actor=stranger, device=device)
    with pytest.raises(PermissionDenied):
        ds.device_check_out(actor=stranger, device=device, officer=officer_of(police))


def test_dispatcher_reads_but_gets_403_on_writes(device, dispatcher, police):
    assert selectors.device_get_for(actor=dispatcher, id=device.pk) == device
    with pytest.raises(PermissionDenied):
        selectors.device_get_for(actor=dispatcher, id=device.pk, write=True)
    with pytest.raises(PermissionDenied):
        selectors.officer_get_for(actor=dispatcher, id=officer_of(police).pk, write=True)
    with pytest.raises(PermissionDenied):
        ds.device_check_out(actor=dispatcher, device=device, officer=officer_of(police))
    with pytest.raises(PermissionDenied):
        ds.credential_issue(actor=dispatcher, device=device)
    with pytest.raises(PermissionDenied):
        ds.device_add(actor=dispatcher, serial="X", make="Axis", model="W110")


def test_an_investigator_sees_no_inventory(make_staff, device):
    investigator = verified(make_staff(role=Role.INVESTIGATOR))
    with pytest.raises(Http404):
        selectors.device_get_for(actor=investigator, id=device.pk)


def test_a_dispatcher_is_not_an_officer_who_wears_a_camera(supervisor, dispatcher, device):
    assert dispatcher not in selectors.officers_for(actor=supervisor)
    with pytest.raises(PermissionDenied):
        ds.device_check_out(actor=supervisor, device=device, officer=dispatcher)


def test_inventory_filters(supervisor, police):
    out_trained = DeviceFactory(agency=police)
    out_lapsed = DeviceFactory(agency=police)
    idle = DeviceFactory(agency=police, status=Device.Status.IN_REPAIR)
    assigned(out_trained, officer_of(police))
    lapsed = UserFactory(agency=police, role=Role.OFFICER)
    trained(lapsed, days_left=-5)
    assigned(out_lapsed, lapsed)

    def found(**filters):
        return set(
            selectors.devices_for(actor=supervisor, filters=selectors.InventoryFilters(**filters))
        )

    assert found() == {out_trained, out_lapsed, idle}
    assert found(status="in_repair") == {idle}
    assert found(assigned="yes") == {out_trained, out_lapsed}
    assert found(assigned="no") == {idle}
    assert found(training="current") == {out_trained}
    assert found(training="expired") == {out_lapsed}
