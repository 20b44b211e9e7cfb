"""The relay manager with a real camera (GStreamer RTSP), real ffmpeg, real Redis, and a real
RTMP receiver (ffmpeg listening) standing in for the relay's `cam` app."""

import os
import threading

import pytest
from django.db import connections

from livefeeds import relaystate
from livefeeds.relaymgr import RelayManager, publish_url
from registry import feeds, selectors
from tests.livefeeds.cctv.helpers import RtmpReceiver, ffprobe_streams, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stream(camera):
    return selectors.live_stream_of(camera)


@pytest.fixture
def receiver(stream, tmp_path, settings):
    rtmp = RtmpReceiver(tmp_path, stream)
    settings.RELAY_RTMP_PORT = rtmp.port
    rtmp.start()
    yield rtmp
    rtmp.stop()


@pytest.fixture
def manager():
    made: list[RelayManager] = []

    def make(**kwargs) -> RelayManager:
        kwargs.setdefault("backoff_min", 0.5)
        kwargs.setdefault("backoff_max", 2)
        kwargs.setdefault("socket_timeout", 2)
        mgr = RelayManager(**kwargs)
        made.append(mgr)
        return mgr

    yield make
    for mgr in made:
        mgr.stop_all()


def _link(camera, owner, cam, mode="always", police=None):
    feeds.feed_set(
        actor=owner,
        camera_id=camera.pk,
        address=cam.address,
        username=cam.user,
        password=cam.password,
    )
    feeds.live_policy_set(
        actor=owner, camera_id=camera.pk, mode=mode, agency_id=police.pk if police else None
    )


def _state(stream):
    return (relaystate.status(stream) or {}).get("state")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): read its state.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def _tick_until(mgr, predicate, timeout):
    def check():
        mgr.tick()
        return predicate()

    return wait_until(check, timeout, step=0.25)


def test_publish_url_names_the_cam_app_and_carries_a_one_time_key(settings, stream):
    settings.RELAY_RTMP_PORT = 19350
    key = relaystate.publish_key_issue(stream)
    assert publish_url(stream, key) == f"rtmp://127.0.0.1:19350/cam/{stream}?relay={key}"
    assert not relaystate.publish_key_spend("b" * 32, key)  # another stream's key
    assert relaystate.publish_key_spend(stream, key)
    assert not relaystate.publish_key_spend(stream, key)  # spent
    assert not relaystate.publish_key_spend(stream, "")


