"""The real relay for tests: nginx + nginx-rtmp started on free ports in a temporary prefix,
with its config rendered by livefeeds.relay against a Django (the live_server) that answers its
callbacks; and real ffmpeg publishers."""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from livefeeds import relay


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Relay:
    config: relay.RelayConfig
    process: subprocess.Popen
    stderr_path: Path
    publishers: list = field(default_factory=list)

    @property
    def prefix(self) -> Path:
        return self.config.prefix

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.config.http_port}"

    def rtmp(self, app: str, stream: str, query: str = "") -> str:
        url = f"rtmp://127.0.0.1:{self.config.rtmp_port}/{app}/{stream}"
        return f"{url}?{query}" if query else url

    def hls(self, token: str, app: str, stream: str, file: str = "index.m3u8") -> str:
        return f"{self.http}/hls/{token}/{app}/{stream}/{file}"

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.config.control_port}"

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(django_url: str, secret: str, *, update_seconds: int = 3) -> Relay:
    prefix = Path(tempfile.mkdtemp(prefix="canvass-relay-"))
    config = relay.RelayConfig(
        prefix=prefix,
        rtmp_port=free_port(),
        http_port=free_port(),
        control_port=free_port(),
        django_url=django_url.rstrip("/"),
        secret=secret,
        playlist_seconds=20,
        update_seconds=update_seconds,
    )
    stderr_path = Path(tempfile.mkstemp(prefix="canvass-relay-", suffix=".log")[1])
    with open(stderr_path, "wb") as err:
        process = relay.spawn(config, output=err)
    started = Relay(config, process, stderr_path)
    deadline = time.monotonic() + 10
    while not (
        _listening(config.http_port)
        and _listening(config.rtmp_port)
        and _listening(config.control_port)
    ):
        if process.poll() is not None or time.monotonic() > deadline:
            started.stop()
            raise RuntimeError(f"nginx did not start: {started.log()}")
        time.sleep(0.05)
    return started


def remove(started: Relay) -> None:
    started.stop()
    shutil.rmtree(started.prefix, ignore_errors=True)
    started.stderr_path.unlink(missing_ok=True)


def wait_for(predicate, *, timeout: float, every: float = 0.1):
    """Poll until predicate() is truthy; returns it, or raises AssertionError at the bound."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(every)


def status_of(url: str) -> int:
    try:
        return requests.get(url, timeout=5, headers={"Connection": "close"}).status_code
    except requests.RequestException:
        return 0


def quiesce(started: Relay) -> None:
    """Stop the publishers, let nginx's last callbacks (on_publish_done) reach Django and
    finish, then stop nginx: nothing may still write when the test database is flushed."""
    from livefeeds.models import Publish
    from portal import media

    for proc in started.publishers:
        media.live_stop(proc)
    deadline = time.monotonic() + 5
    while Publish.objects.filter(ended_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # the callback's response on its way out of the live server
    remove(started)
