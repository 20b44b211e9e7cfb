"""Body cameras against one Canvass, served as the Procfile's web line serves it (gunicorn, 2
gthread workers of 4 threads), on a bench database whose fleet is made through devices.services.

Each measurement is a function of the running server (MEASUREMENTS) and prints one JSON line:

- heartbeat: 500 simulated cameras (devices.simulator.SimulatedCamera, real HTTP, one thread
  and one keep-alive session each), every one heartbeating every 10 s from a random phase; 100
  of them are recording and send the latest fix of a walk that moves at 1 Hz. A warm-up round
  (one heartbeat each) is not counted. Latency is the simulator's call, as the camera sees it.
  The server's CPU share is its processes' CPU time over the wall time (1.0 = one core busy).
  Goal: p95 under 50 ms.
- offload: one recording of BENCH_DEVICES_OFFLOAD_MIB (2 GiB) through the device path: the
  manifest, the grant it returns, tus under that grant in the simulator's chunk size (tuspy,
  no Upload-Checksum, as the simulator), and the recording complete with its evidence item,
  against @tus/server (bench/tus-node-server.mjs) taking the same file from the same client.
  Alternating runs, best of each. The server's resident memory (master and workers, summed) is
  sampled every 100 ms during our uploads to show it stays flat.
- trigger_alert: BENCH_DEVICES_TRIGGERS signed TASER triggers posted one at a time to the
  trigger webhook while a supervisor's operations-page event stream (SSE) is open; each latency
  runs from just before the POST to the alert's event read off the stream. Goal: p95 under 1 s.

`bench/devices.py offload` runs only the measurements named. BENCH_DEVICES_SECONDS shortens
the heartbeat run; BENCH_DEVICES_OFFLOAD_MIB and BENCH_DEVICES_OFFLOAD_RUNS shrink the offload.
"""

import datetime as dt
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from urllib.parse import urljoin

import harness
from harness import MiB

harness.django_setup("canvass_bench_devices")

import requests  # noqa: E402
from django.conf import settings  # noqa: E402

from devices import services, simulator  # noqa: E402
from devices.models import Device  # noqa: E402
from portal import services as portal_services  # noqa: E402
from portal.models import Agency, User  # noqa: E402
from portal.roles import AgencyKind, Role  # noqa: E402

DEVICES = 500
RECORDING = 100
INTERVAL = 10.0  # seconds between one camera's heartbeats
SECONDS = float(os.environ.get("BENCH_DEVICES_SECONDS", "120"))
LIMIT_P95_MS = 50.0
OFFLOAD_SIZE = int(os.environ.get("BENCH_DEVICES_OFFLOAD_MIB", "2048")) * MiB
OFFLOAD_RUNS = int(os.environ.get("BENCH_DEVICES_OFFLOAD_RUNS", "2"))
CHUNK = simulator.chunk_size_for(OFFLOAD_SIZE)
OFFLOAD_SOURCE = Path(tempfile.gettempdir()) / f"canvass-bench-devices-{OFFLOAD_SIZE // MiB}mib.bin"
RSS_SAMPLE_SECONDS = 0.1
KEEPALIVE_WAIT = 3.0
SERIAL = "BENCH-{:04d}"
OFFLOAD_SERIAL = "BENCH-OFFLOAD"


@dataclass(frozen=True)
class Run:
    """What every measurement gets: the server, its URL and the fleet's credentials."""

    server: Popen
    base_url: str
    tokens: dict[str, str]  # serial -> the device's API token
    scratch: Path
    staging: Path

    @property
    def api(self) -> str:
        return urljoin(self.base_url, simulator.API_PATH)


# --- the fleet, made through the services ----------------------------------------------------


