"""A real RTSP camera (GStreamer under Debian's Python) and a real RTMP receiver (ffmpeg
listening), started on free ports for the CCTV tests, and stopped (and reaped) afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CAMERA_SCRIPT = ROOT / "scripts" / "rtsp_test_camera.py"
DEBIAN_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class RtspCamera:
    """scripts/rtsp_test_camera.py on its own port; `url` carries the credentials, if any."""

    def __init__(self, *, codec="h264", audio="none", user="", password="", port=None):
        self.port = port or free_port()
        self.codec, self.audio, self.user, self.password = codec, audio, user, password
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    @property
    def url(self) -> str:
        if not self.user:
            return self.address
        return f"rtsp://{self.user}:{self.password}@127.0.0.1:{self.port}/stream"

    def start(self) -> RtspCamera:
        argv = [DEBIAN_PYTHON, str(CAMERA_SCRIPT), "--port", str(self.port)]
        argv += ["--codec", self.codec, "--audio", self.audio]
        if self.user:
            argv += ["--user", self.user, "--password", self.password]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
        )
        ready = threading.Event()

        def wait_ready() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith(b"READY"):
                    ready.set()

        threading.Thread(target=wait_ready, daemon=True).start()
        if not ready.wait(20):
            self.stop()
            raise RuntimeError("the RTSP test camera did not start")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


class RtmpReceiver:
    """`ffmpeg -listen 1` taking one RTMP publish to cam/<stream> at a time, each recorded to
    its own FLV file (a new listener starts when a publisher leaves)."""

    def __init__(self, directory: Path, stream: str, port: int | None = None):
        self.port = port or free_port()
        self.directory, self.stream = directory, stream
        self.files: list[Path] = []
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> RtmpReceiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("the RTMP receiver did not listen")

    def _loop(self) -> None:
        while not self._stopping.is_set():
            out = self.directory / f"received-{len(self.files)}.flv"
            self.files.append(out)
            self._proc = subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                 "-listen", "1", "-f", "flv", "-i",
                 f"rtmp://127.0.0.1:{self.port}/cam/{self.stream}", "-c", "copy", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            self._proc.wait()

    def stop(self) -> None:
        self._stopping.set()
        if self._proc is not None:
            _stop(self._proc)
        self._thread.join(timeout=10)
        # The loop may have started one more listener as it was being stopped: stop it too.
        if self._proc is not None and self._proc.poll() is None:
            _stop(self._proc)

    def recorded(self) -> list[Path]:
        return [f for f in self.files if f.exists() and f.stat().st_size > 0]


def ffprobe_streams(path: Path) -> tuple[list[str], float]:
    """Codec names and duration of a recorded file (real ffprobe)."""
    import json

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(path)],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    data = json.loads(out)
    return [s["codec_name"] for s in data["streams"]], float(data["format"].get("duration", 0))


def wait_until(predicate, timeout: float, step: float = 0.1):
    """Poll until predicate() is truthy; return its value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
