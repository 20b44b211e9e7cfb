"""The device API v1 (docs/device-api.md) on the real services: credentials, heartbeat and its
privacy rule, commands, manifests, and an offload through the real tus endpoint into the store."""

import base64
import datetime as dt
import hashlib
import logging

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, DeviceCommand, DeviceCredential, Recording
from evidence import services as evidence_services
from evidence.models import EvidenceItem, Source
from evidence.samples import hevc_or_mpeg4_clip
from portal.models import AuditEvent
from tests.devices.factories import assigned, officer_of
from tests.devices.helpers import Camera, beat, manifest
from tests.evidence.intake.tus.helpers import b64, create, patch, upload_of, upload_url

pytestmark = pytest.mark.django_db

HEARTBEAT = reverse("api-devices-heartbeat")
RECORDINGS = reverse("api-devices-recordings")


@pytest.fixture
def camera(police):
    return Camera(police)


# --- credentials --------------------------------------------------------------------------------


def test_unknown_credential_gets_401_with_a_challenge(camera):
    response = camera.post(HEARTBEAT, beat(), token="not-a-device-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Device"
    assert "detail" in response.json()


def test_no_credential_gets_401_even_signed_in(camera, make_staff):
    from tests.conftest import client_for

    response = client_for(make_staff()).post(HEARTBEAT, beat(), content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Device"


def test_revoked_credential_gets_401(camera):
    DeviceCredential.objects.filter(device=camera.device).update(revoked_at=timezone.now())
    assert camera.post(HEARTBEAT, beat()).status_code == 401


def test_a_call_marks_the_credential_used(camera):
    assert camera.post(HEARTBEAT, beat()).status_code == 200
    assert DeviceCredential.objects.get(device=camera.device).last_used_at is not None


# --- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_stores_state_but_no_location_unless_recording(camera):
    where = {"lat": 40.7, "lon": -74.0, "accuracy_m": 8.0, "at": timezone.now().isoformat()}
    response = camera.post(HEARTBEAT, beat("buffering", location=where))
    assert response.status_code == 200, response.content
    assert "server_time" in response.json()
    device = Device.objects.get(pk=camera.device.pk)
    assert device.state == Device.State.BUFFERING
    assert device.battery_percent == 81 and device.firmware == "11.2.6"
    assert device.last_heartbeat_at is not None
    assert device.last_location is None and device.last_location_at is None


def test_heartbeat_keeps_a_location_only_while_recording(camera):
    where = {"lat": 40.7, "lon": -74.0, "accuracy_m": None, "at": timezone.now().isoformat()}
    assert camera.post(HEARTBEAT, beat("recording", location=where)).status_code == 200
    device = Device.objects.get(pk=camera.device.pk)
    assert (round(device.last_location.y, 4), round(device.last_location.x, 4)) == (40.7, -74.0)
    camera.post(HEARTBEAT, beat("idle", location={**where, "lat": 10.0}))
    device.refresh_from_db()
    # Recording stopped: the idle fix was not kept, and the last recording one is forgotten.
    assert device.last_location is None and device.last_location_at is None


def test_heartbeat_refuses_a_latitude_out_of_range_naming_it(camera):
    where = {"lat": 123.0, "lon": 0.0, "at": timezone.now().isoformat()}
    response = camera.post(HEARTBEAT, beat("recording", location=where))
    assert response.status_code == 400
    assert response.json()["field"] == "location.lat"


def test_commands_are_delivered_once_and_acknowledged(camera, other_police):
    command = DeviceCommand.objects.create(
        device=camera.device, kind=DeviceCommand.Kind.START_RECORDING, reason="CAD 42"
    )
    first = camera.post(HEARTBEAT, beat()).json()["commands"]
    assert [c["id"] for c in first] == [str(command.pk)]
    assert first[0]["kind"] == "start_recording" and first[0]["reason"] == "CAD 42"
    assert camera.post(HEARTBEAT, beat()).json()["commands"] == []
    ack = reverse("api-devices-command-ack", args=[command.pk])
    assert Camera(other_police).post(ack).status_code == 404  # not the other device's
    assert camera.post(ack).status_code == 204
    command.refresh_from_db()
    assert command.delivered_at and command.acknowledged_at
    assert AuditEvent.objects.filter(
        action="device.command_acknowledged", target_id=str(command.pk)
    ).exists()


# --- manifests ---------------------------------------------------------------------------------


def test_announcing_makes_a_recording_with_a_grant_and_the_wearer(camera, police):
    officer = officer_of(police)
    assigned(camera.device, officer, at=timezone.now() - dt.timedelta(hours=2))
    response = camera.post(RECORDINGS, manifest())
    assert response.status_code == 201, response.content
    body = response.json()
    recording = Recording.objects.get(pk=body["id"])
    assert body["status"] == "announced" and recording.officer == officer
    assert body["officer"] == officer.label
    upload = body["upload"]
    assert upload["endpoint"] == "/api/uploads/" and upload["header"] == "Canvass-Upload-Grant"
    assert upload["max_files"] == 1 and upload["media_types"] == ["video/"]
    assert recording.trigger_on_location is not None and recording.cad_event_id == "CAD-2026-0042"
    assert "received_at" in recording.device_clock and "sent_at" in recording.device_clock
    row = AuditEvent.objects.get(action="device.recording_announced", target_id=str(recording.pk))
    assert row.details["manifest"]["recording_id"] == recording.device_recording_id


def test_the_wearer_is_who_had_the_device_at_the_trigger(camera, police):
    earlier, later = officer_of(police), officer_of(police)
    body = manifest()
    trigger = dt.datetime.fromisoformat(body["trigger_on"]["at"])
    first = assigned(camera.device, earlier, at=trigger - dt.timedelta(hours=3))
    first.checked_in_at = trigger + dt.timedelta(minutes=30)
    first.save()
    assigned(camera.device, later, at=trigger + dt.timedelta(minutes=40))
    assert camera.post(RECORDINGS, body).json()["officer"] == earlier.label


def test_announcing_again_is_idempotent(camera):
    body = manifest()
    first = camera.post(RECORDINGS, body)
    again = camera.post(RECORDINGS, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    # The grant from before is live: its secret was shown once and the device keeps it.
    assert again.json()["upload"] is None
    assert Recording.objects.filter(device=camera.device).count() == 1


def test_announcing_again_after_the_grant_is_gone_gives_a_fresh_one(camera):
    from evidence.models import UploadGrant

    body = manifest()
    first = camera.post(RECORDINGS, body).json()
    UploadGrant.objects.filter(source_ref=first["id"]).update(revoked_at=timezone.now())
    again = camera.post(RECORDINGS, body).json()
    assert again["upload"] and again["upload"]["value"] != first["upload"]["value"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("stops_before_it_starts", "stopped_at"),
        ("trigger_after_stop", "trigger_on.at"),
        ("buffer_too_long", "pre_event_seconds"),
        ("bad_sha", "sha256"),
        ("bad_lat", "trigger_on.location.lat"),
        ("no_offset", "started_at"),
        ("not_video", "media_type"),
    ],
)
def test_an_impossible_manifest_gets_400_naming_the_field(camera, change, field):
    body = manifest()
    started = dt.datetime.fromisoformat(body["started_at"])
    stopped = dt.datetime.fromisoformat(body["stopped_at"])
    if change == "stops_before_it_starts":
        body["stopped_at"] = (started - dt.timedelta(seconds=5)).isoformat()
    elif change == "trigger_after_stop":
        body["trigger_on"]["at"] = (stopped + dt.timedelta(seconds=5)).isoformat()
    elif change == "buffer_too_long":
        body["pre_event_seconds"] = 120
    elif change == "bad_sha":
        body["sha256"] = "z" * 64
    elif change == "bad_lat":
        body["trigger_on"]["location"]["lat"] = 91
    elif change == "no_offset":
        body["started_at"] = started.replace(tzinfo=None).isoformat()
    elif change == "not_video":
        body["media_type"] = "text/html"
    response = camera.post(RECORDINGS, body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert not Recording.objects.exists()


def test_another_devices_recording_is_404(camera, police, other_police):
    recording_id = camera.post(RECORDINGS, manifest()).json()["id"]
    url = reverse("api-devices-recording", args=[recording_id])
    assert camera.get(url).status_code == 200
    for other in (Camera(police), Camera(other_police)):
        assert other.get(url).status_code == 404
        track = reverse("api-devices-recording-track", args=[recording_id])
        assert other.post(track, b"$GPRMC", content_type="text/plain").status_code == 404


# --- the offload, end to end through tus ---------------------------------------------------------


def _offload(camera, data: bytes, body: dict, filename="clip.avi") -> EvidenceItem:
    reply = camera.post(RECORDINGS, body).json()
    grant = reply["upload"]["value"]
    tus = Client()  # no session, no device credential: the grant is all tus needs
    metadata = f"filename {b64(filename)},filetype {b64('video/x-msvideo')}"
    url = upload_url(create(tus, grant, len(data), metadata))
    half = len(data) // 2
    assert patch(tus, url, grant, data[:half], 0).status_code == 204
    # Rebooted mid-offload: announcing again says it is under way and issues no second grant.
    again = camera.post(RECORDINGS, body).json()
    assert (again["id"], again["status"], again["upload"]) == (reply["id"], "transferring", None)
    assert tus.head(url, headers={"Tus-Resumable": "1.0.0", "Canvass-Upload-Grant": grant})[
        "Upload-Offset"
    ] == str(half)
    assert patch(tus, url, grant, data[half:], half).status_code == 204
    return EvidenceItem.objects.get(upload=upload_of(url))


def test_an_offload_becomes_bodycam_evidence_linked_to_its_recording(camera, police, tmp_path):
    officer = officer_of(police)
    assigned(camera.device, officer, at=timezone.now() - dt.timedelta(hours=1))
    data = hevc_or_mpeg4_clip(tmp_path, seconds=1, size="160x120").read_bytes()
    body = manifest(data=data)
    item = _offload(camera, data, body)
    recording = Recording.objects.get(device=camera.device)
    assert item.source == Source.BODYCAM and item.source_ref == str(recording.pk)
    assert recording.item == item and recording.status == Recording.Status.COMPLETE
    received = AuditEvent.objects.get(action="device.recording_received", target_id=str(item.pk))
    assert received.details["manifest"]["sha256"] == body["sha256"]
    assert received.details["officer"] == officer.label
    # Processing fills in what the file says and keeps what the camera said.
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    item.refresh_from_db()
    assert item.sha256 == body["sha256"]
    assert item.metadata["format"]
    assert (
        item.metadata["source_details"]["bodycam"]["manifest"]["recording_id"]
        == (body["recording_id"])
    )
    recording.refresh_from_db()
    assert recording.hash_mismatch is False
    assert not AuditEvent.objects.filter(action="device.recording_hash_mismatch").exists()
    # Complete: announcing again offers nothing to upload.
    again = camera.post(RECORDINGS, body).json()
    assert again["status"] == "complete" and again["upload"] is None


def test_a_hash_mismatch_keeps_the_item_and_flags_the_recording(camera, caplog):
    data = b"these are not the bytes the camera hashed"
    body = manifest(data=data, sha256=hashlib.sha256(b"other bytes").hexdigest())
    item = _offload(camera, data, body)
    with caplog.at_level(logging.ERROR, logger="devices.services.offload"):
        evidence_services.item_process_now(item_id=item.pk)
    item.refresh_from_db()
    recording = Recording.objects.get(device=camera.device)
    assert recording.hash_mismatch is True
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.state != EvidenceItem.State.DELETED  # kept (rejected as not video, still evidence)
    row = AuditEvent.objects.get(action="device.recording_hash_mismatch", target_id=str(item.pk))
    assert row.details["device_sha256"] == body["sha256"] and row.details["sha256"] == item.sha256
    assert any("flagged" in r.getMessage() for r in caplog.records)
    assert item.metadata["source_details"]["bodycam"]["recording"] == str(recording.pk)


def test_the_tus_upload_checks_a_chunk_checksum_too(camera):
    """The device may also send tus's per-chunk Upload-Checksum: a bad chunk is refused."""
    data = b"0123456789"
    reply = camera.post(RECORDINGS, manifest(data=data)).json()
    grant, tus = reply["upload"]["value"], Client()
    url = upload_url(create(tus, grant, len(data), f"filename {b64('c.mp4')}"))
    wrong = base64.b64encode(hashlib.sha256(b"nope").digest()).decode()
    response = patch(tus, url, grant, data, 0, Upload_Checksum=f"sha256 {wrong}")
    assert response.status_code == 460


def test_the_schema_lists_the_device_api_and_its_credential(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    scheme = schema["components"]["securitySchemes"]["deviceCredential"]
    assert scheme["type"] == "apiKey" and scheme["name"] == "Authorization"
    heartbeat = schema["paths"]["/api/devices/v1/heartbeat"]["post"]
    assert heartbeat["security"] == [{"deviceCredential": []}]
    assert "/api/devices/v1/recordings/{recording_id}/track" in schema["paths"]


def test_a_firmware_change_reported_by_heartbeat_is_audited_once(camera):
    """11.2.5 (the factory's) to 11.2.6: one custody row; the same firmware again adds none."""
    from portal.models import AuditEvent

    assert camera.post(HEARTBEAT, beat()).status_code == 200
    assert camera.post(HEARTBEAT, beat()).status_code == 200
    changed = AuditEvent.objects.filter(action="device.changed", target_id=str(camera.device.pk))
    assert [e.details for e in changed] == [{"firmware": {"old": "11.2.5", "new": "11.2.6"}}]
