"""Activation triggers on the real services: the signed webhook of each trigger source (refusals
of every kind), the camera's own alert button, the agency's rule per type, the commands they
make (conditional ones for nearby cameras), the long-poll that hands them over within a second,
acknowledgement with its outcome, and the alerts they raise."""

import datetime as dt
import json
import threading
import time
import uuid

import pytest
import requests
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devices import webhooks
from devices.models import Alert, AlertPriority, Device, DeviceCommand, Trigger, TriggerNonce
from devices.services import triggers as ts
from portal.models import AuditEvent
from portal.roles import Role
from tests.devices.factories import assigned, officer_of
from tests.devices.helpers import Camera, beat
from tests.evidence.cases_helpers import verified

pytestmark = pytest.mark.django_db

URL = reverse("api-devices-triggers")
ALERTS = reverse("api-devices-alerts")
COMMANDS = reverse("api-devices-commands")
HEARTBEAT = reverse("api-devices-heartbeat")
HERE = {"lat": 40.7128, "lon": -74.0060}


@pytest.fixture
def supervisor(make_staff):
    return verified(make_staff(role=Role.SUPERVISOR))


@pytest.fixture
def source(supervisor):
    return ts.trigger_source_add(actor=supervisor, name="TASER hub")


@pytest.fixture
def worn(police):
    """A camera checked out to an officer riding as unit 2A31."""
    camera = Camera(police)
    assignment = assigned(camera.device, officer_of(police))
    assignment.unit = "2A31"
    assignment.save()
    return camera


def signed(source_and_secret, body, *, nonce=None, ts_=None, signature=None, client=None):
    src, secret = source_and_secret
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time())) if ts_ is None else ts_
    headers = {
        "Canvass-Source": str(src.pk),
        "Canvass-Timestamp": stamp,
        "Canvass-Nonce": nonce or uuid.uuid4().hex,
        "Canvass-Signature": signature or webhooks.signature_of(secret, stamp, raw),
    }
    return (client or Client()).post(URL, raw, content_type="application/json", headers=headers)


def taser(device, **extra):
    return {
        "type": "taser_armed",
        "at": timezone.now().isoformat(),
        "device": device.serial,
        **extra,
    }


# --- the webhook's refusals -------------------------------------------------------------------


def test_a_signed_trigger_makes_a_command_an_alert_and_audit_rows(source, worn):
    response = signed(source, taser(worn.device, location=HERE, event_id="T7-991"))
    assert response.status_code == 201, response.content
    reply = response.json()
    assert reply["alert"] == "high" and reply["commands"] == 1
    trigger = Trigger.objects.get(pk=reply["trigger"])
    assert trigger.device == worn.device and trigger.unit == "2A31"
    assert trigger.officer is not None and trigger.source == source[0]
    assert trigger.external_id == "T7-991"
    command = DeviceCommand.objects.get(trigger=trigger)
    assert command.device == worn.device and command.kind == DeviceCommand.Kind.START_RECORDING
    assert command.near is None  # the officer's own camera starts unconditionally
    alert = Alert.objects.get(trigger=trigger)
    assert alert.priority == AlertPriority.HIGH and alert.state == Alert.State.OPEN
    assert alert.expires_at - alert.raised_at == dt.timedelta(hours=4)
    assert (round(alert.location.y, 4), round(alert.location.x, 4)) == (40.7128, -74.006)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"device.trigger_received", "device.alert_raised"} <= actions


def test_a_bad_signature_is_401_and_nothing_is_made(source, worn):
    response = signed(source, taser(worn.device), signature="0" * 64)
    assert response.status_code == 401
    assert not Trigger.objects.exists() and not DeviceCommand.objects.exists()


def test_another_sources_secret_does_not_sign_for_this_one(source, supervisor, worn):
    _, other_secret = ts.trigger_source_add(actor=supervisor, name="Holster sensors")
    assert signed((source[0], other_secret), taser(worn.device)).status_code == 401


def test_a_stale_timestamp_is_refused(source, worn):
    stale = str(int(time.time()) - 600)
    assert signed(source, taser(worn.device), ts_=stale).status_code == 401
    assert signed(source, taser(worn.device), ts_="yesterday").status_code == 401


