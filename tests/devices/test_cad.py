"""CAD intake: the signed webhook, the EIDO subset, the case it opens, and the recordings of
its units filed into that case (now, and when their item arrives later)."""

import datetime as dt
import json
import time
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from devices import cad, webhooks
from devices import services as ds
from devices.models import CadLink, DeviceAssignment, DeviceCommand, Recording
from devices.services import cad as cad_services
from evidence.models import Case
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.devices.factories import DeviceFactory, officer_of
from tests.evidence.cases_helpers import verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db

URL = "/api/cad/v1/incidents"
T0 = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)


@pytest.fixture
def supervisor(make_staff):
    return verified(make_staff(role=Role.SUPERVISOR))


@pytest.fixture
def secret(supervisor):
    _, secret = cad_services.cad_secret_rotate(actor=supervisor)
    return secret


def eido(incident_id="CAD-123", units=("2A33",), cleared=T0 + dt.timedelta(hours=1), **extra):
    message = {
        "$id": f"urn:emergency:uid:incidentid:{incident_id}:cad.riverton.example",
        "lastUpdateTimeStamp": (T0 + dt.timedelta(minutes=1)).isoformat(),
        "incidentComponent": [
            {
                "incidentTypeInternalCode": "10-101",
                "incidentTypeCommonRegistryText": "Burglary",
                "internalIncidentId": incident_id,
                "dispatchedTimeStamp": T0.isoformat(),
                **({"clearedTimeStamp": cleared.isoformat()} if cleared else {}),
            }
        ],
        "locationComponent": [
            {
                "locationTypeDescriptionRegistryText": "RoutingLocation",
                "locationByValue": (
                    '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
                    'xmlns:gml="http://www.opengis.net/gml"><gml:Point>'
                    "<gml:pos>40.7128 -74.0060</gml:pos></gml:Point></presence>"
                ),
            }
        ],
        "emergencyResourceComponent": [
            {"emergencyResourceName": u, "primaryUnitStatusRegistryText": "Enroute"} for u in units
        ],
    }
    message.update(extra)
    return message


