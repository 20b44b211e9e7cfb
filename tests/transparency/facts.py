"""Recorded facts for the transparency tests, made through the real services of every app."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.utils import timezone

from devices.models import Alert
from devices.services import offload
from devices.services import triggers as ts
from evidence import services as evidence_services
from evidence.models import RetentionCategory
from livefeeds import services as live_services
from portal.roles import Role
from registry.footage import services as footage_services
from registry.models import FootageRequestCamera
from review import services as review_services
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import TipCategory, TipStatus
from tests.devices.factories import assigned, officer_of
from tests.devices.helpers import Camera, manifest
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.factories import AgencyFactory, UserFactory, add_totp_device, stored_item
from tests.registry.cameras import owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search
from tests.review.helpers import make_live_views


@dataclass
class Facts:
    agency: object
    owners: list = field(default_factory=list)
    cameras: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    case_numbers: list = field(default_factory=list)


def staff(agency, role):
    user = UserFactory(role=role, agency=agency)
    add_totp_device(user)
    return verified(user)


def seed(agency, *, searches=6, owners=6, tips=5, recordings=6) -> Facts:
    """A month of an agency's work: searches, two footage requests and owners' answers, tips,
    body-camera recordings, triggers and alerts, a share, deletions both ways, a legal hold."""
    facts = Facts(agency=agency)
    investigator = staff(agency, Role.INVESTIGATOR)
    supervisor = staff(agency, Role.SUPERVISOR)
    second_supervisor = staff(agency, Role.SUPERVISOR)
    for i in range(owners):
        person = owner()
        facts.owners.append(person)
        facts.cameras.append(
            camera_facing_incident(person, name=f"Porch camera of owner {i}", direction_deg=90)
        )
    found = None
    for _i in range(searches):
        found = search(investigator, case_number="RPD-2026-0042")
    near = search(supervisor, case_number="RPD-2026-0099", reason_category="violent_crime")
    # One request of every camera, some answered; one of a single camera, answered at once.
    big = ask(investigator, found, facts.cameras, case_number="RPD-2026-0042")
    small = ask(
        supervisor,
        near,
        facts.cameras[:1],
        case_number="RPD-2026-0099",
        window_start=timezone.now() - dt.timedelta(hours=5),
        window_end=timezone.now() - dt.timedelta(hours=4, minutes=30),
    )
    facts.requests += [big, small]
    facts.case_numbers += ["RPD-2026-0042", "RPD-2026-0099"]
    for person, answer in zip(
        facts.owners[1:4], ["declined", "declined", "no_footage"], strict=False
    ):
        recipient = big.recipients.get(owner=person)
        rc = FootageRequestCamera.objects.get(request=big, recipient=recipient)
        footage_services.footage_answer(recipient=recipient, request_camera_id=rc.pk, answer=answer)
    recipient = small.recipients.get(owner=facts.owners[0])
    rc = FootageRequestCamera.objects.get(request=small, recipient=recipient)
    footage_services.footage_answer(
        recipient=recipient, request_camera_id=rc.pk, answer="no_footage"
    )

    # Tips: `tips` received, one marked actionable.
    if not TipCategory.objects.filter(agency=agency).exists():
        seed_categories(agency)
    category = TipCategory.objects.filter(agency=agency).first()
    made = [
        tip_services.tip_create(
            agency=agency,
            category=category,
            description=f"Tip number {i}",
            occurred_at=timezone.now() - dt.timedelta(days=1),
        ).tip
        for i in range(tips)
    ]
    tip = tip_services.tip_assign(actor=investigator, tip=made[0], assignee=investigator)
    tip_services.tip_transition(actor=investigator, tip=tip, to=TipStatus.ACTIONABLE)

    # Body cameras: recordings started by the holster and one by the button; triggers, alerts.
    camera = Camera(agency)
    assigned(camera.device, officer_of(agency))
    for i in range(recordings):
        source = "button" if i == 0 else "holster"
        body = manifest(data=f"recording {i}".encode())
        body["trigger_on"]["source"] = source
        offload.recording_announce(device=camera.device, manifest=body)
    for _i in range(2):
        ts.trigger_receive(
            agency=agency,
            event=ts.TriggerIn(
                kind="taser_armed",
                occurred_at=timezone.now(),
                device_serial=camera.device.serial,
            ),
        )
    first = Alert.objects.filter(agency=agency).order_by("raised_at").first()
    ts.alert_close(actor=supervisor, alert_id=first.pk, state="false", reason="Test arming")

    # A share with a prosecuting office.
    office = AgencyFactory(kind="prosecution")
    prosecutor = UserFactory(role=Role.PROSECUTOR, agency=office)
    add_totp_device(prosecutor)
    item = stored_item(agency=agency)
    case = make_case(lead=investigator, items=[item])
    make_share(case=case, by=investigator, office=office, recipients=[prosecutor])

    # Deletions: one by two people, one by the retention schedule; a legal hold placed.
    doomed = stored_item(agency=agency)
    request = evidence_services.deletion_request(actor=supervisor, item=doomed, reason="Duplicate")
    evidence_services.deletion_approve(actor=second_supervisor, request=request)
    short = RetentionCategory.objects.create(agency=agency, name="Non-evidential", days=1)
    RetentionCategory.objects.create(agency=agency, name="Homicide", days=None)
    stored_item(
        agency=agency,
        retention_category=short,
        received_at=timezone.now() - dt.timedelta(days=3),
    )
    evidence_services.retention_apply()
    held = stored_item(agency=agency)
    evidence_services.item_legal_hold_set(
        actor=supervisor, item=held, hold=True, reason="Litigation hold"
    )

    # Live views: five a supervisor started and stopped, one the officer asked for (Watch me),
    # and two left open until the sweep expired them (their full 15 minutes), a month ahead.
    make_live_views(agency, staff_started=5, officer_requested=1)
    make_live_views(agency, staff_started=2, officer_requested=0, stop=False)
    live_services.views_close_expired(now=timezone.now() + dt.timedelta(hours=1))

    # Community review: this month's sample drawn, and two reviewers' findings on it.
    sample = review_services.review_sample_create(
        agency=agency,
        month=review_services.month_start(
            timezone.now().astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date()
        ),
    )
    first, second = staff(agency, Role.COMMUNITY_REVIEWER), staff(agency, Role.COMMUNITY_REVIEWER)
    drawn_searches = list(sample.items.filter(kind="registry_search"))
    for drawn in drawn_searches:
        review_services.finding_record(actor=first, item=drawn, outcome="within_policy", text="")
    review_services.finding_record(
        actor=second, item=drawn_searches[0], outcome="serious_concern", text="No reason given"
    )
    recording = sample.items.filter(kind="bodycam_recording").first()
    if recording is not None:
        review_services.finding_record(
            actor=first, item=recording, outcome="concern", text="Stopped early"
        )
    return facts