def seed_fleet() -> dict[str, str]:
    """The bench agency's cameras (made once) and a fresh credential for each (shown once)."""
    agency, _ = Agency.objects.get_or_create(
        slug="bench-devices-pd", defaults={"name": "Bench Devices PD", "kind": AgencyKind.POLICE}
    )
    supervisor = User.objects.filter(email="supervisor@bench-devices.example").first()
    if supervisor is None:
        supervisor = portal_services.staff_user_create(
            actor=None,
            email="supervisor@bench-devices.example",
            full_name="Bench Supervisor",
            role=Role.SUPERVISOR,
            agency=agency,
            send_invite=False,
        )
    # Acts as after signing in with both factors, as the demo seeders do.
    supervisor.is_verified = lambda: True
    have = set(Device.objects.filter(agency=agency).values_list("serial", flat=True))
    tokens = {}
    for serial in [SERIAL.format(i) for i in range(DEVICES)] + [OFFLOAD_SERIAL]:
        if serial not in have:
            services.device_add(
                actor=supervisor,
                serial=serial,
                make="Axis",
                model="W110",
                firmware=simulator.FIRMWARE,
            )
    for device in Device.objects.filter(agency=agency):
        _, tokens[device.serial] = services.credential_issue(actor=supervisor, device=device)
    return tokens


# --- 1. heartbeats -----------------------------------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, math.ceil(share * len(sorted_values)) - 1)]


def _camera_loop(camera, state, fixes, began, first_at, end_at, out):
    """One camera: a heartbeat every INTERVAL from first_at until end_at; a recording one sends
    the fix of its walk (a fix a second from `began`) it is at."""
    latencies, lags, errors = [], [], []
    due = first_at
    while due < end_at:
        time.sleep(max(0.0, due - time.monotonic()))
        lags.append(time.monotonic() - due)
        fix = None
        if fixes:
            fix = fixes[min(len(fixes) - 1, int(time.monotonic() - began))]
        began = time.perf_counter()
        try:
            camera.heartbeat(state, fix)
        except (requests.RequestException, simulator.DeviceApiError, KeyError) as exc:
            # Every failure is counted and named; none stops the run.
            errors.append(f"{due - began:.1f} s in: {type(exc).__name__}: {exc}"[:200])
        latencies.append(time.perf_counter() - began)
        due += INTERVAL
    out.append((latencies, lags, errors))


def heartbeat(run: Run) -> dict:
    rng = random.Random(12)
    cameras = []
    for i in range(DEVICES):
        serial = SERIAL.format(i)
        camera = simulator.SimulatedCamera(
            run.api,
            run.tokens[serial],
            run.scratch / "cameras" / serial,
            serial=serial,
            origin=(40.70 + rng.uniform(0, 0.1), -74.0 + rng.uniform(0, 0.1)),
        )
        state = "recording" if i < RECORDING else ("idle", "buffering")[i % 2]
        cameras.append((camera, state))
    # Warm-up, not counted: every camera says hello once (its session, the workers' caches).
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda pair: pair[0].heartbeat("idle"), cameras))
    # Longer than gunicorn's keep-alive (2 s): no camera's first beat reuses its warm-up
    # connection just as the server closes it (a 10 s interval never does).
    time.sleep(KEEPALIVE_WAIT)

    pids = harness.family(run.server.pid)
    out: list = []
    began = time.monotonic()
    end_at = began + SECONDS
    walk_from = dt.datetime.now(dt.UTC)
    threads = []
    for camera, state in cameras:
        fixes = (
            simulator.walk(walk_from, int(SECONDS) + 2, camera.origin)
            if state == "recording"
            else None
        )
        first_at = began + rng.uniform(0, INTERVAL)
        threads.append(
            threading.Thread(
                target=_camera_loop,
                args=(camera, state, fixes, began, first_at, end_at, out),
            )
        )
    cpu_before, client_before = harness.cpu_seconds(pids), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    cpu = harness.cpu_seconds(pids) - cpu_before
    client_cpu = time.process_time() - client_before

    latencies = sorted(lat * 1000 for lats, _, _ in out for lat in lats)
    lags = sorted(lag * 1000 for _, lags, _ in out for lag in lags)
    errors = [e for _, _, errs in out for e in errs]
    p95 = percentile(latencies, 0.95)
    return {
        "bench": "devices_heartbeat",
        "devices": DEVICES,
        "recording_with_gps_1hz": RECORDING,
        "interval_s": INTERVAL,
        "seconds": round(wall, 1),
        "server": "gunicorn as the Procfile's web line: " + " ".join(harness.procfile_web()),
        "client": "devices.simulator.SimulatedCamera.heartbeat, a thread and a session each",
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "errors": len(errors),
        "first_errors": errors[:3],
        "unit": "ms",
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "limit_p95_ms": LIMIT_P95_MS,
        "ratio_vs_limit": round(p95 / LIMIT_P95_MS, 2),
        "client_late_p99_ms": round(percentile(lags, 0.99), 1),
        "server_cpu_share": round(cpu / wall, 3),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(latencies)), 2),
        "client_cpu_share": round(client_cpu / wall, 3),
        "cores": os.cpu_count(),
        "machine_load_1m": round(os.getloadavg()[0], 2),
    }


