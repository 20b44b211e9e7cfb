"""A year of demo history for `seed_demo`, so the goals dashboard and the public page show real
trends: CAD incidents, the shifts and recordings of three units, tips and footage requests,
backdated across twelve months. These are facts (rows the metrics count), never figures; the
figures and the goals' baselines are then computed from them as from any other facts.

Made straight in the tables where the services stamp the time of the action (a dispatch, a
recording's start, a tip's arrival, an owner's answer), since those are the times the history
needs; actions whose time is only the audit row's (assigning and actioning a tip, filing a
recording under a category) go through the services, so the audit log holds them honestly as
done today. Idempotent: the history is made once, recognised by its incident numbers.
"""

import datetime as dt
import hashlib
import random
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from devices.models import CadIncident, Device, DeviceAssignment, Recording
from evidence import services as evidence_services
from evidence.models import EvidenceItem, RetentionCategory, Source
from portal import storage
from portal.management.commands.seed_demo import demo_staff_user
from portal.models import Agency, User
from portal.roles import Role
from registry.models import (
    Camera,
    FootageRequest,
    FootageRequestCamera,
    FootageRequestRecipient,
)
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import ReceiptStyle, Tip, TipCategory
from transparency import services
from transparency.models import Goal

PREFIX = "H-"  # history incidents' numbers: H-<yyyymm>-<n>
MONTHS = 12
# Unit -> (the officer who rides as it, the share of its incidents recorded a year ago and now).
UNITS = {
    "2A31": (("officer@riverton.example", "Omar Officer"), 0.70, 0.95),
    "2A32": (("officer2@riverton.example", "Olu Officer"), 0.55, 0.85),
    "3B11": (("officer3@riverton.example", "Oona Officer"), 0.40, 0.65),
}
INCIDENTS_PER_UNIT = 5
TIPS_PER_MONTH = 8
REQUESTS_PER_MONTH = 3
CATEGORY = "Patrol recording (demo history)"
PLACEHOLDER = b"demo history: a placeholder for a body-camera recording, not a video\n"


def _as_verified(user: User) -> User:
    user.is_verified = lambda: True  # type: ignore[attr-defined]  # as django-otp would
    return user


def _month_start(agency: Agency, back: int) -> dt.datetime:
    this = services.current_month(agency=agency)
    start, _ = services.month_range(agency=agency, month=services.month_add(this, -back))
    return start


def _trend(first: float, last: float, back: int) -> float:
    """From `first` a year ago to `last` this month, in a straight line."""
    return first + (last - first) * (MONTHS - back) / MONTHS


def seed_history(*, agencies, users, stdout) -> None:
    police: Agency = agencies["police"]
    supervisor = users.get(Role.SUPERVISOR)
    investigator = users.get(Role.INVESTIGATOR)
    if supervisor is None or investigator is None:
        return
    supervisor = _as_verified(User.objects.get(pk=supervisor.pk))
    investigator = _as_verified(User.objects.get(pk=investigator.pk))
    if not CadIncident.objects.filter(agency=police, incident_id__startswith=PREFIX).exists():
        rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
        _incidents_and_recordings(police, supervisor, rng)
        _tips(police, investigator, rng)
        _footage_requests(police, investigator, rng)
        stdout.write("Made a year of demo history (incidents, recordings, tips, requests).")
    services.figures_backfill(agency=police)
    _goals(police, supervisor, stdout)


def _devices(police: Agency, supervisor: User) -> dict[str, tuple[Device, User]]:
    worn = {}
    for unit, ((email, name), _a, _b) in UNITS.items():
        officer = demo_staff_user(email, name, Role.OFFICER, police)
        device, _ = Device.objects.get_or_create(
            agency=police,
            serial=f"BWC-HIST-{unit}",
            defaults={"make": "Axis", "model": "W110", "firmware": "demo"},
        )
        worn[unit] = (device, officer)
    return worn