def post(body, secret, *, agency="riverton-pd", nonce=None, ts=None, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = str(int(time.time())) if ts is None else ts
    return Client().post(
        URL,
        raw,
        content_type="application/json",
        headers={
            "Canvass-Agency": agency,
            "Canvass-Timestamp": ts,
            "Canvass-Nonce": nonce or uuid.uuid4().hex,
            "Canvass-Signature": signature or webhooks.signature_of(secret, ts, raw),
        },
    )


def recording(device, officer, *, start, minutes=10, item=True, rid=None):
    return Recording.objects.create(
        agency=device.agency,
        device=device,
        device_recording_id=rid or uuid.uuid4().hex,
        officer=officer,
        started_at=start,
        stopped_at=start + dt.timedelta(minutes=minutes),
        trigger_on_source="button",
        trigger_on_at=start,
        device_sha256="0" * 64,
        item=stored_item(agency=device.agency, content=uuid.uuid4().bytes) if item else None,
    )


def worn(agency, unit, *, since=T0 - dt.timedelta(hours=1)):
    officer = officer_of(agency)
    device = DeviceFactory(agency=agency)
    DeviceAssignment.objects.create(
        device=device, officer=officer, checked_out_at=since, checked_out_by=officer, unit=unit
    )
    return device, officer


def case_items(number, agency):
    case = Case.objects.filter(agency=agency, number=number).first()
    return set(case.items.values_list("pk", flat=True)) if case else set()


# --- the signature --------------------------------------------------------------------------


def test_a_good_signature_is_accepted_and_opens_the_case(police, secret, supervisor):
    response = post(eido(), secret)
    assert response.status_code == 200, response.content
    assert response.json() == {"incident": "CAD-123", "case": "CAD-123", "units": ["2A33"]}
    case = Case.objects.get(agency=police, number="CAD-123")
    assert case.title == "CAD CAD-123: Burglary"
    assert case.incident_time == T0
    assert case.lead == supervisor
    assert round(case.incident_point.y, 4) == 40.7128 and round(case.incident_point.x, 4) == -74.006
    created = AuditEvent.objects.get(action="case.created", case_ref="CAD-123")
    assert created.actor_label == "CAD intake"


def test_a_bad_signature_is_refused_with_401(police, secret):
    response = post(eido(), secret, signature="0" * 64)
    assert response.status_code == 401
    assert not Case.objects.filter(number="CAD-123").exists()


def test_another_agencys_secret_is_refused(police, other_police, secret, make_staff):
    other_sup = verified(make_staff(role=Role.SUPERVISOR, agency=other_police))
    _, other_secret = cad_services.cad_secret_rotate(actor=other_sup)
    assert post(eido(), other_secret, agency="riverton-pd").status_code == 401


def test_an_unknown_agency_is_refused(police, secret):
    assert post(eido(), secret, agency="nowhere").status_code == 401


def test_a_rotated_secret_stops_working(police, secret, supervisor):
    cad_services.cad_secret_rotate(actor=supervisor)
    assert post(eido(), secret).status_code == 401


def test_a_replayed_nonce_is_refused_with_409(police, secret):
    assert post(eido(), secret, nonce="n-1").status_code == 200
    again = post(eido(), secret, nonce="n-1")
    assert again.status_code == 409
    assert "nonce" in again.json()["detail"]


def test_a_stale_timestamp_is_refused(police, secret):
    stale = str(int(time.time()) - 6 * 60)
    assert post(eido(), secret, ts=stale).status_code == 401
    assert post(eido(), secret, ts="not-a-time").status_code == 401


def test_the_secret_is_stored_sealed_not_in_clear(police, secret):
    link = CadLink.objects.get(agency=police)
    assert secret not in link.secret_sealed
    assert cad_services.cad_secret_of(link) == secret


# --- malformed messages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m.pop("emergencyResourceComponent"), "emergencyResourceComponent"),
        (
            lambda m: (m.pop("$id"), m["incidentComponent"][0].pop("internalIncidentId")),
            "$id",
        ),
        (
            lambda m: m["incidentComponent"][0].pop("dispatchedTimeStamp"),
            "dispatchedTimeStamp",
        ),
        (
            lambda m: [
                m["incidentComponent"][0].pop(k)
                for k in ("incidentTypeInternalCode", "incidentTypeCommonRegistryText")
            ],
            "incidentComponent.incidentTypeCommonRegistryText",
        ),
        (
            lambda m: m["emergencyResourceComponent"][0].pop("emergencyResourceName"),
            "emergencyResourceComponent.emergencyResourceName",
        ),
    ],
)
def test_a_malformed_message_is_400_naming_the_field(police, secret, change, field):
    message = eido()
    change(message)
    response = post(message, secret)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_body_that_is_not_json_is_400(police, secret):
    response = post(b"{not json", secret)
    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_the_2020_draft_casing_and_plain_lat_lon_are_read():
    message = {
        "incidentTrackingIdentifier": "urn:emergency:uid:incidentid:A-9:host",
        "LastUpdateTimeStamp": T0.isoformat(),
        "IncidentComponent": [{"IncidentTypeInternalText": "Theft"}],
        "locationInformationComponent": [{"latitude": 51.5, "longitude": -0.14}],
        "emergencyResourceComponent": [
            {"emergencyResourceName": "1B", "dispatchedTimeStamp": T0.isoformat()}
        ],
    }
    incident = cad.incident_parse(message)
    assert (incident.incident_id, incident.incident_type, incident.units) == (
        "A-9",
        "Theft",
        ["1B"],
    )
    assert (incident.lat, incident.lon) == (51.5, -0.14)


# --- filing recordings ----------------------------------------------------------------------


