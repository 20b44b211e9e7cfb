"""Viewing sessions, without the relay: who may watch, why, for how long, how many at once,
revocation, expiry, the audit trail, what the camera is told, and the officer's own page."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, DeviceCommand
from devices.services.triggers import TriggerIn, trigger_receive
from livefeeds import relaystate, services
from livefeeds.models import ViewSession
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.evidence.cases_helpers import verified
from tests.factories import UserFactory, add_totp_device
from tests.livefeeds.helpers import supervisor_of

pytestmark = pytest.mark.django_db


def _recording_device(agency) -> Device:
    device = DeviceFactory(agency=agency)
    assigned(device, officer_of(agency, full_name="Olive Officer"))
    credential_for(device)
    Device.objects.filter(pk=device.pk).update(
        state=Device.State.RECORDING, last_heartbeat_at=timezone.now()
    )
    device.refresh_from_db()
    return device


def _staff(agency, role):
    user = UserFactory(agency=agency, role=role)
    add_totp_device(user)
    return verified(user)


def _start(user, device, **kwargs):
    fields = {"reason": "Backup on the way", "case_ref": "CAD-7", **kwargs}
    return services.view_start(actor=user, device=device, **fields)


def test_supervisors_and_dispatchers_may_watch_investigators_and_officers_may_not(police):
    device = _recording_device(police)
    for role in (Role.SUPERVISOR, Role.DISPATCHER):
        session, token = _start(_staff(police, role), device)
        assert len(token) == 22  # 128 bits, URL-safe base64
        assert session.token_hash != token
    for role in (Role.INVESTIGATOR, Role.OFFICER):
        with pytest.raises(PermissionDenied):
            _start(_staff(police, role), device)


def test_another_agencys_supervisor_may_not_watch(police, other_police):
    with pytest.raises(PermissionDenied):
        _start(supervisor_of(other_police), _recording_device(police))


def test_a_reason_and_a_case_number_are_required(police):
    device = _recording_device(police)
    with pytest.raises(ValidationError) as error:
        _start(supervisor_of(police), device, reason=" ", case_ref="")
    assert set(error.value.message_dict) == {"reason", "case_ref"}


def test_a_camera_not_recording_refuses_with_a_clear_reason(police):
    device = _recording_device(police)
    Device.objects.filter(pk=device.pk).update(state=Device.State.IDLE)
    with pytest.raises(services.ViewRefused, match="not recording"):
        _start(supervisor_of(police), device)
    assert AuditEvent.objects.filter(
        action="live.view_refused", outcome=AuditEvent.Outcome.DENIED
    ).exists()


def test_too_many_viewers_for_one_feed_are_refused(police, settings):
    settings.LIVE_VIEWERS_PER_FEED = 2
    device = _recording_device(police)
    _start(supervisor_of(police), device)
    _start(supervisor_of(police), device)
    with pytest.raises(services.ViewRefused, match="Too many viewers: 2 already watch"):
        _start(supervisor_of(police), device)


def test_start_renew_end_are_audited_with_reason_case_and_duration(police, settings):
    device = _recording_device(police)
    supervisor = supervisor_of(police)
    session, _ = _start(supervisor, device)
    started = AuditEvent.objects.get(action="live.view_started")
    assert (started.reason, started.case_ref) == ("Backup on the way", "CAD-7")
    ViewSession.objects.filter(pk=session.pk).update(
        expires_at=timezone.now() + dt.timedelta(minutes=1)
    )
    session.refresh_from_db()
    services.view_renew(actor=supervisor, session=session)
    assert AuditEvent.objects.filter(action="live.view_renewed").exists()
    services.view_end(actor=supervisor, session=session)
    ended = AuditEvent.objects.get(action="live.view_ended")
    assert ended.details["end"] == "stopped" and ended.details["seconds"] >= 0


def test_renewal_stops_at_the_agencys_cap(police, settings):
    settings.LIVE_VIEW_MINUTES = 15
    settings.LIVE_VIEW_CAP_MINUTES = 20
    device = _recording_device(police)
    supervisor = supervisor_of(police)
    session, _ = _start(supervisor, device)
    ViewSession.objects.filter(pk=session.pk).update(
        started_at=session.started_at - dt.timedelta(minutes=10),
        expires_at=session.expires_at - dt.timedelta(minutes=10),
    )
    session.refresh_from_db()
    renewed = services.view_renew(actor=supervisor, session=session)
    assert renewed.expires_at == session.started_at + dt.timedelta(minutes=20)


def test_only_the_viewer_renews_and_only_a_supervisor_revokes(police):
    device = _recording_device(police)
    dispatcher = _staff(police, Role.DISPATCHER)
    session, _ = _start(dispatcher, device)
    with pytest.raises(PermissionDenied):
        services.view_renew(actor=supervisor_of(police), session=session)
    with pytest.raises(PermissionDenied):
        services.view_revoke(actor=_staff(police, Role.DISPATCHER), session=session, reason="x")
    services.view_revoke(actor=supervisor_of(police), session=session, reason="Not needed")
    session.refresh_from_db()
    assert session.end == ViewSession.End.REVOKED
    revoked = AuditEvent.objects.get(action="live.view_revoked")
    assert revoked.reason == "Not needed"


def test_expired_views_are_closed_and_audited_by_the_task(police):
    device = _recording_device(police)
    session, _ = _start(supervisor_of(police), device)
    now = timezone.now()
    ViewSession.objects.filter(pk=session.pk).update(
        started_at=now - dt.timedelta(minutes=15), expires_at=now - dt.timedelta(seconds=1)
    )
    from livefeeds.tasks import close_expired_views

    assert close_expired_views() == 1
    session.refresh_from_db()
    assert session.end == ViewSession.End.EXPIRED
    assert session.ended_at == session.expires_at
    assert AuditEvent.objects.get(action="live.view_ended").details["end"] == "expired"


def test_the_camera_is_told_when_a_viewer_joins_and_leaves(police):
    device = _recording_device(police)
    supervisor = supervisor_of(police, full_name="Sam Supervisor")
    session, _ = _start(supervisor, device)
    services.view_end(actor=supervisor, session=session)
    commands = list(DeviceCommand.objects.filter(device=device).order_by("created_at"))
    assert [c.kind for c in commands] == ["being_watched", "watch_ended"]
    assert "Sam Supervisor" in commands[0].reason and "Backup on the way" in commands[0].reason


def test_the_officer_sees_who_watched_their_camera_and_why(police):
    device = _recording_device(police)
    officer = device.assignments.get().officer
    add_totp_device(officer)
    supervisor = supervisor_of(police, full_name="Sam Supervisor")
    _start(supervisor, device, reason="Subject advancing")
    page = client_for(officer).get(reverse("livefeeds:watched_me"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sam Supervisor" in text and "Subject advancing" in text and "CAD-7" in text
    # Someone else's page does not list it.
    other = officer_of(police)
    add_totp_device(other)
    assert (
        "Subject advancing"
        not in client_for(other).get(reverse("livefeeds:watched_me")).content.decode()
    )


def test_watch_me_fills_the_reason_in_as_officer_requested(police):
    device = _recording_device(police)
    trigger_receive(
        agency=police, event=TriggerIn(kind="watch_me", occurred_at=timezone.now()), device=device
    )
    supervisor = supervisor_of(police)
    client = client_for(supervisor)
    listed = client.get(reverse("livefeeds:list"))
    assert b"Watch (officer-requested)" in listed.content
    page = client.get(reverse("livefeeds:watch", args=[device.pk]))
    assert page.status_code == 200
    initial = page.context["form"].initial
    assert initial["reason"] == services.WATCH_ME_REASON
    assert initial["reason_category"] == "officer_requested"
    assert b"watch-me-alert" in page.content
    response = client.post(
        reverse("livefeeds:watch", args=[device.pk]),
        {
            "reason": services.WATCH_ME_REASON,
            "case_ref": initial["case_ref"],
            "reason_category": initial["reason_category"],
        },
    )
    assert response.status_code == 302
    session = ViewSession.objects.get()
    assert session.alert is not None and session.alert.kind == "watch_me"


def test_the_watch_page_says_why_it_refuses(police, settings):
    settings.LIVE_VIEWERS_PER_FEED = 0
    device = _recording_device(police)
    response = client_for(supervisor_of(police)).post(
        reverse("livefeeds:watch", args=[device.pk]),
        {"reason": "r", "case_ref": "c", "reason_category": "incident"},
    )
    assert response.status_code == 409
    assert b"Too many viewers" in response.content


@pytest.mark.parametrize("category", ["", "unspecified", "made_up", "<b>x</b>"])
def test_a_view_needs_a_reason_category_from_the_list(police, category):
    device = _recording_device(police)
    supervisor = supervisor_of(police)
    response = client_for(supervisor).post(
        reverse("livefeeds:watch", args=[device.pk]),
        {"reason": "Subject advancing", "case_ref": "CAD-1", "reason_category": category},
    )
    assert response.status_code == 200
    assert "reason_category" in response.context["form"].errors
    assert not ViewSession.objects.exists()
    with pytest.raises(ValidationError) as error:
        _start(supervisor, device, reason_category=category)
    assert set(error.value.message_dict) == {"reason_category"}


def test_the_category_is_kept_and_audited(police):
    device = _recording_device(police)
    session, _token = _start(supervisor_of(police), device, reason_category="missing_person")
    assert ViewSession.objects.get().reason_category == "missing_person"
    started = AuditEvent.objects.get(action="live.view_started")
    assert started.details["reason_category"] == "missing_person"


def test_the_relay_hooks_answer_only_loopback_with_the_secret(client, settings, police):
    url = reverse("relay:auth_hls")
    assert client.get(url, {"secret": settings.RELAY_SECRET}).status_code == 403  # no URI
    device = _recording_device(police)
    session, token = _start(supervisor_of(police), device)
    uri = f"/hls/{token}/live/{device.pk.hex}/index.m3u8"
    ok = client.get(url, {"secret": settings.RELAY_SECRET}, HTTP_X_ORIGINAL_URI=uri)
    assert ok.status_code == 204
    wrong = client.get(url, {"secret": "nope"}, HTTP_X_ORIGINAL_URI=uri)
    assert wrong.status_code == 403
    remote = client.get(
        url, {"secret": settings.RELAY_SECRET}, HTTP_X_ORIGINAL_URI=uri, REMOTE_ADDR="10.1.2.3"
    )
    assert remote.status_code == 403
    publish = client.post(
        f"{reverse('relay:on_publish')}?secret={settings.RELAY_SECRET}",
        {"app": "cam", "name": "a" * 32, "relay": settings.RELAY_SECRET, "addr": "10.0.0.9"},
    )
    assert publish.status_code == 403  # a CCTV relay publishes from this host only
    publish = client.post(
        f"{reverse('relay:on_publish')}?secret={settings.RELAY_SECRET}",
        {
            "app": "cam",
            "name": "a" * 32,
            "relay": relaystate.publish_key_issue("a" * 32),
            "addr": "127.0.0.1",
        },
    )
    assert publish.status_code == 403  # from this host, but no such camera
    assert list(
        AuditEvent.objects.filter(action="live.publish_refused")
        .order_by("at")
        .values_list("details__why", flat=True)
    ) == ["not from this host", "unknown camera"]


@pytest.mark.parametrize(
    "uri",
    [
        "/hls/tok/live/abc/..%2Fother%2Findex.m3u8",
        "/hls/tok/live/abc/../other/index.m3u8",
        "/hls/tok/live/abc%2F..%2Fother/index.m3u8",
        "/hls/tok/other/abc/index.m3u8",
        "/hls/tok/live/abc/index.mp4",
        "/hls/tok/live/abc/def/index.m3u8",
    ],
)
def test_the_hls_gate_knows_only_plain_paths_of_its_own_apps(uri):
    # nginx serves the decoded, normalised path; the gate reads the raw one, so anything that
    # could decode to another feed's file is no path at all.
    assert services.hls_path_parts(uri) is None
    assert services.hls_path_parts("/hls/tok/live/abc/1733333333000.ts") == ("tok", "live", "abc")
