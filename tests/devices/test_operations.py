"""The operations page, its event stream, closing alerts, and the trigger settings page,
through the Django test client against the real services (PostGIS, Redis pub/sub)."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Alert, AlertRule, Device, TriggerSource
from devices.services import triggers as trigger_services
from devices.services.triggers import TriggerIn
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.evidence.cases_helpers import verified
from tests.outage import redis_unreachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(make_staff):
    # Verified: the tests call services as a signed-in request past its second factor would.
    return verified(make_staff(role=Role.SUPERVISOR, full_name="Sam Supervisor"))


@pytest.fixture
def client(supervisor):
    return client_for(supervisor)


@pytest.fixture
def camera(police):
    """A camera in service, checked out to a trained officer of unit 2A33."""
    device = DeviceFactory(agency=police, serial="BWC-00042")
    officer = officer_of(police, full_name="Olive Officer")
    assignment = assigned(device, officer)
    assignment.unit = "2A33"
    assignment.save(update_fields=["unit"])
    return device


def raise_alert(agency, kind="sos", serial="BWC-00042", **where) -> Alert:
    trigger = trigger_services.trigger_receive(
        agency=agency,
        event=TriggerIn(kind=kind, occurred_at=timezone.now(), device_serial=serial, **where),
        device=Device.objects.get(agency=agency, serial=serial),
    )
    return trigger.alert


def _audit(action):
    return AuditEvent.objects.filter(action=action).order_by("-seq")


# --- who may open what ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.DISPATCHER, Role.AGENCY_ADMIN])
def test_operators_open_the_page_and_each_opening_is_audited(make_staff, role):
    user = make_staff(role=role)
    response = client_for(user).get(reverse("devices:operations"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    row = _audit("device.operations_viewed").first()
    assert row is not None and row.actor_id == user.pk
    client_for(user).get(reverse("devices:operations"))
    assert _audit("device.operations_viewed").filter(actor_id=user.pk).count() == 2


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.OFFICER, Role.AUDITOR])
@pytest.mark.parametrize("name", ["devices:operations", "devices:operations_events"])
def test_other_roles_get_403_and_nothing_is_streamed(make_staff, role, name):
    response = client_for(make_staff(role=role)).get(reverse(name))
    assert response.status_code == 403
    assert not response.streaming


@pytest.mark.parametrize("name", ["devices:operations", "devices:operations_events"])
def test_anonymous_is_sent_to_sign_in(name):
    response = client_for(None).get(reverse(name))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_navigation_links_operations_for_operators_only(client, make_staff):
    assert reverse("devices:operations") in client.get(reverse("portal:dashboard")).text
    investigator = client_for(make_staff(role=Role.INVESTIGATOR))
    assert reverse("devices:operations") not in investigator.get(reverse("portal:dashboard")).text
    inventory = client.get(reverse("devices:list")).text
    assert reverse("devices:triggers") in inventory
    dispatcher = client_for(make_staff(role=Role.DISPATCHER))
    assert reverse("devices:triggers") not in dispatcher.get(reverse("devices:list")).text


# --- the page ---------------------------------------------------------------------------------


def test_the_page_lists_high_alerts_as_the_banner_and_general_ones_as_activity(
    client, police, other_police, camera
):
    police.time_zone = "America/New_York"
    police.save(update_fields=["time_zone"])
    high = raise_alert(police, "sos")
    general = raise_alert(police, "light_bar")
    theirs = DeviceFactory(agency=other_police, serial="BWC-THEIRS")
    raise_alert(other_police, "sos", serial=theirs.serial)
    page = client.get(reverse("devices:operations")).text
    banner = page[page.index('id="ops-high"') : page.index('id="ops-high-empty"')]
    activity = page[page.index('id="ops-activity"') : page.index('id="ops-activity-empty"')]
    assert str(high.pk) in banner and "SOS" in banner and str(general.pk) not in banner
    assert str(general.pk) in activity and "Light bar on" in activity
    assert "Olive Officer" in banner and "2A33" in banner and "BWC-00042" in banner
    assert "America/New_York" in banner and "UTC)" in banner
    assert "BWC-THEIRS" not in page
    # Each alert is closable without JavaScript: a form to its own close URL.
    assert reverse("devices:alert_close", args=[high.pk]) in banner


def test_closed_and_expired_alerts_are_not_listed(client, police, camera, supervisor):
    closed = raise_alert(police, "sos")
    trigger_services.alert_close(
        actor=supervisor, alert_id=closed.pk, state="false", reason="Test of the button"
    )
    expired = raise_alert(police, "gunshot")
    Alert.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page = client.get(reverse("devices:operations")).text
    assert str(closed.pk) not in page and str(expired.pk) not in page


# --- closing an alert -------------------------------------------------------------------------


def _close(client, alert, json_reply=False, **data):
    headers = {"Accept": "application/json"} if json_reply else {}
    return client.post(reverse("devices:alert_close", args=[alert.pk]), data, headers=headers)


def test_resolving_with_a_reason_closes_audits_and_sends_back_to_the_page(
    client, police, camera, supervisor
):
    alert = raise_alert(police, "sos")
    response = _close(client, alert, state="resolved", reason="Officer safe, scene clear")
    assert response.status_code == 302 and response["Location"] == reverse("devices:operations")
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.closed_by == supervisor
    row = _audit("device.alert_resolved").first()
    assert row.reason == "Officer safe, scene clear" and row.target_id == str(alert.pk)
    assert "Alert resolved." in client.get(reverse("devices:operations")).text


def test_marking_false_answers_json_to_the_pages_script(client, police, camera):
    alert = raise_alert(police, "gunshot")
    response = _close(client, alert, json_reply=True, state="false", reason="Car backfiring")
    assert response.status_code == 200 and response.json()["state"] == "false"
    assert _audit("device.alert_marked_false").first().reason == "Car backfiring"


def test_a_missing_reason_is_refused_clearly_and_the_alert_stays_open(client, police, camera):
    alert = raise_alert(police, "sos")
    response = _close(client, alert, json_reply=True, state="resolved", reason="   ")
    assert response.status_code == 400
    assert response.json()["errors"]["reason"] == ["Say why (it goes into the audit log)."]
    response = _close(client, alert, state="resolved", reason="")
    assert response.status_code == 302
    page = client.get(reverse("devices:operations")).text
    assert "Alert not closed: Say why" in page
    alert.refresh_from_db()
    assert alert.state == "open"
    assert not _audit("device.alert_resolved").exists()


def test_an_unknown_state_is_refused(client, police, camera):
    alert = raise_alert(police, "sos")
    response = _close(client, alert, json_reply=True, state="deleted", reason="Why not")
    assert response.status_code == 400 and "state" in response.json()["errors"]


def test_closing_an_alert_already_closed_says_so(client, police, camera, supervisor):
    alert = raise_alert(police, "sos")
    assert _close(client, alert, state="resolved", reason="Done").status_code == 302
    response = _close(client, alert, json_reply=True, state="false", reason="Again")
    assert response.status_code == 400
    assert response.json()["errors"]["state"] == ["This alert is already closed."]
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.reason == "Done"


def test_another_agencys_alert_is_404_and_stays_open(make_staff, other_police, police, camera):
    alert = raise_alert(police, "sos")
    stranger = make_staff(role=Role.SUPERVISOR, agency=other_police)
    response = _close(client_for(stranger), alert, state="resolved", reason="Not mine")
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.state == "open"


def test_a_colleague_who_may_not_operate_gets_403(make_staff, police, camera):
    alert = raise_alert(police, "sos")
    investigator = make_staff(role=Role.INVESTIGATOR)
    response = _close(client_for(investigator), alert, state="resolved", reason="Mine?")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.state == "open"


def test_closing_needs_a_post(client, police, camera):
    alert = raise_alert(police, "sos")
    assert client.get(reverse("devices:alert_close", args=[alert.pk])).status_code == 405


# --- the event stream -------------------------------------------------------------------------


def _events(response):
    """The stream's events, decoded, one at a time (keep-alive comments skipped)."""
    for chunk in response.streaming_content:
        for block in chunk.decode().split("\n\n"):
            data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
            if data:
                yield json.loads("\n".join(data))