def _incidents_and_recordings(police: Agency, supervisor: User, rng: random.Random) -> None:
    zone = zoneinfo.ZoneInfo(police.time_zone)
    now = timezone.now()
    worn = _devices(police, supervisor)
    category, _ = RetentionCategory.objects.get_or_create(
        agency=police, name=CATEGORY, defaults={"days": None}
    )
    filed: list[EvidenceItem] = []
    for back in range(MONTHS, -1, -1):
        start = _month_start(police, back)
        uncategorised = _trend(0.60, 0.10, back)
        n = 0
        for unit, (_who, first, last) in UNITS.items():
            device, officer = worn[unit]
            for i in range(INCIDENTS_PER_UNIT):
                day = 1 + i * 5 + rng.randrange(4)
                sent = (start + dt.timedelta(days=day - 1, hours=9 + rng.randrange(10))).astimezone(
                    zone
                )
                if sent > now - dt.timedelta(hours=6):
                    continue
                n += 1
                number = f"{PREFIX}{start:%Y%m}-{n:02d}"
                with transaction.atomic():
                    CadIncident.objects.create(
                        agency=police,
                        incident_id=number,
                        incident_type=rng.choice(["Traffic stop", "Disturbance", "Welfare check"]),
                        units=[unit],
                        dispatched_at=sent,
                        cleared_at=sent + dt.timedelta(minutes=50),
                        last_update_at=sent + dt.timedelta(minutes=50),
                        payload={"demo": "history"},
                        received_at=sent,
                    )
                    DeviceAssignment.objects.create(
                        device=device,
                        officer=officer,
                        checked_out_at=sent - dt.timedelta(hours=1),
                        checked_out_by=supervisor,
                        checked_in_at=sent + dt.timedelta(hours=3),
                        checked_in_by=supervisor,
                        unit=unit,
                    )
                    if rng.random() >= _trend(first, last, back):
                        continue
                    item = _placeholder_item(police, sent + dt.timedelta(hours=3, minutes=30))
                    Recording.objects.create(
                        agency=police,
                        device=device,
                        device_recording_id=number,
                        officer=officer,
                        started_at=sent + dt.timedelta(minutes=4),
                        stopped_at=sent + dt.timedelta(minutes=34),
                        trigger_on_source=rng.choice(["button", "holster", "dispatch"]),
                        trigger_on_at=sent + dt.timedelta(minutes=4),
                        device_sha256=hashlib.sha256(PLACEHOLDER).hexdigest(),
                        cad_event_id=number,
                        manifest={"demo": "history"},
                        status=Recording.Status.COMPLETE,
                        item=item,
                    )
                if rng.random() >= uncategorised:
                    filed.append(item)
    for item in filed:
        evidence_services.item_retention_set(actor=supervisor, item=item, category=category)


def _placeholder_item(police: Agency, received: dt.datetime) -> EvidenceItem:
    """The recording's evidence item: placeholder bytes really in storage, marked unplayable
    with the reason, so nothing pretends it is a video."""
    key = storage.new_object_key(f"evidence/{police.slug}/originals")
    storage.save_once(key, ContentFile(PLACEHOLDER))
    return EvidenceItem.objects.create(
        agency=police,
        source=Source.BODYCAM,
        original_key=key,
        original_filename="history.mp4",
        size=len(PLACEHOLDER),
        sha256=hashlib.sha256(PLACEHOLDER).hexdigest(),
        media_type="application/octet-stream",
        state=EvidenceItem.State.UNPLAYABLE,
        state_reason="Demo history: placeholder bytes standing for a recording, not a video.",
        uploaded_by_label="demo history",
        received_at=received,
    )


