"""What the benches that run Canvass under gunicorn share: the bench database and settings, the
servers (Canvass, and @tus/server as the tus peer), their processes' memory and CPU from /proc,
scratch folders on the staging disk, and one tus upload as the benches' client makes it.

Not a bench itself (bench/upload.py and bench/devices.py import it).
"""

import hashlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
MiB = 1 << 20
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def django_setup(database: str, **extra: str) -> None:
    """Settings for a bench (its own database, created and migrated; no HTTPS; tasks queued
    where no worker listens), then Django itself. Call before importing models."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SECRET_KEY": "bench-only",
            "SECURE_HTTPS": "off",
            "STATIC_MANIFEST": "off",
            "ENV_FILE": "/nonexistent",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": os.environ.get(
                "BENCH_DATABASE_URL", f"postgis://postgres@127.0.0.1:5432/{database}"
            ),
            # Items made by a bench queue their processing where no worker listens; purged at
            # the end (purge_bench_queues).
            "CELERY_QUEUE": "canvass-bench-idle",
            "CELERY_MEDIA_QUEUE": "canvass-bench-idle-media",
            **extra,
        }
    )
    # First, so the apps win over a bench of the same name (bench/devices.py, the devices app).
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def purge_bench_queues() -> None:
    from django.conf import settings
    from redis import Redis

    Redis.from_url(settings.REDIS_URL).delete(
        settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_MEDIA_QUEUE
    )


# --- files ---------------------------------------------------------------------------------


def scratch(name: str) -> Path:
    """An empty folder on the disk the staging directory lives on (data/ under the repository)."""
    folder = ROOT / "data" / f"bench-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def empty(folder: Path, expect_size: int | None = None) -> None:
    """Remove what a server stored in `folder` (checking each file's size when asked)."""
    for stored in folder.iterdir():
        if stored.is_dir():
            shutil.rmtree(stored)
            continue
        if expect_size is not None:
            assert stored.stat().st_size == expect_size, f"{stored} has the wrong size"
        stored.unlink()


def random_file(path: Path, size: int, block: int = 8 * MiB) -> Path:
    """A file of `size` random bytes, written a block at a time (kept between runs)."""
    if path.exists() and path.stat().st_size == size:
        return path
    with open(path, "wb") as file:
        left = size
        while left:
            file.write(os.urandom(min(block, left)))
            left -= min(block, left)
    return path


def mbps(size: int, seconds: float) -> float:
    return round(size / MiB / seconds, 1)


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_web() -> list[str]:
    """gunicorn's arguments in the Procfile's web line, without its --bind."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            args = shlex.split(command)[1:]
            at = args.index("--bind")
            return args[:at] + args[at + 2 :]
    raise RuntimeError("the Procfile has no web line")


def start_canvass(gunicorn_args: list[str], **env: str) -> tuple[subprocess.Popen, int]:
    """Canvass under gunicorn with these arguments, on a free port of 127.0.0.1; its output goes
    to the file BENCH_SERVER_LOG names, or nowhere."""
    port = free_port()
    # The server keeps its own copy of the file; ours closes once it has started.
    with open(os.environ.get("BENCH_SERVER_LOG") or os.devnull, "ab") as log:
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), *gunicorn_args, "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
    return server, port


def start_tus_node(store: Path, *, fsync: bool = False) -> tuple[subprocess.Popen, str]:
    """@tus/server with its file store (bench/tus-node-server.mjs); returns its tus URL. With
    `fsync`, it syncs each finished file (and its directory) before answering the last PATCH."""
    if not (BENCH / "node_modules" / "@tus" / "server").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True)
    port = free_port()
    server = subprocess.Popen(
        ["node", str(BENCH / "tus-node-server.mjs"), str(port), str(store)]
        + (["fsync"] if fsync else []),
        cwd=BENCH,
        stdout=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}/files"


def wait_for(url: str, process: subprocess.Popen) -> None:
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            # The first request loads Django: slow, and slower still on a busy machine.
            requests.options(url, timeout=30)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- processes, from /proc -----------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def family(pid: int) -> list[int]:
    """The process and its children (gunicorn's master and workers)."""
    return [pid, *children(pid)]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM)."""
    return round(_status_kib(pid, "VmHWM") / 1024, 1)


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes now, summed."""
    return round(sum(_status_kib(pid, "VmRSS") for pid in pids) / 1024, 1)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time these processes have spent so far, summed."""
    total = 0
    for pid in pids:
        # The command name (field 2) may hold spaces; the fields after its ")" do not.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS_PER_SECOND


# --- the client ----------------------------------------------------------------------------


def _uploader_class(checksum: bool):
    # tuspy hard-codes sha1 as a class attribute; Canvass evidence standards want sha256.
    from tusclient.uploader import Uploader

    if not checksum:
        return Uploader

    class Sha256(Uploader):
        CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)

    return Sha256


def tus_upload(url: str, headers: dict, path: Path, chunk: int, *, checksum: bool = False) -> float:
    """One whole upload of `path` through tuspy in `chunk`-byte PATCHes, each with its sha256
    Upload-Checksum when `checksum`; returns its seconds."""
    from tusclient.client import TusClient

    uploader = _uploader_class(checksum)(
        file_path=str(path),
        client=TusClient(url, headers=headers),
        chunk_size=chunk,
        upload_checksum=checksum,
        metadata={"filename": path.name, "filetype": "video/mp4"},
    )
    started = time.perf_counter()
    uploader.upload()
    return time.perf_counter() - started