def test_a_replayed_delivery_is_409_and_acts_once(source, worn):
    body = json.dumps(taser(worn.device)).encode()
    stamp = str(int(time.time()))
    assert signed(source, body, nonce="n-1", ts_=stamp).status_code == 201
    assert signed(source, body, nonce="n-1", ts_=stamp).status_code == 409
    assert Trigger.objects.count() == 1 and DeviceCommand.objects.count() == 1


def test_a_missing_or_oversized_nonce_is_refused(source, worn):
    assert signed(source, taser(worn.device), nonce="x" * 129).status_code == 401
    assert not Trigger.objects.exists()


def test_a_revoked_source_is_401(source, supervisor, worn):
    ts.trigger_source_revoke(actor=supervisor, source_id=source[0].pk)
    assert signed(source, taser(worn.device)).status_code == 401


def test_a_rotated_secret_stops_the_old_one(source, supervisor, worn):
    _, new_secret = ts.trigger_source_rotate(actor=supervisor, source_id=source[0].pk)
    assert signed(source, taser(worn.device)).status_code == 401
    assert signed((source[0], new_secret), taser(worn.device)).status_code == 201


def test_an_unknown_source_id_or_none_is_401(worn):
    fake = (type("S", (), {"pk": uuid.uuid4()})(), "secret")
    assert signed(fake, taser(worn.device)).status_code == 401
    response = Client().post(URL, b"{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "not a slug!"}, "type"),
        ({"type": "teleport"}, "type"),
        ({"at": "2026-12-04 10:00"}, "at"),
        ({"device": "NO-SUCH-SERIAL"}, "device"),
        ({"location": {"lat": 91, "lon": 0}}, "location.lat"),
        ({"device": "", "unit": "", "location": None}, "device"),
    ],
)
def test_a_malformed_trigger_is_400_naming_the_field(source, worn, change, field):
    response = signed(source, {**taser(worn.device), **change})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert not Trigger.objects.exists()
    # The nonce of a refused delivery is not spent: a corrected retry is not a replay.
    assert not TriggerNonce.objects.exists()


def test_a_body_that_is_not_json_is_400(source):
    response = signed(source, b"\xff\xfe not json")
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_another_agencys_camera_is_unknown_to_this_source(source, other_police):
    foreign = Camera(other_police)
    response = signed(source, taser(foreign.device))
    assert response.status_code == 400 and response.json()["field"] == "device"


def test_too_many_deliveries_from_a_source_get_429(source, worn, settings):
    settings.WEBHOOK_RATE_PER_SENDER_PER_MINUTE = 2
    codes = [signed(source, taser(worn.device)).status_code for _ in range(3)]
    assert codes[:2] == [201, 201] and codes[2] == 429
    assert Trigger.objects.count() == 2


def test_too_many_requests_from_one_client_get_429_before_any_work(source, worn, settings):
    settings.WEBHOOK_RATE_PER_CLIENT_PER_MINUTE = 1
    client = Client()
    assert signed(source, taser(worn.device), client=client).status_code == 201
    response = signed(source, taser(worn.device), client=client)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


# --- rules -------------------------------------------------------------------------------------


def test_a_unit_trigger_starts_every_camera_of_the_unit(source, worn, police):
    partner = Camera(police)
    assignment = assigned(partner.device, officer_of(police))
    assignment.unit = "2A31"
    assignment.save()
    elsewhere = Camera(police)
    assigned(elsewhere.device, officer_of(police))
    body = {"type": "light_bar", "at": timezone.now().isoformat(), "unit": "2A31"}
    reply = signed(source, body).json()
    assert reply == {**reply, "alert": "general", "commands": 2}
    told = set(DeviceCommand.objects.values_list("device_id", flat=True))
    assert told == {worn.device.pk, partner.device.pk}


def test_nearby_cameras_of_the_unit_get_a_conditional_command(source, supervisor, worn, police):
    ts.alert_rule_set(
        actor=supervisor,
        kind="taser_armed",
        priority=AlertPriority.HIGH,
        start_recording=True,
        nearby_radius_m=300,
    )
    partner = Camera(police)
    assignment = assigned(partner.device, officer_of(police))
    assignment.unit = "2A31"
    assignment.save()
    other_unit = Camera(police)
    assigned(other_unit.device, officer_of(police)).save()
    signed(source, taser(worn.device, location=HERE))
    conditional = DeviceCommand.objects.get(device=partner.device)
    assert conditional.radius_m == 300
    assert (round(conditional.near.y, 4), round(conditional.near.x, 4)) == (40.7128, -74.006)
    assert not DeviceCommand.objects.filter(device=other_unit.device).exists()
    # The partner's camera is told the place and the radius, and decides itself.
    reply = partner.post(HEARTBEAT, beat()).json()
    (command,) = reply["commands"]
    assert command["near"] == {"lat": pytest.approx(40.7128), "lon": pytest.approx(-74.006)}
    assert command["radius_m"] == 300