# --- 2. offload ---------------------------------------------------------------------------------


class RssSampler:
    """The summed resident memory of `pids`, sampled in a thread while the block runs."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, harness.rss_mb(self.pids))
            if self._done.wait(RSS_SAMPLE_SECONDS):
                return

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def _manifest(sha256: str) -> dict:
    """A half-hour recording that ended a moment ago, as DEVICE_API v1 describes it."""
    rfc3339 = simulator.rfc3339
    stopped = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    started = stopped - dt.timedelta(minutes=30)
    trigger = started + dt.timedelta(seconds=30)
    lat, lon = simulator.DEFAULT_START
    recording_id = f"{OFFLOAD_SERIAL}-{uuid.uuid4().hex[:8]}"
    return {
        "recording_id": recording_id,
        "started_at": rfc3339(started),
        "stopped_at": rfc3339(stopped),
        "pre_event_seconds": 30,
        "pre_event_audio": False,
        "trigger_on": {"source": "button", "at": rfc3339(trigger), "location": {"lat": lat, "lon": lon}},
        "trigger_off": {"source": "button", "at": rfc3339(stopped), "location": {"lat": lat, "lon": lon}},
        "bookmarks": [],
        "sha256": sha256,
        "size": OFFLOAD_SIZE,
        "filename": f"{recording_id}.mp4",
        "media_type": "video/mp4",
        "device_clock": {"started_at": rfc3339(started), "stopped_at": rfc3339(stopped)},
    }  # fmt: skip


def _offload_once(run: Run, session: requests.Session, sha256: str) -> float:
    """Manifest, grant, tus, and the recording complete with its item: seconds for it all."""
    began = time.perf_counter()
    reply = session.post(urljoin(run.api, "recordings"), json=_manifest(sha256), timeout=30)
    assert reply.status_code == 201, reply.text
    recording = reply.json()
    grant = recording["upload"]
    harness.tus_upload(
        urljoin(run.api, grant["endpoint"]),
        {grant["header"]: grant["value"]},
        OFFLOAD_SOURCE,
        CHUNK,
    )
    done = session.get(urljoin(run.api, f"recordings/{recording['id']}"), timeout=30).json()
    seconds = time.perf_counter() - began
    assert done["status"] == "complete", done
    return seconds


def offload(run: Run) -> dict:
    harness.random_file(OFFLOAD_SOURCE, OFFLOAD_SIZE)
    sha256 = simulator.sha256_of(OFFLOAD_SOURCE)
    store = run.scratch / "node"
    store.mkdir()
    node, node_url = harness.start_tus_node(store)
    session = requests.Session()
    session.headers["Authorization"] = f"Device {run.tokens[OFFLOAD_SERIAL]}"
    pids = harness.family(run.server.pid)
    try:
        harness.wait_for(node_url, node)
        rss_before = harness.rss_mb(pids)
        ours = peer = float("inf")
        rss_peak = 0.0
        # Alternating keeps slow drift of a shared machine from favouring either server.
        for _ in range(OFFLOAD_RUNS):
            peer = min(peer, harness.tus_upload(node_url, {}, OFFLOAD_SOURCE, CHUNK))
            harness.empty(store)  # the file and its .json metadata
            with RssSampler(pids) as sampler:
                ours = min(ours, _offload_once(run, session, sha256))
            rss_peak = max(rss_peak, sampler.peak)
            harness.empty(run.staging, expect_size=OFFLOAD_SIZE)
    finally:
        harness.stop(node)
    ours_mbps, peer_mbps = harness.mbps(OFFLOAD_SIZE, ours), harness.mbps(OFFLOAD_SIZE, peer)
    return {
        "bench": "devices_offload",
        "file_MiB": OFFLOAD_SIZE // MiB,
        "chunk_KiB": CHUNK // 1024,
        "runs_best_of": OFFLOAD_RUNS,
        "unit": "MiB/s",
        "client": "tuspy, the simulator's chunk size, no Upload-Checksum (as the simulator)",
        "canvass_does": "manifest -> recording + grant (audited), tus under the grant, fdatasync, "
        "evidence item + custody at the last byte, recording read back complete",
        "node_does": "the tus upload alone, never syncs to disk",
        "canvass_MBps": ours_mbps,
        "node_MBps": peer_mbps,
        "ratio_vs_node": round(ours_mbps / peer_mbps, 2),
        "canvass_processes": len(pids),
        "canvass_rss_before_MB": rss_before,
        "canvass_rss_peak_MB": rss_peak,
        "canvass_rss_growth_MB": round(rss_peak - rss_before, 1),
        "machine_load_1m": round(os.getloadavg()[0], 2),
    }


# --- 3. trigger to alert -------------------------------------------------------------------------

TRIGGERS = int(os.environ.get("BENCH_DEVICES_TRIGGERS", "100"))
LIMIT_ALERT_P95_MS = 1000.0
ALERT_SERIAL = SERIAL.format(0)


def _operator_session(base_url: str) -> requests.Session:
    """A supervisor's browser session past both factors (as tests.conftest.client_for makes one),
    for the operations page's event stream."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    supervisor = User.objects.get(email="supervisor@bench-devices.example")
    device, _ = TOTPDevice.objects.get_or_create(
        user=supervisor, name="bench", defaults={"confirmed": True}
    )
    client = Client()
    client.force_login(supervisor)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, session.session_key)
    return browser


