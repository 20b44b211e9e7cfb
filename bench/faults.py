"""Faults lose nothing: the services Canvass needs are broken on purpose, and nothing is lost.

Everything runs on private services this script starts and breaks: its own PostgreSQL (initdb
into a temp dir, a spare port, PostGIS), its own Redis (a spare port, RDB persistence in the
temp dir, as a default install has), gunicorn (2 workers, gthread, as the Procfile), one Celery
worker on the `canvass` and `media` queues and Celery beat, all with a temp DATA_DIR. Never the
machine's shared PostgreSQL or Redis. Scenarios:

- worker_kill: an item is uploaded; once ffmpeg is transcoding it, the worker and its children
  get SIGKILL (a lost container) and a new worker starts. Every item must end `ready` with
  exactly one set of derivatives (one proxy, one playlist, one poster) in the database and one
  set of derivative files in storage.
- tus_cut: a random file is uploaded with a PATCH whose connection is dropped at a random
  offset; the client asks the offset (HEAD) and sends the rest. Every upload must complete and
  the item's recorded SHA-256 must equal the file's.
- redis_down: Redis is shut down for REDIS_DOWN_S while tips (POST /api/tips/, proof-of-work
  solved beforehand) and tus uploads of a short clip keep coming. They must be accepted, and
  once Redis is back every accepted upload must be processed and every tip's reviewers told.
- postgres_restart: PostgreSQL is restarted (pg_ctl restart -m fast) while tips and uploads
  keep coming. Requests after it is back must succeed without restarting anything, and every
  accepted tip and upload must be in the database, the uploads processed.

The sweep and lease settings are shortened so the bench fits in minutes (see SERVICE_ENV);
production defaults are in portal/settings.py. Prints one JSON line.

    .venv/bin/python bench/faults.py            # 20 kills, 50 cuts, Redis down 60 s
    .venv/bin/python bench/faults.py --quick    # 3 kills, 8 cuts, Redis down 15 s
"""

import argparse
import base64
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_BIN = Path("/usr/lib/postgresql/15/bin")
VENV = ROOT / ".venv" / "bin"
GRANT_HEADER = "Canvass-Upload-Grant"
FINAL_STATES = {"ready", "rejected", "unplayable", "failed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered on port {port}") from None
            time.sleep(0.2)


# --- private services ----------------------------------------------------------------------


class Postgres:
    """A throwaway cluster owned by the postgres OS user (initdb refuses root)."""

    def __init__(self, base: Path):
        self.dir = base / "pg"
        self.port = free_port()
        self.dir.mkdir(mode=0o700)
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(base, "postgres")
            shutil.chown(self.dir, "postgres")
        self._run([PG_BIN / "initdb", "-D", self.dir / "data", "-U", "postgres", "-A", "trust"])
        self.start()
        self.psql("CREATE DATABASE canvass")
        self.psql("CREATE EXTENSION postgis", db="canvass")
        self.url = f"postgis://postgres@127.0.0.1:{self.port}/canvass"

    def _run(self, argv, check=True):
        argv = [str(a) for a in argv]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        # A directory the postgres user may enter (it cannot read /root).
        return subprocess.run(argv, check=check, capture_output=True, cwd=self.dir)

    def _ctl(self, action: str, *extra: str):
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=60"
        self._run(
            [PG_BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-w",
             "-o", opts, action, *extra]
        )  # fmt: skip

    def start(self):
        self._ctl("start")

    def restart(self):
        self._ctl("restart", "-m", "fast")

    def stop(self):
        self._run([PG_BIN / "pg_ctl", "-D", self.dir / "data", "-m", "immediate", "stop"], False)

    def psql(self, sql: str, db: str = "postgres"):
        self._run(["psql", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-d", db,
                   "-v", "ON_ERROR_STOP=1", "-c", sql])  # fmt: skip


