"""Large cases over real HTTP, for the package streaming test and bench/package.py.

Originals are written straight into local object storage from one random block with a block
counter stamped into each copy: random (nothing compresses, no filesystem treats it as a hole)
and no two blocks alike, yet gigabytes are made at disk speed rather than os.urandom speed.
"""

import hashlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from evidence.models import EvidenceItem, Source
from portal import storage
from tests.factories import PASSWORD

MiB = 1 << 20
BLOCK = 16 * MiB
ROOT = Path(__file__).resolve().parents[2]


def write_random_original(*, agency, size: int, block: bytes | None = None) -> EvidenceItem:
    """An item whose original of `size` bytes is in local storage, hashed as it was written."""
    block = block or os.urandom(BLOCK)
    key = storage.new_object_key(f"evidence/{agency.slug}/originals")
    path = Path(storage.local_path(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("xb") as out:
        written = 0
        while written < size:
            counter = (written // BLOCK).to_bytes(8, "big")
            chunk = (counter + block[8:])[: size - written]
            digest.update(chunk)
            out.write(chunk)
            written += len(chunk)
    return EvidenceItem.objects.create(
        agency=agency,
        source=Source.STAFF_UPLOAD,
        original_key=key,
        original_filename=f"camera-{size // MiB}MiB.mp4",
        size=size,
        sha256=digest.hexdigest(),
        media_type="video/mp4",
        media_kind="video",
        state=EvidenceItem.State.READY,
        uploaded_by_label="bench",
        received_at=timezone.now(),
    )


def remove_original(item: EvidenceItem) -> None:
    Path(storage.local_path(item.original_key)).unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn as the Procfile runs it (gthread), one worker so its memory is one process.

    `root`: the checkout whose code (and .venv) it serves, this one unless told (bench/package.py
    serves an older checkout beside this one to compare)."""

    def __init__(self, env: dict, root: Path = ROOT):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(root / ".venv/bin/gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "300",
            ],  # fmt: skip
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait()

    def _wait(self) -> None:
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-3000:])
            try:
                requests.get(self.base + "/healthz", timeout=10)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer")

    def worker_pid(self) -> int:
        children = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children += [int(p) for p in (task / "children").read_text().split()]
        assert len(children) == 1, children
        return children[0]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class RssWatch:
    """Samples a process's resident memory every 10 ms while a `with` block runs."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> "RssWatch":
        self.peak_kib = rss_kib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, rss_kib(self.pid))


def _totp_code(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if device.last_t is not None and device.last_t >= totp.t():
        totp.drift += device.last_t + 1 - totp.t()
    return f"{totp.token():0{device.digits}d}"


def sign_in(session, base: str, user, password: str = PASSWORD) -> None:
    """The real two-step sign-in over HTTP (password, then a TOTP code)."""
    session.get(base + "/login/")
    response = session.post(
        base + "/login/",
        data={
            "email": user.email,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": base + "/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    response = session.post(
        base + "/login/code/",
        data={"code": _totp_code(user), "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base + "/login/code/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
