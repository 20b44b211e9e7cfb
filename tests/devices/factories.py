"""Body-camera test objects, made directly (tests about inventory services use the services)."""

import datetime as dt

import factory
from django.utils import timezone

from devices.auth import stream_key_for
from devices.models import Device, DeviceAssignment, DeviceCredential, TrainingRecord
from devices.selectors import agency_today
from portal.roles import Role
from portal.tokens import token_digest, token_issue
from tests.factories import UserFactory


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    serial = factory.Sequence(lambda n: f"BWC-{n:05d}")
    make = "Axis"
    model = "W110"
    firmware = "11.2.5"


def officer_of(agency, **fields):
    """A patrol officer of the agency with current body-camera training."""
    officer = UserFactory(agency=agency, role=Role.OFFICER, **fields)
    trained(officer)
    return officer


def trained(officer, *, days_left: int = 300) -> TrainingRecord:
    today = agency_today(officer.agency)  # training expires at the agency's midnight
    return TrainingRecord.objects.create(
        agency=officer.agency,
        officer=officer,
        course="Body-worn camera operation",
        completed_on=today - dt.timedelta(days=30),
        expires_on=today + dt.timedelta(days=days_left),
        recorded_by=officer,
    )


def assigned(device: Device, officer, *, at=None) -> DeviceAssignment:
    """The device checked out to the officer (directly, not through the service)."""
    return DeviceAssignment.objects.create(
        device=device,
        officer=officer,
        checked_out_at=at or timezone.now(),
        checked_out_by=officer,
    )


def credential_for(device: Device, *, by=None) -> str:
    """A live credential for the device; returns the token the device would hold."""
    token, digest = token_issue()
    DeviceCredential.objects.create(
        device=device,
        token_hash=digest,
        stream_key_hash=token_digest(stream_key_for(token)),
        created_by=by or UserFactory(agency=device.agency),
    )
    return token
