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


def make_live_views(
    agency, *, staff_started=2, officer_requested=1, case_ref="CAD-2026-0042", stop=True
):
    """Live views of a recording body camera, made through the live-feed services: some a
    supervisor started, some the officer asked for with Watch me; ended by the viewer (`stop`)
    or left open."""
    from devices.models import Device
    from devices.services.triggers import TriggerIn, trigger_receive
    from livefeeds import services as live_services
    from tests.devices.factories import DeviceFactory, credential_for

    device = DeviceFactory(agency=agency)
    assigned(device, officer_of(agency, full_name="Olive Officer"))
    credential_for(device)
    Device.objects.filter(pk=device.pk).update(
        state=Device.State.RECORDING, last_heartbeat_at=timezone.now()
    )
    device.refresh_from_db()
    supervisor = staff(agency, Role.SUPERVISOR, full_name="Sam Supervisor")
    sessions = []
    for i in range(staff_started + officer_requested):
        reason = f"Subject advancing on officer {i}"
        category = "officer_safety" if i % 2 == 0 else "incident"
        if i >= staff_started:
            trigger_receive(
                agency=agency,
                event=TriggerIn(kind="watch_me", occurred_at=timezone.now()),
                device=device,
            )
            reason, category = live_services.WATCH_ME_REASON, "officer_requested"
        session, _token = live_services.view_start(
            actor=supervisor,
            device=device,
            reason=reason,
            case_ref=case_ref,
            reason_category=category,
        )
        if stop:
            session = live_services.view_end(actor=supervisor, session=session)
        sessions.append(session)
    return sessions
