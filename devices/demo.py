"""Demo body camera for `seed_demo`: a trained patrol officer wearing a camera, and a recording
from the start of the shift with its GPS track, made by the simulator's own clip and track code and taken
through the same offload services the device API calls (the server is not running yet while
`make run` seeds). Prints a provisioning JSON so `manage.py bodycam` can play the camera live."""

import datetime as dt
import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from devices import services, simulator, tracks
from devices.models import (
    Alert,
    Device,
    DeviceAssignment,
    Recording,
    TrainingRecord,
    TriggerKind,
    TriggerSource,
)
from devices.services import triggers
from devices.services.offload import recording_announce, track_store
from evidence import services as evidence_services
from evidence.models import UploadGrant
from portal.management.commands.seed_demo import demo_staff_user
from portal.models import User
from portal.roles import Role

SERIAL = "BWC-DEMO-01"
OFFICER = ("officer@riverton.example", "Omar Officer")
RECORDING_ID = "BWC-DEMO-01-0001"
UNIT = "2A31"
TRIGGER_SOURCE = "Demo TASER hub"
SECONDS = 12
# Where the demo officer walks: the East 60s, beside the demo evidence and case.
ORIGIN = (40.7562, -73.9601)
API = "http://127.0.0.1:8000/api/devices/v1/"


def seed_bodycam(*, agencies, users, stdout) -> None:
    """Idempotent: the device, officer, training, check-out and recording are made once; the
    demo credential is issued anew on every run (only its digest is kept, so the token can be
    printed only when it is made)."""
    police = agencies["police"]
    if users.get(Role.SUPERVISOR) is None:
        return
    # The demo supervisor acts as after signing in with both factors, as other demo seeders do.
    supervisor = User.objects.get(pk=users[Role.SUPERVISOR].pk)
    supervisor.is_verified = lambda: True  # type: ignore[attr-defined]  # as django-otp would
    officer = demo_staff_user(*OFFICER, Role.OFFICER, police)
    device = _device_worn_by(supervisor, officer)
    if not Recording.objects.filter(device=device, device_recording_id=RECORDING_ID).exists():
        stdout.write("Recording the demo body camera's clip and GPS track with ffmpeg...")
        _record_and_offload(device, stdout)
    _, token = services.credential_issue(actor=supervisor, device=device)
    provisioning = json.dumps({"api": API, "device": str(device.pk), "token": token})
    stdout.write(
        f"  body camera {device.serial} worn by {officer.email}; with the server running, "
        f"play it live:\n  .venv/bin/python manage.py bodycam --provisioning '{provisioning}'"
        f" --serial {device.serial} --record 8 --cut-at 0.5\n"
        f"  stream it live for two minutes (sign in as the supervisor, open Live, Watch):\n"
        f"  .venv/bin/python manage.py bodycam --provisioning '{provisioning}'"
        f" --serial {device.serial} --record 120 --live rtmp://127.0.0.1:"
        f"{settings.RELAY_RTMP_PORT}/live"
    )
    source, secret = _trigger_source(supervisor)
    _alert_raised(device)
    stdout.write(
        f"  trigger source {source.name!r}; arm the TASER (the camera waits for the command):\n"
        f"  .venv/bin/python manage.py bodycam --provisioning '{provisioning}' "
        f"--serial {device.serial} --wait 30 --obey &\n"
        f"  .venv/bin/python manage.py trigger_send --source {source.pk} --secret={secret} "
        f"--type taser_armed --device {device.serial}"
    )


def _trigger_source(supervisor: User) -> tuple[TriggerSource, str]:
    """The demo TASER hub: made once, its secret rotated each run (only its seal is kept)."""
    source = TriggerSource.objects.filter(
        agency=supervisor.agency, name=TRIGGER_SOURCE, revoked_at__isnull=True
    ).first()
    if source is None:
        return triggers.trigger_source_add(actor=supervisor, name=TRIGGER_SOURCE)
    return triggers.trigger_source_rotate(actor=supervisor, source_id=source.pk)


def _alert_raised(device: Device) -> None:
    """An open "watch me" alert from the demo camera, so the operations page shows one (a new
    one only when none is showing: alerts show for four hours)."""
    showing = Alert.objects.filter(
        device=device, state=Alert.State.OPEN, expires_at__gt=timezone.now()
    )
    if showing.exists():
        return
    triggers.trigger_receive(
        agency=device.agency,
        device=device,
        event=triggers.TriggerIn(
            kind=TriggerKind.WATCH_ME,
            occurred_at=timezone.now(),
            lat=ORIGIN[0],
            lon=ORIGIN[1],
        ),
    )


def _device_worn_by(supervisor: User, officer: User) -> Device:
    """The demo camera, checked out to the trained demo officer (through the inventory services,
    as the supervisor would at the start of the shift)."""
    device = Device.objects.filter(agency=supervisor.agency, serial=SERIAL).first()
    if device is None:
        device = services.device_add(
            actor=supervisor, serial=SERIAL, make="Axis", model="W110", firmware=simulator.FIRMWARE
        )
    if not TrainingRecord.objects.filter(officer=officer).exists():
        today = timezone.localdate()
        services.training_record(
            actor=supervisor,
            officer=officer,
            course="Body-worn camera operation",
            completed_on=today - dt.timedelta(days=40),
            expires_on=today + dt.timedelta(days=325),
        )
    if not DeviceAssignment.objects.filter(device=device, checked_in_at__isnull=True).exists():
        services.device_check_out(actor=supervisor, device=device, officer=officer, unit=UNIT)
    return device


def _as_manifest(kept: dict) -> dict:
    """The manifest as the device API's serializer hands it on: times parsed."""
    manifest = {**kept}
    for key in ("started_at", "stopped_at"):
        manifest[key] = dt.datetime.fromisoformat(manifest[key])
    for key in ("trigger_on", "trigger_off"):
        manifest[key] = {**manifest[key], "at": dt.datetime.fromisoformat(manifest[key]["at"])}
    return manifest


def _record_and_offload(device: Device, stdout) -> None:
    # The recording starts once the camera is out (the assignment says who wore it), so on the
    # first seed it ends a few seconds after seeding: "recent" by the time anyone looks.
    checked_out = DeviceAssignment.objects.get(device=device, checked_in_at__isnull=True)
    started = max(timezone.now(), checked_out.checked_out_at + dt.timedelta(seconds=1))
    fixes = simulator.walk(started, SECONDS, ORIGIN)
    with tempfile.TemporaryDirectory() as tmp:
        clip, track, manifest = simulator.recording_files(
            Path(tmp),
            recording_id=RECORDING_ID,
            label=device.serial,
            started=started,
            fixes=fixes,
            pre_event_seconds=4,
            trigger="button",
        )
        manifest["device_clock"]["sent_at"] = simulator.rfc3339(timezone.now())
        recording = recording_announce(device=device, manifest=_as_manifest(manifest)).recording
        grant = UploadGrant.objects.get(flow=UploadGrant.Flow.BODYCAM, source_ref=str(recording.pk))
        item = evidence_services.item_ingest_file(
            grant=grant, path=clip, filename=manifest["filename"], media_type="video/mp4"
        )
        points = track_store(
            device=device,
            recording=recording,
            fmt=tracks.GPX,
            fixes=tracks.parse(tracks.GPX, track.read_bytes(), started_at=started),
        )
    state = evidence_services.item_process_now(item_id=item.pk)
    stdout.write(f"  {manifest['filename']:<20} -> {state}, track of {points} points")