def _tips(police: Agency, investigator: User, rng: random.Random) -> None:
    seed_categories(police)
    categories = list(TipCategory.objects.filter(agency=police))
    now = timezone.now()
    for back in range(MONTHS, -1, -1):
        start = _month_start(police, back)
        for i in range(TIPS_PER_MONTH):
            at = start + dt.timedelta(days=i * 3 + rng.randrange(3), hours=rng.randrange(24))
            if at > now - dt.timedelta(hours=1):
                continue
            tip = Tip.objects.create(
                reference=f"H{at:%y%m}{i:02d}{rng.randrange(10**6):06d}",
                agency=police,
                category=rng.choice(categories),
                description="Demo history tip.",
                occurred_at=at - dt.timedelta(hours=2),
                receipt_hash=f"demo-history:{rng.getrandbits(128):032x}",
                receipt_style=ReceiptStyle.DIGITS,
                received_at=at,
            )
            if rng.random() < _trend(0.30, 0.70, back):
                tip = tip_services.tip_assign(actor=investigator, tip=tip, assignee=investigator)
                tip_services.tip_transition(actor=investigator, tip=tip, to="actionable")


def _footage_requests(police: Agency, investigator: User, rng: random.Random) -> None:
    cameras = list(Camera.objects.select_related("owner").order_by("created_at")[:3])
    if not cameras:
        return
    now = timezone.now()
    for back in range(MONTHS, 0, -1):
        start = _month_start(police, back)
        for i in range(REQUESTS_PER_MONTH):
            sent = start + dt.timedelta(days=3 + i * 8, hours=10)
            request = FootageRequest.objects.create(
                agency=police,
                requested_by=investigator,
                case_number=f"{PREFIX}{sent:%Y%m}-R{i}",
                reason="Demo history request.",
                window_start=sent - dt.timedelta(days=1, minutes=30),
                window_end=sent - dt.timedelta(days=1),
                deadline=sent + dt.timedelta(days=7),
                max_file_bytes=1 << 30,
                status=FootageRequest.Status.SENT,
                sent_at=sent,
            )
            hours = max(1.0, _trend(40, 8, back) * rng.uniform(0.7, 1.3))
            for j, camera in enumerate(cameras):
                recipient, _ = FootageRequestRecipient.objects.get_or_create(
                    request=request, owner=camera.owner
                )
                answered = sent + dt.timedelta(hours=hours * (1 + j))
                status = rng.choice(
                    [FootageRequestCamera.Status.UPLOADED, FootageRequestCamera.Status.NO_FOOTAGE]
                )
                FootageRequestCamera.objects.create(
                    request=request,
                    recipient=recipient,
                    camera=camera,
                    status=status if answered < now else FootageRequestCamera.Status.EXPIRED,
                    answered_at=answered if answered < now else None,
                )


def _goals(police: Agency, supervisor: User, stdout) -> None:
    this = services.current_month(agency=police)
    period = (services.month_add(this, -5), services.month_add(this, 6))
    baseline = (services.month_add(this, -MONTHS), services.month_add(this, -6))
    wanted = [
        ("Record every dispatched incident", "cad_incidents_recorded_percent", "higher", 90, True),
        (
            "Leave no recording without a category",
            "recordings_uncategorised_percent",
            "lower",
            10,
            False,
        ),
        ("Act on more tips", "tips_actioned_percent", "higher", 60, True),
        (
            "Answer footage requests faster",
            "footage_median_hours_to_first_answer",
            "lower",
            12,
            False,
        ),
    ]
    for title, metric, direction, target, public in wanted:
        if Goal.objects.filter(agency=police, title=title).exists():
            continue
        try:
            services.goal_create(
                actor=supervisor,
                data=services.GoalInput(
                    title=title,
                    why="Demo goal, on a year of demo history.",
                    metric=metric,
                    direction=direction,
                    target_value=float(target),
                    period_start=period[0],
                    period_end=period[1],
                    baseline_start=baseline[0],
                    baseline_end=baseline[1],
                    public=public,
                ),
            )
        except ValidationError as exc:
            stdout.write(f"  goal “{title}” not set: {exc.messages}")
            continue
        stdout.write(f"  goal “{title}” set{' (public)' if public else ''}.")