class Redis:
    def __init__(self, base: Path):
        self.dir = base / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self):
        # Default RDB persistence, as a packaged Redis has: SIGTERM saves, start loads.
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "3600 1 300 100 60 10000"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.port, self.process)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class Canvass:
    """gunicorn, one Celery worker (its own session, so it can be killed whole) and beat."""

    def __init__(self, base: Path, env: dict):
        self.env = env
        self.base = base
        self.port = free_port()
        self.logs = base / "logs"
        self.logs.mkdir()
        self.web = self._spawn(
            "web",
            [VENV / "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "300"],
        )  # fmt: skip
        self.beat = self._spawn(
            "beat",
            [VENV / "celery", "-A", "portal", "beat", "--loglevel", "INFO",
             "-s", base / "celerybeat-schedule"],
        )  # fmt: skip
        self.worker = None
        self.workers_started = 0
        self.start_worker()
        wait_port(self.port, self.web)

    def _spawn(self, name: str, argv) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child
        return subprocess.Popen(
            [str(a) for a in argv], cwd=ROOT, env=self.env, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip

    def start_worker(self):
        self.workers_started += 1
        self.worker = self._spawn(
            "worker",
            [VENV / "celery", "-A", "portal", "worker", "--queues", "canvass,media",
             "--concurrency", "1", "--loglevel", "INFO", "-n", f"w{self.workers_started}@bench"],
        )  # fmt: skip

    def kill_worker(self):
        """SIGKILL the worker's whole session: the main process, the pool child and ffmpeg."""
        for pid in session_pids(self.worker.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.worker.wait()

    def stop(self):
        for process in (self.web, self.beat, self.worker):
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.web, self.beat, self.worker):
            if process:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def session_pids(sid: int) -> list[int]:
    """Processes of one session, plus children that made sessions of their own (ffmpeg does)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, session = int(stat[1]), int(stat[3])
        if session == sid or ppid in found:
            found.add(int(entry.name))
    # ffmpeg runs in a session of its own under the pool child: add descendants too.
    changed = True
    while changed:
        changed = False
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in found:
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid in found:
                    found.add(int(entry.name))
                    changed = True
    return sorted(found)


def transcoding_under(sid: int) -> bool:
    """An x264 encode (the proxy) runs among the worker's processes."""
    for pid in session_pids(sid):
        try:
            if b"libx264" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


# --- clients -------------------------------------------------------------------------------


class Client:
    def __init__(self, port: int, grant_header: str):
        self.port = port
        self.grant = grant_header

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def _tus(self, extra=None):
        return {"Tus-Resumable": "1.0.0", GRANT_HEADER: self.grant, **(extra or {})}

    def tus_create(self, length: int, name: str) -> str | None:
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in {"filename": name, "filetype": "video/quicktime"}.items()
        )
        status, headers, _ = self.request(
            "POST", "/api/uploads/", headers=self._tus(
                {"Upload-Length": str(length), "Upload-Metadata": meta, "Content-Length": "0"})
        )  # fmt: skip
        return headers.get("Location") if status == 201 else None

    def tus_offset(self, location: str) -> int | None:
        status, headers, _ = self.request("HEAD", location, headers=self._tus())
        return int(headers["Upload-Offset"]) if status == 200 else None

    def tus_patch(self, location: str, offset: int, data: bytes) -> int | None:
        status, headers, _ = self.request(
            "PATCH", location, body=data, headers=self._tus(
                {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        )  # fmt: skip
        return int(headers["Upload-Offset"]) if status == 204 else None

    def tus_patch_cut(self, location: str, offset: int, data: bytes, cut: int) -> None:
        """Send PATCH headers for all of `data`, then `cut` bytes of it, then drop the link."""
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"{GRANT_HEADER}: {self.grant}\r\nUpload-Offset: {offset}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(head.encode() + data[:cut])
            time.sleep(0.05)
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )

    def upload(self, data: bytes, name: str) -> str | None:
        """A whole upload in one PATCH; the upload's Location when complete, else None."""
        try:
            location = self.tus_create(len(data), name)
            if location and self.tus_patch(location, 0, data) == len(data):
                return location
        except OSError:
            pass
        return None

    def tip(self, agency: str, payload: str, n: int) -> str | None:
        body = json.dumps({
            "agency": agency, "category": "theft",
            "description": f"Faults bench tip {n}: a bicycle taken from the rack.",
            "occurred_at": "2025-01-01T10:00", "latitude": 40.75, "longitude": -73.95,
            "share_file_metadata": False, "altcha": payload,
        })  # fmt: skip
        try:
            status, _, answer = self.request(
                "POST", "/api/tips/", body=body, headers={"Content-Type": "application/json"}
            )
        except OSError:
            return None
        return json.loads(answer)["tip"] if status == 201 else None

    def challenges(self, count: int) -> list[dict]:
        return [json.loads(self.request("GET", "/api/tips/challenge/")[2]) for _ in range(count)]


def _solve(challenge: dict) -> str:
    import altcha

    parsed = altcha.Challenge.from_dict(challenge)
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()


def solved(client: Client, count: int) -> list[str]:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_solve, client.challenges(count), chunksize=8))