def test_a_rule_set_off_raises_no_alert_and_no_command(source, supervisor, worn):
    ts.alert_rule_set(
        actor=supervisor,
        kind="holster_draw",
        priority=AlertPriority.OFF,
        start_recording=False,
        nearby_radius_m=0,
    )
    body = {"type": "holster_draw", "at": timezone.now().isoformat(), "device": worn.device.serial}
    reply = signed(source, body).json()
    assert reply["alert"] is None and reply["commands"] == 0
    assert Trigger.objects.count() == 1  # still recorded and audited


def test_an_agency_named_type_works_once_it_has_a_rule(source, supervisor, worn):
    body = {"type": "k9_release", "at": timezone.now().isoformat(), "device": worn.device.serial}
    assert signed(source, body).status_code == 400
    with pytest.raises(ValidationError):
        ts.alert_rule_set(
            actor=supervisor, kind="k9_release", priority="high", start_recording=True,
            nearby_radius_m=0,
        )  # fmt: skip
    ts.alert_rule_set(
        actor=supervisor, kind="k9_release", label="K9 released", priority="high",
        start_recording=True, nearby_radius_m=0,
    )  # fmt: skip
    assert signed(source, body).json()["alert"] == "high"


def test_rules_refuse_bad_values_and_non_managers(supervisor, make_staff):
    for bad in ({"priority": "loud"}, {"nearby_radius_m": 99_999}, {"kind": "Bad Kind"}):
        args = {"kind": "sos", "priority": "high", "start_recording": True, "nearby_radius_m": 0}
        with pytest.raises(ValidationError):
            ts.alert_rule_set(actor=supervisor, **{**args, **bad})
    investigator = verified(make_staff(role=Role.INVESTIGATOR))
    with pytest.raises(PermissionDenied):
        ts.alert_rule_set(
            actor=investigator, kind="sos", priority="off", start_recording=False,
            nearby_radius_m=0,
        )  # fmt: skip


def test_a_gunshot_with_only_a_place_asks_every_worn_camera_within_the_radius(
    source, supervisor, worn, police
):
    ts.alert_rule_set(
        actor=supervisor, kind="gunshot", priority="high", start_recording=True,
        nearby_radius_m=500,
    )  # fmt: skip
    idle = Camera(police)  # not checked out: nobody wears it
    body = {"type": "gunshot", "at": timezone.now().isoformat(), "location": HERE}
    reply = signed(source, body).json()
    assert reply["commands"] == 1 and reply["alert"] == "high"
    command = DeviceCommand.objects.get()
    assert command.device == worn.device and command.radius_m == 500
    assert not DeviceCommand.objects.filter(device=idle.device).exists()


# --- the camera's own alerts, commands, acknowledgement -----------------------------------------


def test_the_camera_raises_an_sos_itself(worn):
    response = worn.post(
        ALERTS, {"type": "sos", "at": timezone.now().isoformat(), "location": HERE}
    )
    assert response.status_code == 201, response.content
    assert response.json()["alert"] == "high"
    alert = Alert.objects.get()
    assert alert.device == worn.device and alert.trigger.source is None
    # It started recording on its own: no command back to itself.
    assert not DeviceCommand.objects.exists()


def test_a_camera_alert_needs_the_credential_and_a_known_type(worn):
    body = {"type": "sos", "at": timezone.now().isoformat()}
    assert worn.post(ALERTS, body, token="nope").status_code == 401
    response = worn.post(ALERTS, {**body, "type": "teleport"})
    assert response.status_code == 400 and response.json()["field"] == "type"


