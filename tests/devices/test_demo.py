import io
import json
import re

import pytest

from devices import demo
from devices.models import DeviceCredential, Recording
from evidence.models import EvidenceItem
from portal.management.commands.seed_demo import demo_agencies, demo_staff_user
from portal.roles import Role
from portal.tokens import token_digest

pytestmark = pytest.mark.django_db(transaction=True)


def _seed() -> dict:
    agencies = demo_agencies()
    supervisor = demo_staff_user(
        "supervisor@riverton.example", "Sam Supervisor", Role.SUPERVISOR, agencies["police"]
    )
    out = io.StringIO()
    demo.seed_bodycam(agencies=agencies, users={Role.SUPERVISOR: supervisor}, stdout=out)
    return json.loads(re.search(r"--provisioning '(.*?)'", out.getvalue()).group(1))


def test_seed_bodycam_adds_a_worn_camera_with_a_ready_recording_and_its_track_once():
    first = _seed()

    recording = Recording.objects.select_related("item", "officer", "device").get(
        device_recording_id=demo.RECORDING_ID
    )
    assert recording.status == Recording.Status.COMPLETE and not recording.hash_mismatch
    assert recording.item.state == EvidenceItem.State.READY
    assert recording.item.sha256 == recording.device_sha256
    assert recording.officer.email == demo.OFFICER[0]
    assert recording.track.count() == demo.SECONDS + 1
    assert first["device"] == str(recording.device.pk) and first["api"] == demo.API

    second = _seed()
    assert Recording.objects.count() == 1
    live = DeviceCredential.objects.get(device=recording.device, revoked_at__isnull=True)
    assert live.token_hash == token_digest(second["token"]) != token_digest(first["token"])