def _trigger_source() -> tuple[str, str]:
    from devices.models import DeviceAssignment
    from devices.services import triggers

    supervisor = User.objects.get(email="supervisor@bench-devices.example")
    supervisor.is_verified = lambda: True
    device = Device.objects.get(serial=ALERT_SERIAL)
    if not DeviceAssignment.objects.filter(device=device, checked_in_at__isnull=True).exists():
        officer = User.objects.filter(email="officer@bench-devices.example").first()
        if officer is None:
            officer = portal_services.staff_user_create(
                actor=None,
                email="officer@bench-devices.example",
                full_name="Bench Officer",
                role=Role.OFFICER,
                agency=supervisor.agency,
                send_invite=False,
            )
        today = dt.date.today()
        services.training_record(
            actor=supervisor,
            officer=officer,
            course="Body-worn camera operation",
            completed_on=today - dt.timedelta(days=1),
            expires_on=today + dt.timedelta(days=365),
        )
        services.device_check_out(actor=supervisor, device=device, officer=officer, unit="B1")
    source, secret = triggers.trigger_source_add(
        actor=supervisor, name=f"Bench TASER hub {uuid.uuid4().hex[:6]}"
    )
    return str(source.pk), secret


def trigger_alert(run: Run) -> dict:
    """Signed TASER triggers posted one at a time to the webhook while an operations page's
    event stream is open; each latency runs from just before the POST to the alert's event
    read off the stream (the client's clock on both ends)."""
    from devices import webhooks

    source_id, secret = _trigger_source()
    browser = _operator_session(run.base_url)
    stream = browser.get(
        urljoin(run.base_url, "staff/devices/operations/events"), stream=True, timeout=30
    )
    stream.raise_for_status()
    arrived: list[float] = []
    seen = threading.Event()

    def read() -> None:
        try:
            for line in stream.iter_lines():
                if line.startswith(b"data:") and b'"type":"alert"' in line:
                    arrived.append(time.perf_counter())
                    seen.set()
        except (requests.RequestException, AttributeError, OSError):
            pass  # the stream is closed at the end of the run

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(1.0)  # the snapshot is read and the stream subscribed
    hub = requests.Session()
    latencies, errors = [], 0
    for _ in range(TRIGGERS):
        body = json.dumps(
            {"type": "taser_armed", "at": dt.datetime.now(dt.UTC).isoformat(),
             "device": ALERT_SERIAL}
        ).encode()  # fmt: skip
        stamp = str(int(time.time()))
        seen.clear()
        before = len(arrived)
        sent = time.perf_counter()
        response = hub.post(
            urljoin(run.base_url, "api/devices/v1/triggers/"),
            data=body,
            headers={
                "Content-Type": "application/json",
                webhooks.SOURCE_HEADER: source_id,
                webhooks.TIMESTAMP_HEADER: stamp,
                webhooks.NONCE_HEADER: uuid.uuid4().hex,
                webhooks.SIGNATURE_HEADER: webhooks.signature_of(secret, stamp, body),
            },
            timeout=10,
        )
        if response.status_code != 201 or not seen.wait(5.0) or len(arrived) <= before:
            errors += 1
            continue
        latencies.append((arrived[before] - sent) * 1000)
        time.sleep(0.05)
    stream.close()
    reader.join(5)
    latencies.sort()
    p95 = percentile(latencies, 0.95) if latencies else float("nan")
    return {
        "bench": "devices_trigger_to_alert",
        "triggers": TRIGGERS,
        "errors": errors,
        "transport": "SSE (text/event-stream), Redis pub/sub between processes",
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p95_ms": round(p95, 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "limit_p95_ms": LIMIT_ALERT_P95_MS,
        "ratio_vs_limit": round(p95 / LIMIT_ALERT_P95_MS, 3),
        "machine_load_1m": round(os.getloadavg()[0], 2),
    }


# Each takes the running server and returns its JSON line.
MEASUREMENTS = (heartbeat, offload, trigger_alert)


def main() -> None:
    names = sys.argv[1:] or [measure.__name__ for measure in MEASUREMENTS]
    chosen = [measure for measure in MEASUREMENTS if measure.__name__ in names]
    if len(chosen) != len(names):
        sys.exit(f"measurements: {' '.join(m.__name__ for m in MEASUREMENTS)}")
    scratch = harness.scratch("devices")
    staging = scratch / "staging"
    staging.mkdir()
    tokens = seed_fleet()
    server, port = harness.start_canvass(harness.procfile_web(), UPLOAD_STAGING_DIR=str(staging))
    base_url = f"http://127.0.0.1:{port}/"
    try:
        harness.wait_for(base_url + "api/uploads/", server)
        run = Run(server=server, base_url=base_url, tokens=tokens, scratch=scratch, staging=staging)
        for measure in chosen:
            print(json.dumps(measure(run)), flush=True)
    finally:
        harness.stop(server)
        shutil.rmtree(scratch, ignore_errors=True)
        harness.purge_bench_queues()


if __name__ == "__main__":
    main()
