"""The simulated body camera: its clip and track, and a whole shift against a live server."""

import datetime as dt
import io
import itertools
import json
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image, ImageChops, ImageStat

from devices import simulator
from devices.models import Device, DeviceCommand, Recording
from devices.services import triggers
from devices.simulator import SimulatedCamera
from evidence.models import EvidenceItem
from evidence.selectors import custody_of
from portal import media
from portal.roles import Role
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.evidence.cases_helpers import verified
from tests.evidence.helpers import wait_for

GPX = "{http://www.topografix.com/GPX/1/1}"
START = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.UTC)


def _frame(tmp_path, *source: str, at: float, name: str) -> Image.Image:
    target = tmp_path / name
    media.synthesize(*source, "-ss", str(at), "-frames:v", "1", str(target))
    return Image.open(target).convert("L")


def _difference(a: Image.Image, b: Image.Image, box) -> float:
    return ImageStat.Stat(ImageChops.difference(a.crop(box), b.crop(box))).mean[0]


def test_clip_lasts_as_long_as_recorded_and_has_the_time_burned_in(tmp_path):
    clip = simulator.clip_mp4(tmp_path / "clip.mp4", start=START, seconds=3, label="BWC-00042")

    probe = media.probe(clip)
    assert probe.duration == pytest.approx(3, abs=0.15)
    assert probe.video_codec == "h264" and probe.audio_codec == "aac"
    assert probe.creation_time == START
    stamped = _frame(tmp_path, "-i", str(clip), at=1.5, name="stamped.png")
    plain = _frame(
        tmp_path, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=15", at=1.5, name="plain.png"
    )
    band, picture = (10, 320, 330, 356), (10, 100, 330, 200)
    assert _difference(stamped, plain, band) > 5 * _difference(stamped, plain, picture)


def test_track_is_a_gpx_walk_with_a_fix_a_second():
    fixes = simulator.walk(START, 10)
    root = ET.fromstring(simulator.track_gpx(fixes, name="BWC-00042 <walk>"))  # noqa: S314 - ours

    points = root.findall(f".//{GPX}trkpt")
    assert len(points) == 11
    times = [dt.datetime.fromisoformat(p.find(f"{GPX}time").text) for p in points]
    assert times[0] == START and all(
        b - a == dt.timedelta(seconds=1) for a, b in itertools.pairwise(times)
    )
    lat0, lat1 = float(points[0].get("lat")), float(points[-1].get("lat"))
    assert 0 < (lat1 - lat0) * 111_320 < 10 * simulator.WALK_SPEED_M_S  # a walk, not a drive
    assert root.find(f".//{GPX}name").text == "BWC-00042 <walk>"


def test_provisioning_is_read_from_json_or_a_file_and_names_the_api(tmp_path):
    text = '{"api": "https://canvass.example/api/devices/v1/", "device": "d1", "token": "t"}'
    (tmp_path / "qr.json").write_text(text)

    assert simulator.parse_provisioning(text) == simulator.parse_provisioning(
        str(tmp_path / "qr.json")
    )
    assert (
        simulator.api_base("https://canvass.example") == "https://canvass.example/api/devices/v1/"
    )
    assert simulator.api_base("https://canvass.example/api/devices/v1/") == (
        "https://canvass.example/api/devices/v1/"
    )
    with pytest.raises(ValueError, match="token"):
        simulator.parse_provisioning('{"api": "https://canvass.example"}')


def _provisioning(live_server, device, token) -> dict:
    return {"api": f"{live_server.url}/api/devices/v1/", "device": str(device.pk), "token": token}


def test_camera_heartbeats_records_and_offloads_with_a_cut_and_a_resume(
    transactional_db, live_server, celery_worker, police, tmp_path
):
    device = DeviceFactory(agency=police)
    officer = officer_of(police)
    assigned(device, officer, at=timezone.now() - dt.timedelta(hours=1))
    provisioning = _provisioning(live_server, device, credential_for(device))
    storage = tmp_path / "camera"
    # A camera whose clock runs 90 s slow: it announces the server's times and keeps its own.
    clock = {"serial": device.serial, "chunk_size": 64 * 1024, "clock_skew_seconds": -90}
    camera = SimulatedCamera.from_provisioning(provisioning, storage, **clock)

    camera.heartbeat()
    device.refresh_from_db()
    assert device.state == Device.State.IDLE and device.battery_percent == 96
    assert device.last_heartbeat_at is not None and device.last_location is None

    recording_id = camera.record(4)
    device.refresh_from_db()
    # It said where while recording (tests/devices/test_api.py), and that is forgotten now
    # the recording has ended.
    assert device.state == Device.State.IDLE and device.last_location is None

    announced = camera.announce(recording_id)
    assert announced["status"] == "announced" and announced["upload"]["max_files"] == 1
    assert camera.offload(recording_id, cut_at=0.5) is False
    kept = camera.state()["recordings"][recording_id]
    assert 0 < kept["sent_bytes"] < kept["manifest"]["size"]
    del camera  # the battery runs out; the storage keeps the tus URL and the grant

    rebooted = SimulatedCamera.from_provisioning(provisioning, storage, **clock)
    assert rebooted.pending() == [recording_id]
    assert rebooted.offload(recording_id) is True
    assert rebooted.state()["recordings"][recording_id]["tus_url"] == kept["tus_url"]
    assert rebooted.send_track(recording_id) == 5
    assert rebooted.pending() == []

    recording = Recording.objects.get(device=device, device_recording_id=recording_id)
    item = wait_for(recording.item)
    recording.refresh_from_db()
    assert item.state == EvidenceItem.State.READY and item.source == "bodycam"
    assert recording.status == Recording.Status.COMPLETE and recording.officer == officer
    assert item.sha256 == kept["manifest"]["sha256"] and not recording.hash_mismatch
    assert recording.track.count() == 5
    device_started = dt.datetime.fromisoformat(recording.device_clock["started_at"])
    assert (device_started - recording.started_at).total_seconds() == pytest.approx(-90, abs=2)
    assert abs((timezone.now() - recording.stopped_at).total_seconds()) < 60
    assert rebooted.recording(recording_id)["status"] == "complete"


