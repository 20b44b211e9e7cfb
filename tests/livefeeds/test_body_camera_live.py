"""Body cameras live through the real relay: nginx + nginx-rtmp started by the test, Django's
callbacks answered by the live server, real ffmpeg pushing a clock-stamped test pattern, real
heartbeats over HTTP. Each refusal has a clear outcome within a bound."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from devices.models import Device, DeviceCommand
from livefeeds import services
from livefeeds.models import Publish, ViewSession
from portal.models import AuditEvent
from tests.livefeeds import relayctl
from tests.livefeeds.helpers import (
    first_segment,
    is_publishing,
    live_camera,
    playlist_with_segments,
    push,
    supervisor_of,
    watch,
)

pytestmark = pytest.mark.usefixtures("transactional_db")


def _refused_rows(why: str) -> int:
    return AuditEvent.objects.filter(
        action="live.publish_refused", outcome=AuditEvent.Outcome.DENIED, details__why=why
    ).count()


def test_a_recording_camera_goes_live_and_only_its_viewers_token_opens_the_hls(
    relay, live_server, police
):
    camera = live_camera(police, live_server.url)
    camera.beat("recording")
    proc = push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    assert proc.poll() is None
    supervisor = supervisor_of(police)
    session, token = watch(supervisor, camera)

    playlist = playlist_with_segments(relay, token, camera.stream)
    segment = requests.get(
        relay.hls(token, "live", camera.stream, first_segment(playlist)), timeout=10
    )
    assert segment.status_code == 200
    assert segment.content[:1] == b"\x47"  # an MPEG-TS sync byte
    # A wrong token, a token for another feed, no token: 403 from the relay.
    assert relayctl.status_of(relay.hls("A" * 22, "live", camera.stream)) == 403
    other = live_camera(police, live_server.url)
    assert relayctl.status_of(relay.hls(token, "live", other.stream)) == 403
    assert relayctl.status_of(relay.hls(token, "cam", camera.stream)) == 403
    session.refresh_from_db()
    assert session.last_seen_at is not None
    # The camera was told it is watched, in its next heartbeat.
    kinds = [c["kind"] for c in camera.beat("recording")["commands"]]
    assert DeviceCommand.Kind.BEING_WATCHED in kinds
    # No key in the relay's logs, no viewer token either.
    logs = "".join(p.read_text() for p in (relay.prefix / "logs").glob("*.log"))
    assert camera.key not in logs and token not in logs
    assert f"/hls/-/live/{camera.stream}/index.m3u8" in logs


def test_a_push_with_the_wrong_key_is_refused_within_5_s(relay, live_server, police):
    camera = live_camera(police, live_server.url)
    camera.beat("recording")
    proc = push(relay, camera, key="0" * 64)
    assert proc.wait(timeout=5) != 0
    assert not Publish.objects.exists()
    assert _refused_rows("wrong key") == 1


def test_a_camera_that_is_not_recording_is_refused_within_5_s(relay, live_server, police):
    camera = live_camera(police, live_server.url)
    camera.beat("idle")
    proc = push(relay, camera)
    assert proc.wait(timeout=5) != 0
    assert not Publish.objects.exists()
    assert _refused_rows("not recording") == 1


def test_a_stream_ends_at_once_when_the_camera_stops_recording(relay, live_server, police):
    camera = live_camera(police, live_server.url)
    camera.beat("recording")
    proc = push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    camera.beat("idle")  # /control/drop, without waiting for on_update
    assert proc.wait(timeout=3) != 0
    relayctl.wait_for(lambda: not is_publishing(camera), timeout=3)


def test_on_update_cuts_a_camera_whose_credential_was_revoked(relay, live_server, police):
    camera = live_camera(police, live_server.url)
    camera.beat("recording")
    proc = push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    camera.device.credentials.update(revoked_at=timezone.now())
    # The fixture's relay asks again every 3 s.
    assert proc.wait(timeout=10) != 0
    relayctl.wait_for(lambda: Publish.objects.get().ended_at, timeout=3)
    assert Publish.objects.get().end_reason == "refused: wrong key"


def test_on_update_cuts_a_camera_no_longer_recording_even_without_the_drop(
    relay, live_server, police
):
    """The heartbeat's drop is the fast path; on_update alone also ends the stream (here the
    state changes behind the heartbeat's back, so no drop is sent)."""
    camera = live_camera(police, live_server.url)
    camera.beat("recording")
    proc = push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    Device.objects.filter(pk=camera.device.pk).update(state=Device.State.IDLE)
    assert proc.wait(timeout=10) != 0  # the fixture's relay asks every 3 s
    relayctl.wait_for(lambda: Publish.objects.get().ended_at, timeout=3)
    assert Publish.objects.get().end_reason == "refused: not recording"


def test_revoked_and_expired_views_get_403_on_the_very_next_request(relay, live_server, police):
    camera = live_camera(police, live_server.url)
    camera.beat("recording")
    push(relay, camera)
    relayctl.wait_for(lambda: is_publishing(camera), timeout=10)
    supervisor = supervisor_of(police)
    session, token = watch(supervisor, camera)
    playlist_with_segments(relay, token, camera.stream)
    assert relayctl.status_of(relay.hls(token, "live", camera.stream)) == 200  # cached allow
    services.view_revoke(actor=supervisor_of(police), session=session, reason="Not needed")
    assert relayctl.status_of(relay.hls(token, "live", camera.stream)) == 403

    second, token2 = watch(supervisor, camera)
    assert relayctl.status_of(relay.hls(token2, "live", camera.stream)) == 200
    now = timezone.now()
    ViewSession.objects.filter(pk=second.pk).update(
        started_at=now - dt.timedelta(minutes=15), expires_at=now - dt.timedelta(seconds=1)
    )
    relayctl.wait_for(
        lambda: relayctl.status_of(relay.hls(token2, "live", camera.stream)) == 403, timeout=1.5
    )


def test_with_django_down_nginx_refuses_publish_and_hls(settings, police, live_server):
    down = f"http://127.0.0.1:{relayctl.free_port()}"
    relay = relayctl.start(down, settings.RELAY_SECRET)
    try:
        camera = live_camera(police, live_server.url)
        camera.beat("recording")
        proc = push(relay, camera)
        assert proc.wait(timeout=5) != 0
        status = relayctl.status_of(relay.hls("A" * 22, "live", camera.stream))
        assert status >= 400  # auth_request could not ask: 500, never the file
    finally:
        relayctl.quiesce(relay)


def test_a_token_cannot_walk_to_another_feeds_files(relay, live_server, police):
    """nginx serves the decoded, normalised path and Django is asked about the raw one: an
    encoded slash or a dot segment must not let one feed's token reach another feed's files."""
    camera, other = live_camera(police, live_server.url), live_camera(police, live_server.url)
    for each in (camera, other):
        each.beat("recording")
    pushes = [push(relay, camera), push(relay, other)]
    relayctl.wait_for(lambda: is_publishing(camera) and is_publishing(other), timeout=10)
    session, token = watch(supervisor_of(police), camera)
    playlist_with_segments(relay, token, camera.stream)
    base = relay.hls(token, "live", camera.stream, "")
    for walk in (
        f"..%2F{other.stream}%2Findex.m3u8",
        f"..%2F..%2Flive%2F{other.stream}%2Findex.m3u8",
        f"%2E%2E%2F{other.stream}%2Findex.m3u8",
    ):
        assert relayctl.status_of(base + walk) == 403, walk
    assert relayctl.status_of(relay.hls(token, "live", camera.stream)) == 200
    for each in pushes:
        each.terminate()