def test_acknowledging_records_the_outcome_and_another_devices_command_is_404(source, worn, police):
    signed(source, taser(worn.device))
    (command,) = worn.post(HEARTBEAT, beat()).json()["commands"]
    url = reverse("api-devices-command-ack", args=[command["id"]])
    stranger = Camera(police)
    assert stranger.post(url, {"outcome": "started"}).status_code == 404
    assert worn.post(url, {"outcome": "teleported"}).status_code == 400
    assert worn.post(url, {"outcome": "started"}).status_code == 204
    row = DeviceCommand.objects.get(pk=command["id"])
    assert row.outcome == "started" and row.acknowledged_at is not None
    ack = AuditEvent.objects.get(action="device.command_acknowledged")
    assert ack.details["outcome"] == "started"


def test_the_long_poll_answers_at_once_with_a_waiting_command(source, worn):
    signed(source, taser(worn.device))
    reply = worn.get(f"{COMMANDS}?wait=0").json()
    assert [c["kind"] for c in reply["commands"]] == ["start_recording"]
    assert worn.get(f"{COMMANDS}?wait=0").json()["commands"] == []  # handed over once


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
def test_the_long_poll_refuses_a_wait_out_of_range(worn, wait):
    response = worn.get(f"{COMMANDS}?wait={wait}")
    assert response.status_code == 400 and response.json()["field"] == "wait"


@pytest.mark.django_db(transaction=True)
def test_a_trigger_wakes_a_waiting_long_poll_within_a_second(live_server, police, make_staff):
    supervisor = verified(make_staff(role=Role.SUPERVISOR))
    src, secret = ts.trigger_source_add(actor=supervisor, name="TASER hub")
    camera = Camera(police)
    assigned(camera.device, officer_of(police))
    got: dict = {}

    def poll():
        started = time.monotonic()
        response = requests.get(
            live_server.url + COMMANDS + "?wait=10",
            headers={"Authorization": f"Device {camera.token}"},
            timeout=20,
        )
        got.update(reply=response.json(), returned=time.monotonic(), started=started)

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(1.0)  # the long-poll is waiting
    raw = json.dumps(taser(camera.device)).encode()
    stamp = str(int(time.time()))
    sent = time.monotonic()
    response = requests.post(
        live_server.url + URL,
        data=raw,
        headers={
            "Content-Type": "application/json",
            "Canvass-Source": str(src.pk),
            "Canvass-Timestamp": stamp,
            "Canvass-Nonce": uuid.uuid4().hex,
            "Canvass-Signature": webhooks.signature_of(secret, stamp, raw),
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    waiter.join(15)
    assert [c["kind"] for c in got["reply"]["commands"]] == ["start_recording"]
    assert got["returned"] - sent < 1.0  # handed over within a second of the trigger
    assert got["returned"] - got["started"] < 5.0  # not at the end of the 10 s wait


def test_the_location_of_a_recording_camera_becomes_the_alerts_place(source, worn):
    Device.objects.filter(pk=worn.device.pk).update(
        state=Device.State.RECORDING,
        last_location=Point(-74.01, 40.71, srid=4326),
        last_heartbeat_at=timezone.now(),
    )
    signed(source, taser(worn.device))
    alert = Alert.objects.get()
    assert (round(alert.location.y, 2), round(alert.location.x, 2)) == (40.71, -74.01)


def test_closing_an_alert_needs_a_reason_and_is_audited(source, supervisor, worn, make_staff):
    signed(source, taser(worn.device))
    alert = Alert.objects.get()
    with pytest.raises(ValidationError):
        ts.alert_close(actor=supervisor, alert_id=alert.pk, state="false", reason="  ")
    with pytest.raises(ValidationError):
        ts.alert_close(actor=supervisor, alert_id=alert.pk, state="open", reason="x")
    ts.alert_close(actor=supervisor, alert_id=alert.pk, state="false", reason="Test arming")
    alert.refresh_from_db()
    assert alert.state == Alert.State.FALSE and alert.closed_by == supervisor
    event = AuditEvent.objects.get(action="device.alert_marked_false")
    assert event.reason == "Test arming"
    with pytest.raises(ValidationError):  # already closed
        ts.alert_close(actor=supervisor, alert_id=alert.pk, state="resolved", reason="again")
    officer = verified(make_staff(role=Role.INVESTIGATOR))
    with pytest.raises(PermissionDenied):
        ts.alert_close(actor=officer, alert_id=alert.pk, state="resolved", reason="x")


def test_another_agencys_supervisor_cannot_close_the_alert(source, worn, other_police, make_staff):
    signed(source, taser(worn.device))
    foreign = verified(make_staff(role=Role.SUPERVISOR, agency=other_police))
    with pytest.raises(PermissionDenied):
        ts.alert_close(actor=foreign, alert_id=Alert.objects.get().pk, state="resolved", reason="x")


def test_the_trigger_webhook_commands_and_alerts_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/devices/v1/triggers/"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"Canvass-Source", "Canvass-Timestamp", "Canvass-Nonce", "Canvass-Signature"}
    assert set(operation["responses"]) >= {"201", "400", "401", "409", "429"}
    commands = schema["paths"]["/api/devices/v1/commands"]["get"]
    assert [p["name"] for p in commands["parameters"]] == ["wait"]
    assert commands["security"] == [{"deviceCredential": []}]
    assert "post" in schema["paths"]["/api/devices/v1/alerts"]
    command = schema["components"]["schemas"]["Command"]["properties"]
    assert {"near", "radius_m", "trigger"} <= set(command)


# --- what a sender cannot break -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Canvass-Timestamp": "999999999999"},  # past the year 9999
        {"Canvass-Signature": "é" * 64},
        {"Canvass-Signature": "zz"},
    ],
)
def test_odd_headers_are_401_never_500(source, worn, headers):
    src, secret = source
    raw = json.dumps(taser(worn.device)).encode()
    stamp = str(int(time.time()))
    sent = {
        "Canvass-Source": str(src.pk),
        "Canvass-Timestamp": stamp,
        "Canvass-Nonce": uuid.uuid4().hex,
        "Canvass-Signature": webhooks.signature_of(secret, stamp, raw),
        **headers,
    }
    response = Client().post(URL, raw, content_type="application/json", headers=sent)
    assert response.status_code == 401, response.content


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "taser_armed", "at": "2026-12-04T10:00:00Z", "unit": "2A31", "x": NaN}',
        b'{"type": "taser_armed", "at": "2026-12-04T10:00:00Z", "unit": "2A31", "x": "a\\u0000"}',
    ],
)
def test_a_body_postgresql_cannot_keep_is_400_and_nothing_is_lost_silently(source, worn, raw):
    response = signed(source, raw)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "body"
    assert not Trigger.objects.exists() and not TriggerNonce.objects.exists()