def test_camera_obeys_and_acknowledges_a_start_recording_command(
    transactional_db, live_server, police, tmp_path
):
    device = DeviceFactory(agency=police)
    command = device.commands.create(kind="start_recording", reason="Officer down call nearby")
    camera = SimulatedCamera.from_provisioning(
        _provisioning(live_server, device, credential_for(device)), tmp_path, serial=device.serial
    )

    reply = camera.heartbeat()
    started = camera.obey(reply, seconds=2)

    command.refresh_from_db()
    assert command.delivered_at is not None and command.acknowledged_at is not None
    assert len(started) == 1
    assert camera.state()["recordings"][started[0]]["manifest"]["trigger_on"]["source"] == (
        "dispatch"
    )
    assert camera.heartbeat()["commands"] == []


def test_bodycam_command_records_and_offloads_with_a_cut_from_a_provisioning_json(
    transactional_db, live_server, police, tmp_path
):
    device = DeviceFactory(agency=police)
    provisioning = json.dumps(_provisioning(live_server, device, credential_for(device)))
    out = io.StringIO()

    call_command(
        "bodycam", "--provisioning", provisioning, "--state-dir", str(tmp_path),
        "--heartbeats", "2", "--interval", "0", "--record", "3", "--cut-at", "0.4", stdout=out,
    )  # fmt: skip

    recording = Recording.objects.get(device=device)
    assert recording.status == Recording.Status.COMPLETE and recording.track.count() == 4
    assert "offload cut after" in out.getvalue() and "rebooting" in out.getvalue()
    assert f"offloaded {recording.device_recording_id}: complete" in out.getvalue()


def test_a_trigger_starts_the_waiting_camera_which_records_and_offloads_it(
    transactional_db, live_server, celery_worker, police, make_staff, tmp_path
):
    """The whole loop: enrolled, waiting on its long-poll; a TASER is armed; the camera is told
    within a second, records (trigger: taser_armed), offloads with a cut and a resume; the
    item is ready with its track, manifest and custody."""
    supervisor = verified(make_staff(role=Role.SUPERVISOR))
    source, secret = triggers.trigger_source_add(actor=supervisor, name="TASER hub")
    device = DeviceFactory(agency=police)
    officer = officer_of(police)
    assigned(device, officer, at=timezone.now() - dt.timedelta(hours=1))
    provisioning = _provisioning(live_server, device, credential_for(device))
    storage = tmp_path / "camera"
    camera = SimulatedCamera.from_provisioning(
        provisioning, storage, serial=device.serial, chunk_size=64 * 1024
    )
    camera.heartbeat()
    replies: list[dict] = []
    waiter = threading.Thread(target=lambda: replies.append(camera.wait_commands(10)))
    waiter.start()
    time.sleep(0.5)

    out = io.StringIO()
    sent = time.monotonic()
    call_command(
        "trigger_send", url=live_server.url, source=str(source.pk), secret=secret,
        type="taser_armed", device=device.serial, stdout=out,
    )  # fmt: skip
    waiter.join(15)
    assert time.monotonic() - sent < 2  # the long-poll answered at once, not after 10 s
    (command,) = replies[0]["commands"]
    assert command["trigger"] == "taser_armed" and command["near"] is None

    (recording_id,) = camera.obey(replies[0], seconds=3)
    camera.announce(recording_id)
    assert camera.offload(recording_id, cut_at=0.5) is False
    rebooted = SimulatedCamera.from_provisioning(provisioning, storage, serial=device.serial)
    assert rebooted.offload(recording_id) is True
    assert rebooted.send_track(recording_id) == 4

    acked = DeviceCommand.objects.get(pk=command["id"])
    assert acked.outcome == "started" and acked.trigger.source == source
    recording = Recording.objects.get(device=device, device_recording_id=recording_id)
    item = wait_for(recording.item)
    assert item.state == EvidenceItem.State.READY and item.source == "bodycam"
    assert recording.trigger_on_source == "taser_armed" and recording.officer == officer
    assert recording.track.count() == 4
    details = item.metadata["source_details"]["bodycam"]
    assert details["manifest"]["trigger_on"]["source"] == "taser_armed"
    custody = set(custody_of(item=item).values_list("action", flat=True))
    assert "device.recording_received" in custody


def test_the_camera_sends_a_recording_in_about_32_pieces_within_bounds():
    assert simulator.chunk_size_for(1_000_000) == simulator.MIN_CHUNK  # a short clip
    assert simulator.chunk_size_for(2 * 1024**3) == 8 * 1024**2  # a shift at the dock
    assert simulator.chunk_size_for(64 * 1024**2) == 2 * 1024**2  # 32 pieces
    assert simulator.chunk_size_for(64 * 1024**2) % simulator.MIN_CHUNK == 0
