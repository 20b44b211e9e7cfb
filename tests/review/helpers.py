"""Facts to sample and reviewers to sample them, made through the real services."""

import zoneinfo

from django.utils import timezone

from devices.services import offload
from portal.roles import Role
from review import services
from tests.devices.factories import assigned, officer_of
from tests.devices.helpers import Camera, manifest
from tests.evidence.cases_helpers import verified
from tests.factories import UserFactory, add_totp_device
from tests.registry.requests_helpers import search


def staff(agency, role=Role.COMMUNITY_REVIEWER, **fields):
    user = UserFactory(role=role, agency=agency, **fields)
    add_totp_device(user)
    return verified(user)


def this_month(agency):
    return services.month_start(
        timezone.now().astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date()
    )


def make_facts(agency, *, searches=3, recordings=2):
    """`searches` registry searches and `recordings` body-camera recordings, this month."""
    investigator = staff(agency, Role.INVESTIGATOR)
    found = [
        search(investigator, case_number=f"RPD-2026-{i:04d}", reason=f"Burglary number {i}")
        for i in range(searches)
    ]
    camera = Camera(agency)
    assigned(camera.device, officer_of(agency))
    made = [
        offload.recording_announce(
            device=camera.device, manifest=manifest(data=f"recording {i}".encode())
        )
        for i in range(recordings)
    ]
    return found, made


def drawn(agency, **facts):
    make_facts(agency, **facts)
    return services.review_sample_create(agency=agency, month=this_month(agency))