def test_a_command_not_acknowledged_is_handed_over_again_after_30_s(source, worn):
    signed(source, taser(worn.device))
    (first,) = worn.get(f"{COMMANDS}?wait=0").json()["commands"]
    assert worn.get(f"{COMMANDS}?wait=0").json()["commands"] == []
    DeviceCommand.objects.filter(pk=first["id"]).update(
        delivered_at=timezone.now() - dt.timedelta(seconds=31)
    )
    (again,) = worn.get(f"{COMMANDS}?wait=0").json()["commands"]
    assert again["id"] == first["id"]
    worn.post(reverse("api-devices-command-ack", args=[first["id"]]), {"outcome": "started"})
    DeviceCommand.objects.filter(pk=first["id"]).update(
        delivered_at=timezone.now() - dt.timedelta(seconds=31)
    )
    assert worn.get(f"{COMMANDS}?wait=0").json()["commands"] == []  # acknowledged: done


def test_a_long_poll_past_the_processs_share_of_threads_answers_at_once(worn, settings):
    settings.LIVE_HELD_THREADS_PER_PROCESS = 0
    began = time.monotonic()
    assert worn.get(f"{COMMANDS}?wait=5").json()["commands"] == []
    assert time.monotonic() - began < 2


def test_an_expired_alert_cannot_be_closed(source, supervisor, worn):
    signed(source, taser(worn.device))
    alert = Alert.objects.get()
    Alert.objects.filter(pk=alert.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError):
        ts.alert_close(actor=supervisor, alert_id=alert.pk, state="resolved", reason="late")


def test_a_new_secret_never_begins_with_a_dash(monkeypatch):
    # Pasted after "--secret" on a command line, a leading dash reads as another flag.
    drawn = iter(["-leading-dash", "fine-secret"])
    monkeypatch.setattr(webhooks.secrets, "token_urlsafe", lambda n: next(drawn))
    assert webhooks.secret_new() == "fine-secret"