def test_the_units_recording_in_the_window_is_filed_and_others_are_not(
    police, other_police, secret
):
    device, officer = worn(police, "2A33")
    inside = recording(device, officer, start=T0 + dt.timedelta(minutes=10))
    before = recording(device, officer, start=T0 - dt.timedelta(minutes=30))
    after = recording(device, officer, start=T0 + dt.timedelta(hours=2))
    other_device, other_officer = worn(police, "9Z99")
    other_unit = recording(other_device, other_officer, start=T0 + dt.timedelta(minutes=10))
    far_device, far_officer = worn(other_police, "2A33")
    other_agency = recording(far_device, far_officer, start=T0 + dt.timedelta(minutes=10))

    assert post(eido(), secret).status_code == 200

    assert case_items("CAD-123", police) == {inside.item_id}
    for r in (before, after, other_unit, other_agency):
        r.refresh_from_db()
        assert r.cad_event_id == ""
    assert not Case.objects.filter(agency=other_police).exists()
    inside.refresh_from_db()
    assert inside.cad_event_id == "CAD-123"


def test_an_update_refiles_idempotently(police, secret):
    device, officer = worn(police, "2A33")
    first = recording(device, officer, start=T0 + dt.timedelta(minutes=10))
    assert post(eido(cleared=None), secret).status_code == 200
    added = AuditEvent.objects.filter(action="case.item_added", case_ref="CAD-123").count()
    assert added == 1

    # The same incident again, now with a second unit and the clear time: nothing is added twice.
    device2, officer2 = worn(police, "2A34")
    second = recording(device2, officer2, start=T0 + dt.timedelta(minutes=20))
    assert post(eido(units=("2A33", "2A34")), secret).status_code == 200
    assert post(eido(units=("2A33", "2A34")), secret).status_code == 200

    assert case_items("CAD-123", police) == {first.item_id, second.item_id}
    assert AuditEvent.objects.filter(action="case.item_added", case_ref="CAD-123").count() == 2
    assert Case.objects.filter(agency=police, number="CAD-123").count() == 1
    assert AuditEvent.objects.filter(action="case.created", case_ref="CAD-123").count() == 1


def test_a_recording_whose_item_arrives_later_is_filed_then(police, secret):
    device, officer = worn(police, "2A33")
    pending = recording(device, officer, start=T0 + dt.timedelta(minutes=10), item=False)
    assert post(eido(), secret).status_code == 200
    pending.refresh_from_db()
    assert pending.cad_event_id == "CAD-123"
    assert case_items("CAD-123", police) == set()

    pending.item = stored_item(agency=police, content=b"late bytes")
    pending.save(update_fields=["item"])
    assert cad_services.cad_recordings_file(pending) == ["CAD-123"]
    assert case_items("CAD-123", police) == {pending.item_id}


def test_a_recording_announced_after_the_incident_is_filed_on_arrival(police, secret):
    device, officer = worn(police, "2A33")
    assert post(eido(), secret).status_code == 200
    late = recording(device, officer, start=T0 + dt.timedelta(minutes=40))
    assert cad_services.cad_recordings_file(late) == ["CAD-123"]
    assert case_items("CAD-123", police) == {late.item_id}


# --- check-out with a unit, and the settings page ------------------------------------------------


def test_check_out_keeps_the_unit(police, supervisor):
    device = DeviceFactory(agency=police)
    officer = officer_of(police)
    assignment = ds.device_check_out(
        actor=supervisor, device=device, officer=officer, unit=" 2A33 "
    )
    assert assignment.unit == "2A33"


def test_the_settings_page_shows_the_secret_once_and_activation_is_off(police, supervisor):
    client = client_for(supervisor)
    page = client.get("/staff/devices/cad/")
    assert page.status_code == 200
    assert b"US 11,356,591" in page.content
    rotated = client.post("/staff/devices/cad/secret/")
    link = CadLink.objects.get(agency=police)
    secret = cad_services.cad_secret_of(link)
    assert secret.encode() in rotated.content
    assert secret.encode() not in client.get("/staff/devices/cad/").content
    assert link.remote_activation is False
    client.post("/staff/devices/cad/activation/", {"remote_activation": "on"})
    link.refresh_from_db()
    assert link.remote_activation is True