def test_the_stream_sends_the_snapshot_then_what_is_published_after_connecting(
    client, supervisor, police, camera, settings, django_capture_on_commit_callbacks
):
    settings.OPS_STREAM_SECONDS = 10
    camera.state = Device.State.RECORDING
    camera.save(update_fields=["state"])
    Device.objects.filter(pk=camera.pk).update(
        last_location="SRID=4326;POINT(-74.006 40.7128)",
        last_location_at=timezone.now(),
        last_heartbeat_at=timezone.now(),
    )
    before = raise_alert(police, "light_bar")
    response = client.get(reverse("devices:operations_events"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    assert "no-store" in response["Cache-Control"]
    events = _events(response)
    snapshot = next(events)
    assert snapshot["type"] == "snapshot"
    assert [a["id"] for a in snapshot["alerts"]] == [str(before.pk)]
    [where] = snapshot["locations"]
    assert (where["serial"], where["lat"], where["lon"]) == ("BWC-00042", 40.7128, -74.006)
    assert where["officer"].startswith("Olive Officer") and where["unit"] == "2A33"
    with django_capture_on_commit_callbacks(execute=True):
        after = raise_alert(police, "sos")
    event = next(events)
    assert event["type"] == "alert" and event["alert"]["id"] == str(after.pk)
    assert event["alert"]["priority"] == "high" and event["alert"]["label"] == "SOS"
    with django_capture_on_commit_callbacks(execute=True):
        trigger_services.alert_close(
            actor=supervisor,
            alert_id=after.pk,
            state="resolved",
            reason="Safe",
        )
    assert next(events) == {"type": "alert_closed", "id": str(after.pk), "state": "resolved"}
    response.close()


def test_the_stream_carries_only_its_own_agencys_events(
    client, police, other_police, camera, settings, django_capture_on_commit_callbacks
):
    settings.OPS_STREAM_SECONDS = 10
    theirs = DeviceFactory(agency=other_police, serial="BWC-THEIRS")
    response = client.get(reverse("devices:operations_events"))
    events = _events(response)
    assert next(events)["alerts"] == []
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(other_police, "sos", serial=theirs.serial)
        ours = raise_alert(police, "sos")
    assert next(events)["alert"]["id"] == str(ours.pk)
    response.close()


def test_the_stream_ends_after_its_time_with_a_retry_and_keeps_alive_meanwhile(client, settings):
    settings.OPS_STREAM_SECONDS = 1.2
    settings.OPS_KEEPALIVE_SECONDS = 0.5
    chunks = [
        c.decode() for c in client.get(reverse("devices:operations_events")).streaming_content
    ]
    assert chunks[0].startswith("retry: ")
    assert any(c.startswith(": keep-alive") for c in chunks)
    assert chunks[-1].startswith("retry: ")


def test_without_redis_the_stream_sends_the_snapshot_and_then_polls_the_database(
    client, police, camera, settings
):
    settings.OPS_STREAM_SECONDS = 10
    settings.OPS_POLL_SECONDS = 0.2
    with redis_unreachable(settings):
        response = client.get(reverse("devices:operations_events"))
        events = _events(response)
        assert next(events) == {"type": "snapshot", "alerts": [], "locations": []}
        alert = raise_alert(police, "sos")  # its push is lost: Redis is away
        fresh = next(events)
        assert fresh["type"] == "snapshot" and [a["id"] for a in fresh["alerts"]] == [str(alert.pk)]
        response.close()


# --- trigger settings -----------------------------------------------------------------------


def test_trigger_settings_are_for_managers(make_staff):
    for role, status in [(Role.SUPERVISOR, 200), (Role.AGENCY_ADMIN, 200), (Role.DISPATCHER, 403)]:
        assert client_for(make_staff(role=role)).get(reverse("devices:triggers")).status_code == (
            status
        )


def test_adding_a_source_shows_its_id_and_secret_once_with_the_signing_recipe(client, police):
    response = client.post(reverse("devices:trigger_source_add"), {"name": "TASER hub"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    source = TriggerSource.objects.get(agency=police, name="TASER hub")
    secret = trigger_services.trigger_source_secret(source)
    page = response.text
    assert secret in page and str(source.pk) in page
    for header in ("Canvass-Source", "Canvass-Timestamp", "Canvass-Nonce", "Canvass-Signature"):
        assert header in page
    assert "/api/devices/v1/triggers/" in page
    again = client.get(reverse("devices:triggers")).text
    assert secret not in again and "TASER hub" in again
    assert _audit("device.trigger_source_added").exists()


def test_a_duplicate_source_name_is_refused_with_a_message(client, police):
    client.post(reverse("devices:trigger_source_add"), {"name": "TASER hub"})
    response = client.post(reverse("devices:trigger_source_add"), {"name": "taser hub"})
    assert response.status_code == 302
    assert "already has a source of that name" in client.get(reverse("devices:triggers")).text


def test_rotating_shows_a_new_secret_and_revoking_removes_the_source(client, police, supervisor):
    source, old = trigger_services.trigger_source_add(actor=supervisor, name="ShotSpotter")
    response = client.post(reverse("devices:trigger_source_rotate", args=[source.pk]))
    assert response.status_code == 200
    new = trigger_services.trigger_source_secret(TriggerSource.objects.get(pk=source.pk))
    assert new != old and new in response.text and old not in response.text
    response = client.post(reverse("devices:trigger_source_revoke", args=[source.pk]))
    assert response.status_code == 302
    assert TriggerSource.objects.get(pk=source.pk).revoked_at is not None
    page = client.get(reverse("devices:triggers")).text
    assert "revoked: its next delivery is refused" in page
    assert f'data-source-id="{source.pk}"' not in page
    # A revoked source is gone for its page, too.
    assert client.post(reverse("devices:trigger_source_rotate", args=[source.pk])).status_code == (
        404
    )


def test_another_agencys_source_is_404(make_staff, other_police, supervisor):
    source, _ = trigger_services.trigger_source_add(actor=supervisor, name="TASER hub")
    stranger = client_for(make_staff(role=Role.SUPERVISOR, agency=other_police))
    for name in ("devices:trigger_source_rotate", "devices:trigger_source_revoke"):
        assert stranger.post(reverse(name, args=[source.pk])).status_code == 404
    assert TriggerSource.objects.get(pk=source.pk).revoked_at is None


def test_the_rules_table_shows_every_type_and_saves_a_row(client, police):
    page = client.get(reverse("devices:triggers")).text
    for label in ("TASER armed", "Holster drawn", "Gunshot detected", "Officer down", "Watch me"):
        assert label in page
    response = client.post(
        reverse("devices:alert_rule_set"),
        {"kind": "holster_draw", "priority": "high", "nearby_radius_m": "300"},
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get(agency=police, kind="holster_draw")
    assert (rule.priority, rule.start_recording, rule.nearby_radius_m) == ("high", False, 300)
    assert "Saved the rule for “Holster drawn”" in client.get(reverse("devices:triggers")).text


def test_an_agency_adds_a_type_of_its_own_with_a_label(client, police):
    response = client.post(
        reverse("devices:alert_rule_set"),
        {
            "kind": "door_breach",
            "label": "Door breached",
            "priority": "general",
            "start_recording": "on",
            "nearby_radius_m": "0",
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("devices:triggers")).text
    assert "Door breached" in page and "door_breach" in page


def test_a_bad_rule_is_refused_naming_the_field(client, police):
    response = client.post(
        reverse("devices:alert_rule_set"),
        {"kind": "door_breach", "priority": "general", "nearby_radius_m": "0"},
    )
    assert response.status_code == 400
    assert "Name the new trigger type" in response.text
    response = client.post(
        reverse("devices:alert_rule_set"),
        {"kind": "sos", "priority": "high", "nearby_radius_m": "99999"},
    )
    assert response.status_code == 400 and "From 0 (none) to 5000 metres." in response.text
    assert not AlertRule.objects.filter(agency=police).exists()


def test_a_heartbeat_puts_the_recording_officer_on_the_stream_and_an_idle_one_takes_them_off(
    client, police, camera, settings, django_capture_on_commit_callbacks
):
    from tests.devices.helpers import Camera, beat

    settings.OPS_STREAM_SECONDS = 10
    token_camera = Camera.of(camera, credential_for(camera))
    response = client.get(reverse("devices:operations_events"))
    events = _events(response)
    assert next(events)["locations"] == []
    where = {"lat": 40.71, "lon": -74.0, "at": timezone.now().isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        token_camera.post(reverse("api-devices-heartbeat"), beat("recording", location=where))
    event = next(events)
    assert event["type"] == "location" and event["location"]["serial"] == "BWC-00042"
    assert (event["location"]["lat"], event["location"]["lon"]) == (40.71, -74.0)
    with django_capture_on_commit_callbacks(execute=True):
        token_camera.post(reverse("api-devices-heartbeat"), beat("idle"))
    assert next(events) == {"type": "location_gone", "device": str(camera.pk)}
    response.close()


def test_a_camera_not_heard_from_leaves_the_map_and_its_place_is_forgotten(
    supervisor, police, camera, settings
):
    from devices import selectors as sel
    from devices.services.heartbeat import locations_forget_stale

    Device.objects.filter(pk=camera.pk).update(
        state=Device.State.RECORDING,
        last_location="SRID=4326;POINT(-74.006 40.7128)",
        last_location_at=timezone.now(),
        last_heartbeat_at=timezone.now() - dt.timedelta(seconds=91),
    )
    assert sel.recording_locations_for(actor=supervisor) == []  # silent for over 90 s
    assert locations_forget_stale() == 1
    camera.refresh_from_db()
    assert camera.last_location is None and camera.last_location_at is None
    assert locations_forget_stale() == 0


def test_checking_a_camera_in_forgets_its_place(supervisor, police, camera):
    from devices import services as ds

    Device.objects.filter(pk=camera.pk).update(
        state=Device.State.RECORDING,
        last_location="SRID=4326;POINT(-74.006 40.7128)",
        last_heartbeat_at=timezone.now(),
    )
    ds.device_check_in(actor=supervisor, device=camera)
    camera.refresh_from_db()
    assert camera.last_location is None


def test_a_stream_past_the_processs_share_of_threads_sends_the_snapshot_and_ends(client, settings):
    settings.LIVE_HELD_THREADS_PER_PROCESS = 0
    settings.OPS_STREAM_SECONDS = 30
    chunks = b"".join(client.get(reverse("devices:operations_events")).streaming_content)
    assert chunks.startswith(b"retry: 10000\n") and b'"type":"snapshot"' in chunks


@pytest.mark.django_db(transaction=True)
def test_the_stream_ends_for_good_when_its_user_is_deactivated(make_staff, settings):
    settings.OPS_STREAM_SECONDS = 30
    settings.OPS_KEEPALIVE_SECONDS = 0.3
    supervisor = make_staff(role=Role.SUPERVISOR)
    response = client_for(supervisor).get(reverse("devices:operations_events"))
    chunks = iter(response.streaming_content)
    assert b"snapshot" in next(chunks)
    supervisor.is_active = False
    supervisor.save(update_fields=["is_active"])
    rest = b"".join(chunks)  # ends at the next keep-alive, not after 30 s
    assert rest.endswith(b"event: ended\ndata: {}\n\n")