# --- what the database says ----------------------------------------------------------------


def _db():
    from django.db import close_old_connections, connection

    close_old_connections()
    connection.close()  # the bench's own connection may predate a restart


def items_for(locations: list[str]) -> dict:
    """upload id -> (state, sha256, derivative kinds) for these upload Locations."""
    from evidence.models import EvidenceItem

    _db()
    ids = [loc.rstrip("/").rsplit("/", 1)[1] for loc in locations]
    found = {}
    for item in EvidenceItem.objects.filter(upload_id__in=ids).prefetch_related("derivatives"):
        kinds = sorted(d.kind for d in item.derivatives.all())
        found[str(item.upload_id)] = (item.state, item.sha256, kinds, item.pk, item.agency.slug)
    return found


def wait_final(locations: list[str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = items_for(locations)
        done = [v for v in found.values() if v[0] in FINAL_STATES]
        if len(done) == len(locations) or time.monotonic() > deadline:
            return found
        time.sleep(2)


def derivative_sets_on_disk(data_dir: Path, agency: str, item_pk) -> int:
    folder = data_dir / "objects" / "evidence" / agency / "derivatives" / str(item_pk)
    return sum(1 for run in folder.iterdir() if any(run.iterdir())) if folder.is_dir() else 0


def one_set(kinds: list[str]) -> bool:
    return (
        kinds.count("proxy_mp4") == 1
        and kinds.count("poster") == 1
        and (kinds.count("hls_playlist") == 1)
    )


def task_runs(log: Path) -> dict:
    """How often process_item ran, and how often it found nothing to do (a duplicate offer)."""
    runs = [line for line in log.read_text().splitlines() if "process_item[" in line]
    done = [line for line in runs if "succeeded in" in line]
    return {"finished": len(done), "skipped": sum("'skipped'" in line for line in done)}


# --- scenarios -----------------------------------------------------------------------------


def worker_kill(canvass: Canvass, client: Client, clip: bytes, count: int, data_dir, wait_s):
    locations, kills = [], 0
    for n in range(count):
        location = client.upload(clip, f"kill-{n}.mov")
        locations.append(location)
        deadline = time.monotonic() + 120
        while not transcoding_under(canvass.worker.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(random.uniform(0.2, 1.0))  # somewhere in the transcode
        if transcoding_under(canvass.worker.pid):
            kills += 1
        canvass.kill_worker()
        canvass.start_worker()
    found = wait_final([loc for loc in locations if loc], wait_s)
    ready = [v for v in found.values() if v[0] == "ready"]
    one_each = all(
        one_set(v[2]) and derivative_sets_on_disk(data_dir, v[4], v[3]) == 1 for v in ready
    )
    return {
        "finished": len(ready),
        "of": count,
        "killed_mid_transcode": kills,
        "one_set_each": bool(ready) and one_each and len(ready) == count,
        "states": sorted(v[0] for v in found.values()),
    }


def resume(client: Client, location: str, data: bytes) -> tuple:
    """As tus clients do: ask the offset, send the rest; on a conflict (the cut request still
    holds the upload) or a dropped link, wait and ask again. (first offset, final, tries)."""
    first = None
    for tries in range(1, 21):
        try:
            offset = client.tus_offset(location)
            first = offset if first is None else first
            if offset is not None:
                resumed = client.tus_patch(location, offset, data[offset:])
                if resumed == len(data):
                    return first, resumed, tries
        except OSError:
            pass
        time.sleep(0.25)
    return first, None, tries


def tus_cut(client: Client, count: int, wait_s):
    completed, retries, locations, digests, failures = 0, 0, [], {}, []
    for n in range(count):
        data = os.urandom(random.randint(256 << 10, 4 << 20))
        location = client.tus_create(len(data), f"cut-{n}.bin")
        cut = random.randint(1, len(data) - 1)
        client.tus_patch_cut(location, 0, data, cut)
        offset, resumed, tries = resume(client, location, data)
        retries += tries - 1
        if offset is None or offset > cut or resumed != len(data):
            failures.append({"cut": cut, "offset": offset, "resumed": resumed})
            continue
        completed += 1
        locations.append(location)
        digests[location.rstrip("/").rsplit("/", 1)[1]] = hashlib.sha256(data).hexdigest()
    found = wait_final(locations, wait_s)
    matched = sum(1 for upload, v in found.items() if v[1] and v[1] == digests[upload])
    return {
        "completed": completed,
        "sha256_match": matched,
        "of": count,
        "client_retries": retries,
        "failures": failures,
    }


class Load:
    """Tips and uploads sent one after another from a thread until stopped; what was accepted."""

    def __init__(self, client: Client, agency: str, payloads: list[str], clip: bytes):
        self.client, self.agency, self.payloads, self.clip = client, agency, payloads, clip
        self.tips, self.uploads, self.log = [], [], []  # log: (time, kind, ok)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        n = 0
        while not self._stop.is_set():
            if n < len(self.payloads):
                tip = self.client.tip(self.agency, self.payloads[n], n)
                self.log.append((time.monotonic(), "tip", tip is not None))
                if tip:
                    self.tips.append(tip)
            location = self.client.upload(self.clip, f"load-{n}.mov")
            self.log.append((time.monotonic(), "upload", location is not None))
            if location:
                self.uploads.append(location)
            n += 1
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(timeout=120)

    def between(self, start: float, end: float) -> dict:
        rows = [r for r in self.log if start <= r[0] < end]
        out = {}
        for kind in ("tip", "upload"):
            mine = [r for r in rows if r[1] == kind]
            out[kind] = {"sent": len(mine), "accepted": sum(1 for r in mine if r[2])}
        return out


def tips_state(references: list[str]) -> tuple[int, int]:
    from submissions.models import Tip

    _db()
    rows = Tip.objects.filter(reference__in=references)
    return rows.count(), rows.filter(notified_at__isnull=False).count()


def wait_tips_notified(references: list[str], timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        stored, notified = tips_state(references)
        if notified == len(references) or time.monotonic() > deadline:
            return stored, notified
        time.sleep(2)


def redis_down(redis: Redis, client, agency, payloads, clip, down_s, wait_s):
    with Load(client, agency, payloads, clip) as load:
        time.sleep(3)
        redis.stop()
        stopped = time.monotonic()
        time.sleep(down_s)
        redis.start()
        restarted = time.monotonic()
        time.sleep(3)
    during = load.between(stopped, restarted)
    found = wait_final(load.uploads, wait_s)
    stored, notified = wait_tips_notified(load.tips, wait_s)
    return {
        "down_s": down_s,
        "during": during,
        "uploads_accepted": len(load.uploads),
        "uploads_processed_after": sum(1 for v in found.values() if v[0] in FINAL_STATES),
        "tips_accepted": len(load.tips),
        "tips_stored": stored,
        "tips_notified_after": notified,
    }


def postgres_restart(pg: Postgres, client, agency, payloads, clip, wait_s):
    with Load(client, agency, payloads, clip) as load:
        time.sleep(3)
        began = time.monotonic()
        pg.restart()
        back = time.monotonic()
        time.sleep(12)
    after = load.between(back, time.monotonic())
    found = wait_final(load.uploads, wait_s)
    stored, _ = tips_state(load.tips)
    processed = sum(1 for v in found.values() if v[0] in FINAL_STATES)
    failed_after = sum(v["sent"] - v["accepted"] for v in after.values())
    return {
        "restart_s": round(back - began, 2),
        "during": load.between(began, back),
        "after_restart": after,
        "failed_after_restart": failed_after,
        "recovered_without_operator": all(v["accepted"] for v in after.values()),
        "uploads_accepted": len(load.uploads),
        "uploads_in_db": len(found),
        "uploads_processed": processed,
        "tips_accepted": len(load.tips),
        "tips_in_db": stored,
        "lost": (len(load.uploads) - processed) + (len(load.tips) - stored),
    }


# --- setup ---------------------------------------------------------------------------------


SERVICE_ENV = {
    "SECRET_KEY": "bench-only",
    "SECURE_HTTPS": "off",
    "STATIC_MANIFEST": "off",
    "ENV_FILE": "/nonexistent",
    "ALLOWED_HOSTS": "127.0.0.1",
    "TIPS_POW_KEY_PREFIX": "0",
    "TIPS_RATE_CREATE_PER_HOUR": str(10**9),
    "TIPS_RATE_CHALLENGES_PER_HOUR": str(10**9),
    "LOG_LEVEL": "WARNING",
    # Shortened so a killed worker's item is swept up in seconds, not minutes.
    "MEDIA_CLAIM_LEASE_SECONDS": "15",
    "MEDIA_SWEEP_SECONDS": "5",
    "MEDIA_REQUEUE_RECEIVED_AFTER_SECONDS": "20",
    "MEDIA_MAX_ATTEMPTS": "5",
}


def setup_django(pg: Postgres, redis: Redis, data_dir: Path) -> dict:
    env = {
        **os.environ,
        **SERVICE_ENV,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "DATA_DIR": str(data_dir),
        "CELERY_QUEUE": "canvass",
        "CELERY_MEDIA_QUEUE": "media",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def bench_fixtures() -> tuple[str, str]:
    from datetime import timedelta

    from django.utils import timezone

    from evidence.intake import grants
    from evidence.models import UploadGrant
    from portal.models import Agency
    from portal.roles import AgencyKind
    from submissions.demo import seed_categories

    agency, _ = Agency.objects.get_or_create(
        slug="faults-pd", defaults={"name": "Faults PD", "kind": AgencyKind.POLICE}
    )
    seed_categories(agency)
    grant, secret = grants.grant_create_with_secret(
        agency=agency, flow=UploadGrant.Flow.TIP, source_ref="faults-bench", max_files=1000,
        max_file_bytes=64 << 20, media_types=["video/", "image/", "audio/"],
        expires_at=timezone.now() + timedelta(hours=6), actor_label="faults bench",
    )  # fmt: skip
    return agency.slug, grants.grant_header_value(grant, secret)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts for a fast check")
    parser.add_argument("--only", help="comma-separated scenarios to run")
    parser.add_argument("--kills", type=int, help="worker kills (20; 3 with --quick)")
    parser.add_argument("--cuts", type=int, help="cut uploads (50; 8 with --quick)")
    parser.add_argument("--redis-down", type=int, help="seconds Redis is down (60; 15 quick)")
    args = parser.parse_args()
    kills, cuts, down_s = (3, 8, 15) if args.quick else (20, 50, 60)
    kills, cuts, down_s = args.kills or kills, args.cuts or cuts, args.redis_down or down_s
    only = set(args.only.split(",")) if args.only else None
    base = Path(tempfile.mkdtemp(prefix="canvass-faults-"))
    os.chmod(base, 0o755)  # noqa: S103 - the postgres user must reach its data directory
    pg = redis = canvass = None
    result = {"bench": "faults", "quick": args.quick}
    try:
        pg, redis = Postgres(base), Redis(base)
        data_dir = base / "data"
        env = setup_django(pg, redis, data_dir)
        agency, grant = bench_fixtures()
        from evidence.samples import phone_clip_mov

        clip_dir = base / "clips"
        clip_dir.mkdir()
        long_clip = phone_clip_mov(clip_dir, seconds=20, size="1280x720", name="long.mov")
        short_clip = phone_clip_mov(clip_dir, seconds=1, size="320x240", name="short.mov")
        canvass = Canvass(base, env)
        client = Client(canvass.port, grant)
        wait_s = 240 if args.quick else 600

        def wanted(name):
            return only is None or name in only

        if wanted("worker_kill"):
            result["worker_kill"] = worker_kill(
                canvass, client, long_clip.read_bytes(), kills, data_dir, wait_s
            )
        if wanted("tus_cut"):
            result["tus_cut"] = tus_cut(client, cuts, wait_s)
        short = short_clip.read_bytes()
        if wanted("redis_down"):
            payloads = solved(client, down_s * 2 + 20)
            result["redis_down"] = redis_down(
                redis, client, agency, payloads, short, down_s, wait_s
            )
        if wanted("postgres_restart"):
            payloads = solved(client, 60)
            result["postgres_restart"] = postgres_restart(
                pg, client, agency, payloads, short, wait_s
            )
        result["process_item_runs"] = task_runs(canvass.logs / "worker.log")
        result["settings"] = {k: SERVICE_ENV[k] for k in SERVICE_ENV if k.startswith("MEDIA_")}
    finally:
        if canvass:
            canvass.stop()
        if redis:
            redis.stop()
        from django.db import connections

        connections.close_all()
        if pg:
            pg.stop()
        if os.environ.get("BENCH_FAULTS_KEEP"):
            print(f"kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
