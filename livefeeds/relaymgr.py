"""The relay manager: one `ffmpeg -c copy` per wanted CCTV camera, only while it is wanted.

A long-running process (`manage.py relaymgr`, the Procfile's `relaymgr:` line), not a Celery
task: it owns child processes and per-camera state. Every tick it reads the wanted set and the
last-viewer times from Redis (livefeeds/relaystate.py) and, per stream:
- starts ffmpeg (RTSP over TCP in, RTMP to the relay's `cam` app out, audio to AAC) if the
  owner's stream may be relayed at all (a stream linked, not paused, a policy other than never;
  who may watch is decided per viewer by livefeeds.cctv);
- reports connecting, live, unreachable, not_h264 or wrong_credentials from ffmpeg's messages
  (scrubbed of the stream's credentials and its one-time publish key);
- restarts it with exponential backoff while the stream is still wanted;
- stops it, and drops the stream from the wanted set, RELAYMGR_IDLE_SECONDS after the last
  viewer request (or after it was wanted with no viewer at all), and at once when the owner
  pauses or unlinks the stream.
Secrets stay off ffmpeg's command line (which every local user can read in /proc): the RTSP
URL with the owner's credentials reaches ffmpeg through a pipe (media.relay_argv), and the
publish URL carries a key good for one publish (relaystate.publish_key_issue). The camera's
host name is resolved and checked at every start (registry.feeds.relay_pinned) and ffmpeg is
given the checked address, so DNS rebinding cannot point the relay at this server's
neighbourhood. ffmpeg 5.1 has no option to refuse an RTSP redirect (`ffmpeg -h demuxer=rtsp`):
it is killed the moment it says it follows one (its connect to the new address may still
happen, nothing is relayed from it), which README's live feeds section notes.
Children are always reaped: SIGTERM to the process group, SIGKILL after a grace period (an
ffmpeg waiting on the network may ignore SIGTERM, livefeeds.md trap 9), and they die with us.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections
from redis.exceptions import RedisError

from livefeeds import relaystate
from portal import media
from registry import feeds, selectors

log = logging.getLogger(__name__)

_INPUT_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: (\w+)")
# ffmpeg's rtsp demuxer says this (at info) just before it follows a 3xx to another address.
_REDIRECT = re.compile(r"Status 3\d\d: Redirecting to ")


def _setting(name: str, default):
    return getattr(settings, name, default)


def publish_url(stream: str, key: str) -> str:
    """Where the relay's ffmpeg publishes, with a one-time key (relaystate.publish_key_issue):
    the URL is on ffmpeg's command line, readable by other local users, so it carries no
    lasting secret."""
    port = _setting("RELAY_RTMP_PORT", 19350)
    return f"rtmp://127.0.0.1:{port}/cam/{stream}?relay={key}"


@dataclass
class Relay:
    """One wanted stream: its ffmpeg (if running), what ffmpeg said, and its restart plan."""

    stream: str
    wanted_since: float
    proc: subprocess.Popen | None = None
    # The owner's URL as saved (a change restarts the relay), and the one ffmpeg was given:
    # its host replaced by the address checked at the start.
    source_url: str = ""
    url: str = ""
    publish_key: str = ""
    lines: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    video_codec: str | None = None
    output_open: bool = False
    state: str = ""
    failures: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    reader: threading.Thread | None = None
    redirected: bool = False


class RelayManager:
    """Keeps the running relays in line with the wanted set; `tick()` once per poll."""

    def __init__(
        self,
        *,
        idle_seconds: float | None = None,
        backoff_min: float | None = None,
        backoff_max: float | None = None,
        socket_timeout: float | None = None,
    ):
        self.idle_seconds = idle_seconds or _setting("RELAYMGR_IDLE_SECONDS", 20)
        self.backoff_min = backoff_min or _setting("RELAYMGR_BACKOFF_MIN_SECONDS", 1)
        self.backoff_max = backoff_max or _setting("RELAYMGR_BACKOFF_MAX_SECONDS", 30)
        self.socket_timeout = socket_timeout or _setting("RELAYMGR_SOCKET_TIMEOUT_SECONDS", 5)
        self.cpu_seconds = _setting("RELAYMGR_CPU_SECONDS", 6 * 3600)
        self.relays: dict[str, Relay] = {}

    # --- one pass ---------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        wanted = relaystate.wanted()
        for stream in wanted:
            if stream not in self.relays:
                self.relays[stream] = Relay(stream=stream, wanted_since=now)
        for stream, relay in list(self.relays.items()):
            if stream not in wanted:
                self._drop(relay, "no longer wanted")
                continue
            self._tick_one(relay, now)

    def _tick_one(self, relay: Relay, now: float) -> None:
        seen = relaystate.last_seen(relay.stream) or 0.0
        if now - max(seen, relay.wanted_since) > self.idle_seconds:
            self._drop(relay, "no viewer")
            relaystate.unwant(relay.stream)
            return
        camera = selectors.camera_for_live_stream(relay.stream)
        url, why = feeds.feed_for_relay(camera) if camera is not None else (None, "no camera")
        if url is None:
            self._drop(relay, why)
            relaystate.unwant(relay.stream)
            return
        if relay.proc is not None:
            self._watch(relay, url, now)
        if relay.proc is None and now >= relay.next_start:
            pinned, why = feeds.relay_pinned(url)
            if pinned is None:
                # Resolved again at every start: the name may point elsewhere since the owner
                # saved it. Nothing is started.
                relay.source_url = url
                self._failed(relay, "unreachable", f"refused: {why}", now)
                return
            self._start(relay, url, pinned, now)

    # --- children ---------------------------------------------------------------------

    def _start(self, relay: Relay, url: str, pinned: str, now: float) -> None:
        relay.source_url, relay.url, relay.video_codec, relay.output_open = url, pinned, None, False
        relay.redirected = False
        relay.lines.clear()
        relay.publish_key = relaystate.publish_key_issue(relay.stream)
        target = publish_url(relay.stream, relay.publish_key)
        argv = media.relay_argv(pinned, target, socket_timeout=self.socket_timeout)
        relay.proc = media.relay_spawn(argv, cpu_seconds=self.cpu_seconds)
        relay.started_at = now
        relay.reader = threading.Thread(
            target=self._read, args=(relay, relay.proc), daemon=True, name=f"relay-{relay.stream}"
        )
        relay.reader.start()
        self._status(relay, "connecting", "")
        log.info("relay %s started (pid %s)", relay.stream, relay.proc.pid)

    def _read(self, relay: Relay, proc: subprocess.Popen) -> None:
        """Drain ffmpeg's stderr (so it never blocks on a full pipe) and note what matters."""
        for raw in proc.stderr or ():
            line = self._scrub(relay, raw.decode("utf-8", "replace").strip())
            if not line:
                continue
            relay.lines.append(line)
            if _REDIRECT.search(line) and not relay.redirected:
                # ffmpeg 5.1 cannot be told not to follow it: stop it at once instead. It has
                # been printed just before ffmpeg connects to the new address, so that connect
                # may still happen, but nothing from there is relayed.
                relay.redirected = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            match = _INPUT_VIDEO.search(line)
            if match and relay.video_codec is None and not relay.output_open:
                relay.video_codec = match.group(1)
            if line.startswith("Output #0"):
                relay.output_open = True

    def _scrub(self, relay: Relay, text: str) -> str:
        text = media.stream_scrub(text, relay.url) if relay.url else text
        return text.replace(relay.publish_key, "…") if relay.publish_key else text

    def _watch(self, relay: Relay, url: str, now: float) -> None:
        if relay.proc is None:
            return
        if url != relay.source_url:
            # The owner changed the stream: start again on the new one at once.
            self._kill(relay)
            relay.next_start = now
            return
        if relay.video_codec and relay.video_codec != "h264":
            self._kill(relay)
            self._failed(relay, "not_h264", f"the camera sends {relay.video_codec}, not H.264", now)
            return
        code = relay.proc.poll()
        if code is None:
            if relay.output_open and relay.state != "live":
                relay.failures = 0
                self._status(relay, "live", "")
            elif relay.state == "live":
                self._status(relay, "live", "", quiet=True)
            return
        self._reap(relay)
        if relay.redirected:
            detail = "refused: the camera redirected the relay to another address (not followed)"
            self._failed(relay, "unreachable", detail, now)
            return
        tail = " / ".join(list(relay.lines)[-3:])
        kind = media.stream_failure_kind(tail)
        self._failed(relay, kind, tail or f"ffmpeg exited with {code}", now)

    def _failed(self, relay: Relay, state: str, detail: str, now: float) -> None:
        relay.failures += 1
        delay = min(self.backoff_max, self.backoff_min * 2 ** (relay.failures - 1))
        if state == "not_h264" or relay.redirected:
            delay = self.backoff_max
        relay.next_start = now + delay
        self._status(relay, state, detail)
        log.info("relay %s %s; again in %.0f s: %s", relay.stream, state, delay, detail[:200])

    def _status(self, relay: Relay, state: str, detail: str, *, quiet: bool = False) -> None:
        if not quiet:
            relay.state = state
        relaystate.set_status(relay.stream, state, detail)

    def _kill(self, relay: Relay) -> None:
        if relay.proc is not None:
            media.relay_stop(relay.proc)
            self._reap(relay)

    def _reap(self, relay: Relay) -> None:
        if relay.reader is not None:
            relay.reader.join(timeout=2)
        if relay.proc is not None and relay.proc.stderr is not None:
            relay.proc.stderr.close()
        relay.proc, relay.reader = None, None

    def _drop(self, relay: Relay, why: str) -> None:
        self._kill(relay)
        self.relays.pop(relay.stream, None)
        relaystate.set_status(relay.stream, "stopped", why)
        log.info("relay %s stopped: %s", relay.stream, why)

    def stop_all(self) -> None:
        for relay in list(self.relays.values()):
            self._drop(relay, "relay manager stopped")

    def running(self) -> dict[str, int]:
        """stream -> pid of each running ffmpeg."""
        return {s: r.proc.pid for s, r in self.relays.items() if r.proc is not None}

    # --- the loop ---------------------------------------------------------------------

    @staticmethod
    def _wait(stop: threading.Event, poll: float) -> None:
        """Until the next poll, or sooner when a viewer wants a stream (relaystate.want) or the
        manager is stopped. Redis is asked in waits of at most a second (its client's socket
        times out after two)."""
        deadline = time.monotonic() + poll
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                if relaystate.wait_for_want(min(left, 1.0)):
                    return
            except RedisError:
                stop.wait(left)
                return

    def run(self, stop: threading.Event, poll: float | None = None) -> None:
        poll = poll or _setting("RELAYMGR_POLL_SECONDS", 0.5)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:
                    # Redis or the database away for a moment: keep the children, try again.
                    log.exception("relay manager tick failed")
                    close_old_connections()
                self._wait(stop, poll)
        finally:
            self.stop_all()
