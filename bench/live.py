"""Live feeds through the real relay: nginx + nginx-rtmp (config rendered by livefeeds.relay,
on free ports in a scratch prefix) in front of Canvass served as the Procfile's web line serves
it (gunicorn), on a bench database whose camera and supervisor are made through the services.

Each measurement prints one JSON line:

- bodycam_first_playlist: a body camera (devices.simulator) heartbeats `recording` and starts
  its live push (ffmpeg, 1 s GOP, the clock burned in); a supervisor's view is open. Measured
  from the push's start to the first playlist, fetched through /hls/<token>/…, that lists a
  segment. BENCH_LIVE_RUNS runs (5), each with a fresh push. No goal in the issue for body
  cameras (CCTV's is p95 ≤ 2 s); the spike saw 1.5–1.6 s for CCTV.
- auth_request_overhead: with the stream live, BENCH_LIVE_REQUESTS (500) alternating GETs of
  the newest segment through /hls/<token>/… (nginx asks Django by auth_request; Django's
  answer is cached ≤ 1 s in Redis) and through a bench-only twin location serving the same
  file with no check, on one keep-alive connection each. The overhead is the difference of
  the two p95 latencies. Goal: p95 ≤ 2 ms.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

harness.django_setup("canvass_bench_live")

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from devices import services as device_services  # noqa: E402
from devices import simulator  # noqa: E402
from devices.auth import stream_key_for  # noqa: E402
from devices.models import Device  # noqa: E402
from livefeeds import relay, services  # noqa: E402
from livefeeds.models import ViewSession  # noqa: E402
from portal import media  # noqa: E402
from portal import services as portal_services  # noqa: E402
from portal.models import Agency, User  # noqa: E402
from portal.roles import AgencyKind, Role  # noqa: E402

RUNS = int(os.environ.get("BENCH_LIVE_RUNS", "5"))
REQUESTS = int(os.environ.get("BENCH_LIVE_REQUESTS", "500"))
LIMIT_AUTH_P95_MS = 2.0
SERIAL = "BENCH-LIVE-1"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def seed() -> tuple[User, Device, str]:
    agency, _ = Agency.objects.get_or_create(
        slug="bench-live-pd", defaults={"name": "Bench Live PD", "kind": AgencyKind.POLICE}
    )
    supervisor = User.objects.filter(email="supervisor@bench-live.example").first()
    if supervisor is None:
        supervisor = portal_services.staff_user_create(
            actor=None,
            email="supervisor@bench-live.example",
            full_name="Bench Live Supervisor",
            role=Role.SUPERVISOR,
            agency=agency,
            send_invite=False,
        )
    supervisor.is_verified = lambda: True  # as after signing in with both factors
    device = Device.objects.filter(agency=agency, serial=SERIAL).first()
    if device is None:
        device = device_services.device_add(
            actor=supervisor, serial=SERIAL, make="Axis", model="W110", firmware="sim"
        )
    _, token = device_services.credential_issue(actor=supervisor, device=device)
    ViewSession.objects.filter(device=device, ended_at__isnull=True).update(
        ended_at=timezone.now(), end=ViewSession.End.STOPPED
    )
    return supervisor, device, token


def listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_relay(django_port: int) -> tuple[relay.RelayConfig, subprocess.Popen]:
    config = relay.RelayConfig(
        prefix=Path(tempfile.mkdtemp(prefix="canvass-bench-relay-")),
        rtmp_port=harness.free_port(),
        http_port=harness.free_port(),
        django_url=f"http://127.0.0.1:{django_port}",
        secret=settings.RELAY_SECRET,
        playlist_seconds=20,
        open_twin=True,
    )
    process = relay.spawn(config, output=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (listening(config.http_port) and listening(config.rtmp_port)):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("nginx did not start")
        time.sleep(0.05)
    return config, process


def first_playlist(hls: str, started: float, timeout: float = 20) -> float:
    session = requests.Session()
    while time.monotonic() - started < timeout:
        response = session.get(hls, timeout=5)
        if response.status_code == 200 and ".ts" in response.text:
            return time.monotonic() - started
        time.sleep(0.02)
    raise RuntimeError("no playlist")


def bodycam_first_playlist(ctx: dict) -> dict:
    camera, config = ctx["camera"], ctx["config"]
    stream = ctx["device"].pk.hex
    url = simulator.live_url(f"rtmp://127.0.0.1:{config.rtmp_port}/live", stream, ctx["key"])
    hls = f"http://127.0.0.1:{config.http_port}/hls/{ctx['token']}/live/{stream}/index.m3u8"
    times = []
    for _ in range(RUNS):
        camera.heartbeat("recording")
        shutil.rmtree(config.hls_dir("live") / stream, ignore_errors=True)
        started = time.monotonic()
        push = simulator.live_publish(url, label=SERIAL)
        try:
            times.append(first_playlist(hls, started))
        finally:
            camera.heartbeat("idle")
            media.live_stop(push)
        time.sleep(1)
    camera.heartbeat("recording")
    ctx["push"] = simulator.live_publish(url, label=SERIAL)
    first_playlist(hls, time.monotonic())
    return {
        "bench": "live_bodycam_first_playlist",
        "runs": RUNS,
        "gop_s": 1,
        "p50_s": round(percentile(times, 0.5), 3),
        "p95_s": round(percentile(times, 0.95), 3),
        "max_s": round(max(times), 3),
        "machine_load_1m": round(os.getloadavg()[0], 2),
    }


def auth_request_overhead(ctx: dict) -> dict:
    config = ctx["config"]
    stream = ctx["device"].pk.hex
    base = f"http://127.0.0.1:{config.http_port}"
    playlist = requests.get(f"{base}/hls/{ctx['token']}/live/{stream}/index.m3u8", timeout=5).text
    segment = [line for line in playlist.splitlines() if line.endswith(".ts")][-1]
    gated_url = f"{base}/hls/{ctx['token']}/live/{stream}/{segment}"
    open_url = f"{base}/open-hls/live/{stream}/{segment}"
    gated, opened = requests.Session(), requests.Session()
    gated_ms, open_ms, refused = [], [], 0
    size = 0
    for _ in range(REQUESTS):
        for session, url, out in ((gated, gated_url, gated_ms), (opened, open_url, open_ms)):
            began = time.perf_counter()
            response = session.get(url, timeout=5)
            out.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                refused += 1
            size = len(response.content)
    overhead = percentile(gated_ms, 0.95) - percentile(open_ms, 0.95)
    return {
        "bench": "live_auth_request_overhead",
        "requests": REQUESTS,
        "segment_bytes": size,
        "errors": refused,
        "gated_p50_ms": round(percentile(gated_ms, 0.5), 3),
        "gated_p95_ms": round(percentile(gated_ms, 0.95), 3),
        "open_p50_ms": round(percentile(open_ms, 0.5), 3),
        "open_p95_ms": round(percentile(open_ms, 0.95), 3),
        "overhead_p50_ms": round(percentile(gated_ms, 0.5) - percentile(open_ms, 0.5), 3),
        "overhead_p95_ms": round(overhead, 3),
        "limit_p95_ms": LIMIT_AUTH_P95_MS,
        "ratio_vs_limit": round(overhead / LIMIT_AUTH_P95_MS, 3),
        "allow_cache": "Redis, 1 s",
        "machine_load_1m": round(os.getloadavg()[0], 2),
    }


MEASUREMENTS = (bodycam_first_playlist, auth_request_overhead)


def main() -> None:
    names = sys.argv[1:] or [measure.__name__ for measure in MEASUREMENTS]
    chosen = [m for m in MEASUREMENTS if m.__name__ in names]
    if len(chosen) != len(names):
        sys.exit(f"measurements: {' '.join(m.__name__ for m in MEASUREMENTS)}")
    supervisor, device, token = seed()
    server, port = harness.start_canvass(harness.procfile_web())
    config, nginx = None, None
    ctx: dict = {}
    try:
        harness.wait_for(f"http://127.0.0.1:{port}/healthz", server)
        config, nginx = start_relay(port)
        camera = simulator.SimulatedCamera(
            f"http://127.0.0.1:{port}/", token, tempfile.mkdtemp(prefix="canvass-bench-cam-")
        )
        camera.heartbeat("recording")
        view, view_token = services.view_start(
            actor=supervisor, device=device, reason="bench", case_ref="BENCH-1"
        )
        ctx = {
            "camera": camera,
            "config": config,
            "device": device,
            "key": stream_key_for(token),
            "token": view_token,
        }
        if auth_request_overhead in chosen and bodycam_first_playlist not in chosen:
            chosen = [bodycam_first_playlist, *chosen]  # it leaves the stream running
            quiet = True
        else:
            quiet = False
        for measure in chosen:
            line = measure(ctx)
            if not (quiet and measure is bodycam_first_playlist):
                print(json.dumps(line), flush=True)
        services.view_end(actor=supervisor, session=view)
    finally:
        if "push" in ctx:
            media.live_stop(ctx["push"])
        if "camera" in ctx:
            ctx["camera"].heartbeat("idle")
        if nginx is not None:
            harness.stop(nginx)
        harness.stop(server)
        if config is not None:
            shutil.rmtree(config.prefix, ignore_errors=True)
        harness.purge_bench_queues()


if __name__ == "__main__":
    main()
