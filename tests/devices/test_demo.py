import io
import json
import re

import pytest
from django.core.management import call_command

from devices import demo
from devices.models import Alert, DeviceCommand, DeviceCredential, Recording, TriggerSource
from devices.services import triggers
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


def test_seed_bodycam_adds_a_trigger_source_and_one_showing_alert():
    _seed()
    _seed()
    source = TriggerSource.objects.get(name=demo.TRIGGER_SOURCE)
    assert source.revoked_at is None
    (alert,) = Alert.objects.all()  # a second seed adds none while one is showing
    assert alert.kind == "watch_me" and alert.state == Alert.State.OPEN
    assert alert.device.serial == demo.SERIAL and alert.trigger.unit == demo.UNIT


def test_trigger_send_signs_a_delivery_the_webhook_takes(live_server):
    agencies = demo_agencies()
    supervisor = demo_staff_user(
        "supervisor@riverton.example", "Sam Supervisor", Role.SUPERVISOR, agencies["police"]
    )
    out = io.StringIO()
    demo.seed_bodycam(agencies=agencies, users={Role.SUPERVISOR: supervisor}, stdout=out)
    found = re.search(r"trigger_send --source (\S+) --secret=(\S+)", out.getvalue())
    source_id, secret = found.group(1), found.group(2)
    sent = io.StringIO()
    call_command(
        "trigger_send",
        url=live_server.url,
        source=source_id,
        secret=secret,
        type="taser_armed",
        device=demo.SERIAL,
        stdout=sent,
    )
    assert "alert high, 1 camera(s) told to record" in sent.getvalue()
    (told,) = DeviceCommand.objects.filter(trigger__kind="taser_armed")
    assert told.device.serial == demo.SERIAL
    # The secret printed is the live one: a wrong one is refused.
    assert triggers.trigger_source_secret(TriggerSource.objects.get(pk=source_id)) == secret