def test_a_wanted_camera_is_pulled_into_the_relay_with_audio_as_aac_and_stops_when_idle(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    cam = rtsp_camera(audio="pcmu", user="viewer", password="pw-123456")
    _link(camera, cam_owner, cam, police=police)
    mgr = manager(idle_seconds=4)
    mgr.tick()
    assert mgr.running() == {}  # nobody wants it yet

    relaystate.want(stream)
    mgr.tick()
    [pid] = mgr.running().values()
    assert _state(stream) == "connecting"
    _tick_until(mgr, lambda: _state(stream) == "live", 15)
    # A viewer keeps it going past the idle time.
    for _ in range(8):
        relaystate.seen(stream)
        mgr.tick()
        threading.Event().wait(0.75)
    assert mgr.running() == {stream: pid}
    # Then nobody asks: stopped, reaped, and no longer wanted.
    _tick_until(mgr, lambda: not mgr.running(), 10)
    assert not _alive(pid)
    assert stream not in relaystate.wanted()
    assert _state(stream) == "stopped"
    receiver.stop()
    [recorded, *_] = receiver.recorded()
    codecs, duration = ffprobe_streams(recorded)
    assert codecs == ["h264", "aac"]
    assert duration > 3
    assert "pw-123456" not in str(relaystate.status(stream))


def test_the_relay_restarts_after_the_camera_dies_and_comes_back(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    cam = rtsp_camera()
    _link(camera, cam_owner, cam, police=police)
    mgr = manager(idle_seconds=120)
    relaystate.want(stream)
    _tick_until(mgr, lambda: _state(stream) == "live", 15)
    [first] = mgr.running().values()

    cam.stop()
    _tick_until(mgr, lambda: _state(stream) == "unreachable", 20)
    assert not _alive(first)

    cam.start()  # same port
    _tick_until(mgr, lambda: _state(stream) == "live", 20)
    [second] = mgr.running().values()
    assert second != first
    mgr.stop_all()
    assert not _alive(second)
    # The receiver writes the second run's file out as that publisher leaves (its ffmpeg
    # buffers until then), a moment after the stop, longer on a loaded machine.
    wait_until(lambda: len(receiver.recorded()) >= 2, 10)


def test_an_h265_camera_is_reported_not_h264(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    cam = rtsp_camera(codec="h265")
    _link(camera, cam_owner, cam, police=police)
    mgr = manager()
    relaystate.want(stream)
    _tick_until(mgr, lambda: _state(stream) == "not_h264", 15)
    assert "hevc" in relaystate.status(stream)["detail"]
    assert mgr.running() == {}


def test_an_unreachable_camera_is_reported_and_retried(
    camera, cam_owner, police, private_sources, receiver, stream, manager
):
    from tests.livefeeds.cctv.helpers import RtspCamera

    cam = RtspCamera()  # never started: its port is closed
    _link(camera, cam_owner, cam, police=police)
    mgr = manager()
    relaystate.want(stream)
    _tick_until(mgr, lambda: _state(stream) == "unreachable", 10)
    assert mgr.relays[stream].failures >= 1
    _tick_until(mgr, lambda: mgr.relays[stream].failures >= 2, 10)


def test_wrong_credentials_are_reported(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    cam = rtsp_camera(user="viewer", password="right-password")
    cam.password = "wrong-password"
    _link(camera, cam_owner, cam, police=police)
    mgr = manager()
    relaystate.want(stream)
    _tick_until(mgr, lambda: _state(stream) == "wrong_credentials", 15)
    assert "wrong-password" not in str(relaystate.status(stream))


def test_the_owners_pause_stops_the_relay_at_once(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    cam = rtsp_camera()
    _link(camera, cam_owner, cam, police=police)
    mgr = manager(idle_seconds=120)
    relaystate.want(stream)
    _tick_until(mgr, lambda: _state(stream) == "live", 15)
    [pid] = mgr.running().values()
    feeds.live_pause(actor=cam_owner, camera_id=camera.pk)
    mgr.tick()
    assert mgr.running() == {}
    assert not _alive(pid)
    assert relaystate.status(stream)["detail"] == "the owner paused live sharing"


def test_the_relaymgr_command_runs_until_sigterm_and_leaves_no_ffmpeg_behind(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, settings
):
    import signal

    from django.core.management import call_command

    cam = rtsp_camera()
    _link(camera, cam_owner, cam, police=police)
    settings.RELAYMGR_SOCKET_TIMEOUT_SECONDS = 2
    relaystate.want(stream)
    seen_pids: list[int] = []

    def stop_when_live() -> None:
        wait_until(lambda: _state(stream) == "live", 20, step=0.2)
        seen_pids.extend(
            int(p) for p in os.listdir("/proc") if p.isdigit() and _is_relay_of(int(p), stream)
        )
        os.kill(os.getpid(), signal.SIGTERM)

    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    watcher = threading.Thread(target=stop_when_live, daemon=True)
    watcher.start()
    try:
        call_command("relaymgr", poll=0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    watcher.join(timeout=5)
    assert seen_pids, "no relay ffmpeg ran"
    assert not any(_alive(pid) for pid in seen_pids)
    assert _state(stream) == "stopped"


def _is_relay_of(pid: int, stream: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return (
        bool(argv)
        and argv[0].endswith(b"ffmpeg")
        and any(f"/cam/{stream}?".encode() in a for a in argv)
    )


def _cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


def test_ffmpeg_gets_the_checked_address_and_no_secret_on_its_command_line(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager,
    monkeypatch, settings,
):  # fmt: skip
    """A name ffmpeg itself cannot resolve (.invalid) works: ffmpeg was handed the address
    checked at the start. Neither the password nor the relay's secret is readable in /proc."""
    cam = rtsp_camera(user="viewer", password="pw-cmdline-77")
    monkeypatch.setattr(feeds, "_resolve", lambda host: ["127.0.0.1"])
    feeds.feed_set(
        actor=cam_owner,
        camera_id=camera.pk,
        address=f"rtsp://camera.invalid:{cam.port}/stream",
        username=cam.user,
        password=cam.password,
    )
    feeds.live_policy_set(actor=cam_owner, camera_id=camera.pk, mode="always", agency_id=police.pk)
    mgr = manager(idle_seconds=120)
    relaystate.want(stream)
    _tick_until(mgr, lambda: _state(stream) == "live", 15)
    [pid] = mgr.running().values()
    argv = _cmdline(pid)
    assert b"pw-cmdline-77" not in argv
    assert b"viewer" not in argv
    assert b"rtsp://" not in argv
    assert settings.RELAY_SECRET.encode() not in argv
    assert mgr.relays[stream].publish_key.encode() in argv  # one publish only, then spent
    assert "pw-cmdline-77" not in str(relaystate.status(stream))


def test_a_name_that_resolves_to_a_private_address_at_start_is_refused_and_not_pulled(
    camera, cam_owner, police, receiver, stream, manager, monkeypatch, settings
):
    """DNS rebinding: the name was public when the owner saved it, and points into the
    server's network when the relay starts. Refused at the start, and no ffmpeg runs."""
    settings.RELAYMGR_ALLOW_PRIVATE_SOURCES = False
    answers = {"camera.example.com": ["93.184.216.34"]}
    monkeypatch.setattr(feeds, "_resolve", lambda host: answers[host])
    feeds.feed_set(
        actor=cam_owner,
        camera_id=camera.pk,
        address="rtsp://camera.example.com:554/stream",
        username="",
        password="",
    )
    feeds.live_policy_set(actor=cam_owner, camera_id=camera.pk, mode="always", agency_id=police.pk)
    before = {p for p in os.listdir("/proc") if p.isdigit() and _is_relay_of(int(p), stream)}
    mgr = manager()
    relaystate.want(stream)
    for rebound in (["10.0.0.5"], ["127.0.0.1"], ["169.254.169.254"], ["93.184.216.34", "::1"],
                    ["224.0.0.1"], ["240.0.0.1"]):  # fmt: skip
        answers["camera.example.com"] = rebound
        mgr.relays.pop(stream, None)
        mgr.tick()
        status = relaystate.status(stream)
        assert status["state"] == "unreachable", rebound
        assert status["detail"].startswith("refused:"), rebound
        assert mgr.running() == {}
    after = {p for p in os.listdir("/proc") if p.isdigit() and _is_relay_of(int(p), stream)}
    assert after == before == set()


class _RedirectingCamera:
    """An RTSP server that answers every request with 302 to `target` (a camera that would
    send the relay elsewhere)."""

    def __init__(self, target: str):
        import socket

        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.answered = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                cseq = next(
                    (line.split(":", 1)[1].strip() for line in data.decode().split("\r\n")
                     if line.lower().startswith("cseq:")),
                    "1",
                )  # fmt: skip
                conn.sendall(
                    f"RTSP/1.0 302 Moved Temporarily\r\nCSeq: {cseq}\r\n"
                    f"Location: {self.target}\r\nContent-Length: 0\r\n\r\n".encode()
                )
                self.answered.set()

    def close(self) -> None:
        self.sock.close()


def test_a_camera_that_redirects_the_relay_is_stopped_and_refused(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    """ffmpeg cannot be told not to follow an RTSP redirect: the relay manager kills it as it
    says it does, and nothing from the new address is relayed."""
    elsewhere = rtsp_camera()  # stands in for a host in the server's own network
    redirecting = _RedirectingCamera(elsewhere.address)
    try:
        feeds.feed_set(
            actor=cam_owner,
            camera_id=camera.pk,
            address=f"rtsp://127.0.0.1:{redirecting.port}/stream",
            username="",
            password="",
        )
        feeds.live_policy_set(
            actor=cam_owner, camera_id=camera.pk, mode="always", agency_id=police.pk
        )
        mgr = manager(idle_seconds=120)
        relaystate.want(stream)
        seen_states = set()

        def refused():
            seen_states.add(_state(stream))
            status = relaystate.status(stream) or {}
            return "redirected" in status.get("detail", "")

        _tick_until(mgr, refused, 15)
        assert redirecting.answered.is_set()
        assert "live" not in seen_states
        assert _state(stream) == "unreachable"
        assert mgr.running() == {}
    finally:
        redirecting.close()
    receiver.stop()
    assert receiver.recorded() == []


def test_a_want_wakes_the_manager_before_its_next_poll(stream):
    """The viewer waits for the manager to notice a want: want() wakes its wait at once."""
    relaystate.client().delete(relaystate.wake_key())
    assert relaystate.wait_for_want(0.2) is False  # nothing wanted: the wait runs out
    woke = threading.Event()

    def waiter():
        if relaystate.wait_for_want(1.0):  # the longest wait the manager asks for
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    relaystate.want(stream)
    thread.join(30)
    assert woke.is_set()  # woken by the want, not by the wait running out
    # Wakes that piled up count as one: the next wait finds none left.
    relaystate.want(stream)
    relaystate.want(stream)
    assert relaystate.wait_for_want(0.2) is True
    assert relaystate.wait_for_want(0.2) is False


def test_the_manager_loop_starts_a_wanted_relay_without_waiting_for_its_poll(
    camera, cam_owner, police, rtsp_camera, private_sources, receiver, stream, manager
):
    cam = rtsp_camera()
    _link(camera, cam_owner, cam, police=police)
    mgr = manager(idle_seconds=120)
    stop = threading.Event()
    waiting = threading.Event()
    wait = mgr._wait

    def observed_wait(stop_, poll):
        waiting.set()
        wait(stop_, poll)

    mgr._wait = observed_wait  # type: ignore[method-assign]

    def run_loop():
        try:
            mgr.run(stop, poll=120)
        finally:
            connections.close_all()  # this thread's own connection

    loop = threading.Thread(target=run_loop)
    loop.start()
    try:
        assert waiting.wait(30)  # the first tick found nothing wanted; now it waits
        assert mgr.running() == {}
        relaystate.want(stream)
        # With a 120 s poll, only the wake can start it within the wait.
        assert wait_until(lambda: bool(mgr.running()), 60, step=0.25)
    finally:
        stop.set()
        loop.join(30)
    assert not loop.is_alive()