def test_an_officer_cannot_open_the_cad_settings(police, make_staff):
    officer = verified(make_staff(role=Role.OFFICER))
    assert client_for(officer).get("/staff/devices/cad/").status_code == 403


def test_an_update_changes_the_case_and_an_older_one_arriving_late_does_not(police, secret):
    assert post(eido(), secret).status_code == 200
    newer = eido(lastUpdateTimeStamp=(T0 + dt.timedelta(minutes=5)).isoformat())
    newer["incidentComponent"][0]["incidentTypeCommonRegistryText"] = "Robbery"
    assert post(newer, secret).status_code == 200
    case = Case.objects.get(agency=police, number="CAD-123")
    assert case.title == "CAD CAD-123: Robbery"
    assert AuditEvent.objects.filter(action="case.updated", case_ref="CAD-123").count() == 1

    assert post(eido(), secret).status_code == 200  # the first message again, delivered late
    case.refresh_from_db()
    assert case.title == "CAD CAD-123: Robbery"


def test_the_webhook_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/cad/v1/incidents"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"Canvass-Agency", "Canvass-Timestamp", "Canvass-Nonce", "Canvass-Signature"}


def test_an_admin_made_link_gives_cad_cases_to_a_supervisor(police, make_staff):
    admin = verified(make_staff(role=Role.AGENCY_ADMIN))
    supervisor = make_staff(role=Role.SUPERVISOR)
    _, secret = cad_services.cad_secret_rotate(actor=admin)
    assert post(eido(), secret).status_code == 200
    assert Case.objects.get(agency=police, number="CAD-123").lead == supervisor


def test_the_check_out_form_takes_a_unit(police, supervisor):
    device = DeviceFactory(agency=police)
    officer = officer_of(police)
    client_for(supervisor).post(
        f"/staff/devices/{device.pk}/check-out/", {"officer": officer.pk, "unit": "2A33"}
    )
    assert DeviceAssignment.objects.get(device=device).unit == "2A33"
    page = client_for(supervisor).get(f"/staff/devices/{device.pk}/")
    assert b"as unit 2A33" in page.content


def test_a_recording_the_camera_tagged_with_an_incident_is_filed_under_it(police, secret):
    assert post(eido(incident_id="CAD-777", units=("5C1",)), secret).status_code == 200
    device = DeviceFactory(agency=police)
    tagged = recording(device, None, start=T0 + dt.timedelta(minutes=5))
    Recording.objects.filter(pk=tagged.pk).update(cad_event_id="CAD-777")
    tagged.refresh_from_db()
    assert cad_services.cad_recordings_file(tagged) == ["CAD-777"]
    assert case_items("CAD-777", police) == {tagged.item_id}


def test_a_recording_of_no_unit_and_no_tag_is_filed_nowhere(police, secret):
    assert post(eido(), secret).status_code == 200
    device = DeviceFactory(agency=police)
    loose = recording(device, None, start=T0 + dt.timedelta(minutes=5))
    assert cad_services.cad_recordings_file(loose) == []
    assert case_items("CAD-123", police) == set()


def test_an_offloaded_recording_of_a_dispatched_unit_lands_in_the_incidents_case(
    police, secret, tmp_path
):
    """Through the real path: manifest, upload grant, the file's last byte, the bodycam hook."""
    from devices.services.offload import recording_announce
    from evidence import services as evidence_services
    from evidence.models import UploadGrant

    device, _ = worn(police, "2A33")
    assert post(eido(), secret).status_code == 200
    start = T0 + dt.timedelta(minutes=5)
    announced = recording_announce(
        device=device,
        manifest={
            "recording_id": "rec-offload-1",
            "started_at": start,
            "stopped_at": start + dt.timedelta(minutes=3),
            "pre_event_seconds": 30,
            "pre_event_audio": False,
            "trigger_on": {"source": "holster", "at": start + dt.timedelta(seconds=30)},
            "trigger_off": None,
            "bookmarks": [],
            "sha256": "0" * 64,
            "size": 11,
            "filename": "clip.mp4",
            "media_type": "video/mp4",
            "device_clock": {},
            "cad_event_id": "",
        },
    )
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"bodycam clip")
    grant = UploadGrant.objects.get(pk=announced.upload["id"])
    item = evidence_services.item_ingest_file(grant=grant, path=clip, filename="clip.mp4")
    assert Recording.objects.get(pk=announced.recording.pk).item_id == item.pk
    assert case_items("CAD-123", police) == {item.pk}


def test_a_delivery_without_a_case_lead_keeps_its_nonce_for_the_retry(
    police, secret, supervisor, make_staff
):
    """503 (try again), nothing kept and the nonce unspent; the same delivery is taken later."""
    type(supervisor).objects.filter(pk=supervisor.pk).update(is_active=False)
    refused = post(eido(), secret, nonce="delivery-1")
    assert refused.status_code == 503 and "supervisor" in refused.json()["detail"]
    assert not Case.objects.filter(agency=police, number="CAD-123").exists()
    make_staff(role=Role.SUPERVISOR)
    assert post(eido(), secret, nonce="delivery-1").status_code == 200
    assert Case.objects.filter(agency=police, number="CAD-123").exists()


# --- remote activation ---------------------------------------------------------------------------


def _worn_by_unit(police, unit):
    device = DeviceFactory(agency=police)
    assignment = DeviceAssignment.objects.create(
        device=device,
        officer=officer_of(police),
        checked_out_at=T0 - dt.timedelta(hours=1),
        checked_out_by=officer_of(police),
        unit=unit,
    )
    return assignment.device


def test_remote_activation_off_starts_no_camera(police, secret):
    _worn_by_unit(police, "2A33")
    assert post(eido(cleared=None), secret).status_code == 200
    assert not DeviceCommand.objects.exists()
    assert AuditEvent.objects.get(action="device.cad_incident_received").details["activated"] == []


def test_remote_activation_on_starts_the_dispatched_units_cameras_once(police, secret, supervisor):
    cad_services.cad_remote_activation_set(actor=supervisor, enabled=True)
    dispatched = _worn_by_unit(police, "2A33")
    second = _worn_by_unit(police, "2A34")
    elsewhere = _worn_by_unit(police, "9Z99")
    assert post(eido(cleared=None), secret).status_code == 200
    (command,) = DeviceCommand.objects.all()
    assert command.device == dispatched and command.kind == DeviceCommand.Kind.START_RECORDING
    assert "CAD-123" in command.reason
    # An update adds a unit: only the new unit's camera is told; the first is not told again.
    assert post(eido(units=("2A33", "2A34"), cleared=None), secret).status_code == 200
    told = list(DeviceCommand.objects.values_list("device_id", flat=True))
    assert sorted(told, key=str) == sorted([dispatched.pk, second.pk], key=str)
    assert not DeviceCommand.objects.filter(device=elsewhere).exists()
    rows = AuditEvent.objects.filter(action="device.cad_incident_received").order_by("pk")
    assert [r.details["activated"] for r in rows] == [[str(dispatched.pk)], [str(second.pk)]]


def test_a_cleared_incident_starts_no_camera(police, secret, supervisor):
    cad_services.cad_remote_activation_set(actor=supervisor, enabled=True)
    _worn_by_unit(police, "2A33")
    assert post(eido(), secret).status_code == 200  # sent with its clear time
    assert not DeviceCommand.objects.exists()


def test_too_many_cad_deliveries_get_429(police, secret, settings):
    settings.WEBHOOK_RATE_PER_SENDER_PER_MINUTE = 1
    assert post(eido(), secret).status_code == 200
    response = post(eido(), secret)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_a_cad_body_postgresql_cannot_keep_is_400_naming_the_body(police, secret):
    raw = json.dumps(eido()).encode()[:-1] + b', "x": NaN}'
    response = post(raw, secret)
    assert response.status_code == 400 and response.json()["field"] == "body"
    assert not Case.objects.exists()


def test_a_timestamp_past_the_year_9999_is_401_not_500(police, secret):
    assert post(eido(), secret, ts="999999999999").status_code == 401
