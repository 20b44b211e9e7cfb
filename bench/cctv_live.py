"""CCTV live through the whole real path: Canvass under gunicorn (the Procfile's web line), the
relay (nginx + nginx-rtmp, config rendered by livefeeds.relay on free ports), `manage.py
relaymgr` as its own process (the Procfile's relaymgr line), and GStreamer RTSP test cameras
(scripts/rtsp_test_camera.py under Debian's python3). Cameras, owners' policies and a
supervisor are made through the services on a bench database.

Each measurement prints one JSON line, with the machine's load average (the machine has 2
cores shared with other work: re-run on a quiet machine for figures to compare):

- cctv_first_playlist: a signed-in supervisor (session cookie, past both factors) POSTs the
  watch form (/staff/live/cameras/<id>/watch/, through the relay's origin as the browser does);
  the view asks the relay manager to pull the camera; its ffmpeg pulls RTSP into nginx-rtmp;
  the clock stops at the first playlist, fetched through /hls/<token>/… (auth_request with the
  viewer's token), that lists a segment. The camera runs all along (a keeper client holds its
  RTSP media, as a real camera's encoder is always on). BENCH_CCTV_RUNS runs (8). Where the
  time goes, the median moment after the POST of: the view's answer, the relay manager's
  ffmpeg spawned, its publish accepted (on_publish; ffmpeg's RTSP probe is done). The rest is
  nginx's first segment (one GOP) and the playlist served. Goal: p95 ≤ 2 s.
- cctv_glass_to_glass: the camera draws each frame's capture time (wall clock, ms) as
  machine-readable blocks (--clock-code); headless Chromium opens the real watch page, starts
  the view with its button and plays it with the page's hls.js; BENCH_G2G_SAMPLES (20) times,
  0.5 s apart, the shown frame is drawn to a canvas, its time decoded from the pixels and
  subtracted from Date.now(). Goal: ≤ 5 s.
- cctv_concurrent_streams: BENCH_STREAMS (40) cameras, each with its own RTSP session, relayed
  by the relay manager's ffmpeg -c copy into nginx-rtmp's HLS. The RTSP source is one
  test-camera mount whose media is shared, so the picture is encoded once (1280x720 at 10 fps,
  an incompressible picture at 2 Mbit/s) and its cost is reported apart. CPU of the relay path
  (the relay manager's ffmpeg children + nginx) from /proc over BENCH_CPU_SECONDS (30), per
  stream and in total; the relay manager's own process and Canvass (which answers nginx's
  on_update callbacks) are reported apart. No viewers are fetching. Goal: ≤ 1 % of a core each.

    .venv/bin/python bench/cctv_live.py [cctv_first_playlist cctv_glass_to_glass cctv_concurrent_streams]
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import harness

RTMP_PORT, HTTP_PORT = harness.free_port(), harness.free_port()
RELAY_PREFIX = Path(tempfile.mkdtemp(prefix="canvass-bench-cctv-"))
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="canvass-bench-cctv-static-"))
harness.django_setup(
    "canvass_bench_cctv_live",
    RELAY_RTMP_PORT=str(RTMP_PORT),
    RELAY_HTTP_PORT=str(HTTP_PORT),
    RELAY_DIR=str(RELAY_PREFIX),
    RELAY_HLS_URL="/hls/",
    RELAYMGR_ALLOW_PRIVATE_SOURCES="on",
    LIVE_VIEWERS_PER_FEED="4",
    # The watch page's scripts, served by whitenoise from a collected copy (no manifest).
    STATIC_ROOT=str(STATIC_ROOT),
)

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402

from livefeeds import relay, relaystate, watching  # noqa: E402
from livefeeds.models import Publish, ViewSession  # noqa: E402
from portal.roles import Role  # noqa: E402
from tests.factories import AgencyFactory, PublicUserFactory, UserFactory, add_totp_device  # noqa: E402
from tests.livefeeds.watch.helpers import link  # noqa: E402
from tests.registry.cameras import INCIDENT, offset, register  # noqa: E402

RUNS = int(os.environ.get("BENCH_CCTV_RUNS", "8"))
G2G_SAMPLES = int(os.environ.get("BENCH_G2G_SAMPLES", "20"))
STREAMS = int(os.environ.get("BENCH_STREAMS", "40"))
CPU_SECONDS = float(os.environ.get("BENCH_CPU_SECONDS", "30"))
GOAL_FIRST_PLAYLIST_P95_S = 2.0
GOAL_G2G_S = 5.0
GOAL_STREAM_PCT_OF_CORE = 1.0
DEBIAN_PYTHON = "/usr/bin/python3"
CAMERA_SCRIPT = harness.ROOT / "scripts" / "rtsp_test_camera.py"
RUN_ID = uuid.uuid4().hex[:8]
started_pids: list[int] = []  # everything this bench started, checked gone at the end


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log_file(name: str):
    folder = os.environ.get("BENCH_LOG_DIR")
    return open(os.path.join(folder, name), "ab") if folder else subprocess.DEVNULL


# --- processes ------------------------------------------------------------------------------


def stop_group(proc: subprocess.Popen, grace: float = 5) -> None:
    """SIGTERM the process group, SIGKILL after `grace`; reaped (as the relay manager stops
    its ffmpeg)."""
    from portal.media import relay_stop

    relay_stop(proc, grace=grace)


class Camera:
    """scripts/rtsp_test_camera.py on a free port."""

    def __init__(self, *args: str):
        self.port = harness.free_port()
        self.proc = subprocess.Popen(
            [DEBIAN_PYTHON, str(CAMERA_SCRIPT), "--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=log_file("camera.log"),
            start_new_session=True,
        )
        started_pids.append(self.proc.pid)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(b"READY"):
            self.stop()
            raise RuntimeError("the RTSP test camera did not start")
        self.url = f"rtsp://127.0.0.1:{self.port}/stream"
        # A real camera's encoder runs whether anyone pulls or not: a client holds the media.
        self.keeper = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport",
             "tcp", "-i", self.url, "-c", "copy", "-f", "null", "-"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        started_pids.append(self.keeper.pid)

    def stop(self) -> None:
        if getattr(self, "keeper", None) is not None:
            stop_group(self.keeper)
        stop_group(self.proc)


class Stack:
    """Canvass (gunicorn), nginx-rtmp and the relay manager, started and stopped together."""

    def __init__(self, poll: float | None = None, idle: float | None = None):
        self.server, self.port = harness.start_canvass(harness.procfile_web())
        started_pids.append(self.server.pid)
        self.nginx = self.relaymgr = None
        try:
            harness.wait_for(f"http://127.0.0.1:{self.port}/healthz", self.server)
            self.config = relay.RelayConfig(
                prefix=RELAY_PREFIX,
                rtmp_port=RTMP_PORT,
                http_port=HTTP_PORT,
                django_url=f"http://127.0.0.1:{self.port}",
                secret=settings.RELAY_SECRET,
                playlist_seconds=settings.RELAY_HLS_PLAYLIST_SECONDS,
                update_seconds=settings.RELAY_UPDATE_SECONDS,
            )
            self.nginx = relay.spawn(self.config, output=log_file("nginx.log"))
            started_pids.append(self.nginx.pid)
            deadline = time.monotonic() + 10
            while not (listening(HTTP_PORT) and listening(RTMP_PORT)):
                if self.nginx.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start")
                time.sleep(0.05)
            env = {**os.environ, "RELAY_DJANGO_URL": f"http://127.0.0.1:{self.port}"}
            if poll is not None:
                env["RELAYMGR_POLL_SECONDS"] = str(poll)
            if idle is not None:
                env["RELAYMGR_IDLE_SECONDS"] = str(idle)
            self.relaymgr = subprocess.Popen(
                [sys.executable, "manage.py", "relaymgr"],
                cwd=harness.ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log_file("relaymgr.log"),
                start_new_session=True,
            )
            started_pids.append(self.relaymgr.pid)
            assert self.relaymgr.stdout is not None
            if b"running" not in self.relaymgr.stdout.readline():
                raise RuntimeError("the relay manager did not start")
            self.base = f"http://127.0.0.1:{HTTP_PORT}"
        except BaseException:
            self.stop()
            raise

    def relays(self) -> list[int]:
        """The relay manager's ffmpeg children (remembered, to check they are gone at the end)."""
        found = harness.children(self.relaymgr.pid) if self.relaymgr else []
        started_pids.extend(p for p in found if p not in started_pids)
        return found

    def stop(self) -> None:
        if self.relaymgr is not None:
            stop_group(self.relaymgr, grace=15)
        if self.nginx is not None:
            harness.stop(self.nginx)
        harness.stop(self.server)


def listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- people and cameras ---------------------------------------------------------------------


def seed_people():
    agency = AgencyFactory(name=f"Bench CCTV PD {RUN_ID}", slug=f"bench-cctv-{RUN_ID}")
    supervisor = UserFactory(
        agency=agency, role=Role.SUPERVISOR, email=f"sup-{RUN_ID}@bench-cctv.example"
    )
    add_totp_device(supervisor)
    owner = PublicUserFactory(email=f"owner-{RUN_ID}@bench-cctv.example")
    return agency, supervisor, owner


def new_camera(agency, owner, url: str, n: int = 0):
    camera = register(owner, *offset(*INCIDENT, n * 5, 0), name=f"Bench camera {n}")
    link(camera, owner, address=url, agency=agency)
    return camera


def session_cookie(user) -> tuple[str, str]:
    """A session past both factors, as django-otp's login leaves it."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def watch_over_http(stack: Stack, user, camera) -> tuple[requests.Session, str, str]:
    """A signed-in browser-like session on the watch form: (session, form URL, CSRF token)."""
    http = requests.Session()
    http.cookies.set(*session_cookie(user))
    page = f"{stack.base}/staff/live/cameras/{camera.pk}/watch/"
    form = http.get(page, timeout=30)
    form.raise_for_status()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    return http, page, csrf


HLS = re.compile(r'data-hls="([^"]+)"')
EXTINF = re.compile(r"#EXTINF:([0-9.]+)")


def end_views(camera) -> None:
    for session in ViewSession.objects.filter(camera=camera, ended_at__isnull=True):
        from livefeeds import services

        services.view_end(actor=session.viewer, session=session)


def wait(predicate, timeout: float, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError("timed out")


# --- 1. first playlist ----------------------------------------------------------------------


def cctv_first_playlist(stack: Stack, people) -> dict:
    agency, supervisor, owner = people
    cam = Camera()
    try:
        camera = new_camera(agency, owner, cam.url)
        stream = watching.stream_of_camera(camera)
        ring = stack.config.hls_dir("cam") / stream
        totals, firsts = [], []
        stages: dict[str, list[float]] = {"view": [], "spawn": [], "publish": []}
        for _ in range(RUNS):
            http, page, csrf = watch_over_http(stack, supervisor, camera)
            marks: dict[str, float] = {}
            stop_marks = threading.Event()

            def watch_marks(flag=stop_marks, marks=marks) -> None:
                while not flag.is_set():
                    now = time.monotonic()
                    if "spawn" not in marks and stack.relays():
                        marks["spawn"] = now
                    time.sleep(0.005)

            watcher = threading.Thread(target=watch_marks, daemon=True)
            watcher.start()
            started, started_wall = time.monotonic(), time.time()
            answer = http.post(
                page,
                data={
                    "csrfmiddlewaretoken": csrf,
                    "reason_category": "incident",
                    "reason": "Bench: time to first playlist",
                    "case_ref": "BENCH-CCTV-1",
                },
                headers={"Referer": page},
                timeout=30,
            )
            marks["view"] = time.monotonic()
            found = HLS.search(answer.text)
            if answer.status_code != 200 or not found:
                raise RuntimeError(f"the watch form did not open a view ({answer.status_code})")
            hls = stack.base + found.group(1)
            while True:
                got = http.get(hls, timeout=5)
                if got.status_code == 200 and ".ts" in got.text:
                    break
                if time.monotonic() - started > 30:
                    raise RuntimeError("no playlist within 30 s")
                time.sleep(0.02)
            done = time.monotonic()
            stop_marks.set()
            watcher.join()
            totals.append(done - started)
            publish = Publish.objects.filter(app="cam", stream=stream).first()  # the newest
            if publish is not None:
                marks["publish"] = started + publish.started_at.timestamp() - started_wall
            firsts.append(EXTINF.findall(got.text))
            for stage in stages:
                stages[stage].append(marks.get(stage, done) - started)
            # Stop the relay now (rather than after the idle time) and clear the ring, so the
            # next run starts cold.
            end_views(camera)
            relaystate.unwant(stream)
            wait(lambda: not stack.relays(), 20)
            time.sleep(0.5)  # on_publish_done's way to Django
            shutil.rmtree(ring, ignore_errors=True)
    finally:
        cam.stop()
    p95 = percentile(totals, 0.95)
    return {
        "bench": "cctv_first_playlist",
        "runs": RUNS,
        "path": "watch form POST (HTTP, via the relay origin) -> relaymgr process -> ffmpeg RTSP "
        "-> nginx-rtmp HLS -> playlist via auth_request with the viewer's token",
        "p50_s": round(percentile(totals, 0.5), 3),
        "p95_s": round(p95, 3),
        "max_s": round(max(totals), 3),
        # Seconds after the POST, median: its answer (the view page), the relay manager's
        # ffmpeg spawned, nginx's on_publish accepted by Canvass (ffmpeg's probe done).
        "marks_median_s": {k: round(percentile(v, 0.5), 3) for k, v in stages.items()},
        "first_playlist_extinf_s": firsts[:3],
        "relaymgr_poll_s": settings.RELAYMGR_POLL_SECONDS,
        "gop_s": 1,
        "goal_p95_s": GOAL_FIRST_PLAYLIST_P95_S,
        "ratio_vs_goal": round(p95 / GOAL_FIRST_PLAYLIST_P95_S, 3),
        "peer_spike_s": [1.50, 1.60],
        "load_avg_1_5_15": load(),
    }


# --- 2. glass to glass ----------------------------------------------------------------------

# Draw the shown frame, read the 48 blocks (scripts/rtsp_test_camera.py --clock-code), check
# them; the frame's age in ms, or null when no readable frame is shown.
READ_CLOCK = """() => {
  const video = document.getElementById('live-video');
  if (!video || video.readyState < 2 || !video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0);
  const now = Date.now();
  const scale = video.videoWidth / 640;
  let value = 0n;
  for (let i = 0; i < 48; i++) {
    const x = Math.round((40 + (i % 12) * 40 + 12) * scale);
    const y = Math.round((40 + Math.floor(i / 12) * 40 + 12) * scale);
    const px = ctx.getImageData(x, y, Math.round(16 * scale), Math.round(16 * scale)).data;
    let sum = 0;
    for (let j = 0; j < px.length; j += 4) sum += px[j + 1];
    value = (value << 1n) | (sum / (px.length / 4) > 128 ? 1n : 0n);
  }
  const ms = value >> 4n, check = Number(value & 15n);
  const ones = ms.toString(2).split('').filter((b) => b === '1').length;
  if (ones % 16 !== check) return {bad: true};
  return {age: now - Number(ms), now: now};
}"""


def cctv_glass_to_glass(stack: Stack, people) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    agency, supervisor, owner = people
    cam = Camera("--clock-code")
    ages, unreadable = [], 0
    shown: list[tuple[float, int]] = []  # (when read, the frame's clock in ms)
    camera = None
    try:
        camera = new_camera(agency, owner, cam.url, n=1)
        name, value = session_cookie(supervisor)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--autoplay-policy=no-user-gesture-required"],
            )  # fmt: skip
            try:
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                context.add_cookies([{"name": name, "value": value, "url": stack.base}])
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{stack.base}/staff/live/cameras/{camera.pk}/watch/")
                page.get_by_label("Category").select_option("incident")
                page.get_by_label("Reason").fill("Bench: glass to glass")
                page.get_by_label("Case or incident number").fill("BENCH-CCTV-2")
                page.get_by_role("button", name="Start watching").click()
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
                try:
                    page.wait_for_function(
                        "() => document.getElementById('live-viewer').dataset.state === 'live'"
                    )
                except PlaywrightError as exc:
                    state = page.evaluate(
                        "() => [document.getElementById('live-viewer').dataset.state,"
                        " document.getElementById('live-detail').textContent]"
                    )
                    raise RuntimeError(f"not live: {state} {console[-5:]}") from exc
                time.sleep(5)  # hls.js settles at its live edge
                for _ in range(G2G_SAMPLES):
                    read = page.evaluate(READ_CLOCK)
                    if read is None or read.get("bad"):
                        unreadable += 1
                    else:
                        ages.append(read["age"] / 1000)
                        shown.append((time.time(), read["now"] - read["age"]))
                    time.sleep(0.5)
                context.close()
            finally:
                browser.close()
    finally:
        if camera is not None:
            end_views(camera)
            relaystate.unwant(watching.stream_of_camera(camera))
        cam.stop()
    if not ages:
        raise RuntimeError("no frame's clock could be read")
    p95 = percentile(ages, 0.95)
    # The frames' clocks must advance with the wall clock (the decoding reads real times).
    advance = (shown[-1][1] - shown[0][1]) / 1000 / max(1e-3, shown[-1][0] - shown[0][0])
    return {
        "bench": "cctv_glass_to_glass",
        "frame_clock_advance_per_wall_s": round(advance, 3),
        "samples": len(ages),
        "unreadable": unreadable,
        "player": "the watch page's hls.js (liveSyncDurationCount 2), headless Chromium",
        "p50_s": round(percentile(ages, 0.5), 3),
        "p95_s": round(p95, 3),
        "min_s": round(min(ages), 3),
        "max_s": round(max(ages), 3),
        "gop_s": 1,
        "goal_s": GOAL_G2G_S,
        "ratio_vs_goal_p95": round(p95 / GOAL_G2G_S, 3),
        "peer_spike_s": 4.0,
        "load_avg_1_5_15": load(),
    }


# --- 3. concurrent streams ------------------------------------------------------------------


def nginx_pids(stack: Stack) -> list[int]:
    return harness.family(stack.nginx.pid)


def cctv_concurrent_streams(stack: Stack, people) -> dict:
    agency, supervisor, owner = people
    cam = Camera("--size", "1280x720", "--bitrate", "2000", "--pattern", "snow")
    cameras = []
    try:
        for n in range(STREAMS):
            camera = new_camera(agency, owner, cam.url, n=10 + n)
            watching.watch_camera(
                actor=supervisor_verified(supervisor),
                camera=camera,
                reason="Bench: concurrent streams",
                case_ref="BENCH-CCTV-3",
                reason_category="incident",
            )
            cameras.append(camera)
        streams = [watching.stream_of_camera(c) for c in cameras]
        rings = [stack.config.hls_dir("cam") / s / "index.m3u8" for s in streams]
        wait(lambda: all(r.exists() for r in rings), 120, 0.2)
        relays = stack.relays()
        if len(relays) != STREAMS:
            raise RuntimeError(f"{len(relays)} relays run, not {STREAMS}")
        time.sleep(5)  # past the start-up
        groups = {
            "relay_ffmpeg": relays,
            "nginx": nginx_pids(stack),
            "relaymgr": [stack.relaymgr.pid],
            "canvass": harness.family(stack.server.pid),
            "camera": [cam.proc.pid],
        }
        before = {k: harness.cpu_seconds(v) for k, v in groups.items()}
        stat_before = relay_bytes_in(stack)
        began = time.monotonic()
        time.sleep(CPU_SECONDS)
        elapsed = time.monotonic() - began
        after = {k: harness.cpu_seconds(v) for k, v in groups.items()}
        stat_after = relay_bytes_in(stack)
        still = stack.relays()
        if sorted(still) != sorted(relays):
            raise RuntimeError("a relay restarted during the window")
        pct = {k: 100 * (after[k] - before[k]) / elapsed for k in groups}
        ffmpeg_rss = harness.rss_mb(relays)
    finally:
        for camera in cameras:
            end_views(camera)
            relaystate.unwant(watching.stream_of_camera(camera))
        if cameras:
            wait(lambda: not stack.relays(), 60, 0.2)
        cam.stop()
    path = pct["relay_ffmpeg"] + pct["nginx"]
    per_stream = path / STREAMS
    kbps = 8 * (stat_after - stat_before) / elapsed / 1000 / STREAMS if stat_before else None
    return {
        "bench": "cctv_concurrent_streams",
        "streams": STREAMS,
        "window_s": round(elapsed, 1),
        "source": "one shared RTSP mount, 1280x720 10 fps 1 s GOP, snow at 2 Mbit/s; "
        "a session and an ffmpeg -c copy per stream",
        "stream_kbit_s_in": round(kbps, 1) if kbps else None,
        "per_stream_pct_of_core": round(per_stream, 3),
        "total_pct_of_core": round(path, 2),
        "ffmpeg_total_pct": round(pct["relay_ffmpeg"], 2),
        "nginx_total_pct": round(pct["nginx"], 2),
        "relaymgr_process_pct": round(pct["relaymgr"], 2),
        "per_stream_pct_with_relaymgr": round((path + pct["relaymgr"]) / STREAMS, 3),
        "ffmpeg_rss_mb_per_stream": round(ffmpeg_rss / STREAMS, 1),
        "canvass_pct": round(pct["canvass"], 2),
        "test_camera_pct_excluded": round(pct["camera"], 2),
        "goal_per_stream_pct": GOAL_STREAM_PCT_OF_CORE,
        "ratio_vs_goal": round(per_stream / GOAL_STREAM_PCT_OF_CORE, 3),
        "peer_spike_pct_per_stream": [0.7, 1.0],
        "load_avg_1_5_15": load(),
    }


def relay_bytes_in(stack: Stack) -> int:
    """Bytes nginx-rtmp has taken in over all publishers (/stat)."""
    try:
        xml = requests.get(f"{stack.base}/stat", timeout=5).text
    except requests.RequestException:
        return 0
    match = re.search(r"<bytes_in>(\d+)</bytes_in>", xml)
    return int(match.group(1)) if match else 0


def supervisor_verified(user):
    user.is_verified = lambda: True  # as after signing in with both factors
    return user


MEASUREMENTS = (cctv_first_playlist, cctv_glass_to_glass, cctv_concurrent_streams)


def main() -> None:
    names = sys.argv[1:] or [m.__name__ for m in MEASUREMENTS]
    chosen = [m for m in MEASUREMENTS if m.__name__ in names]
    if len(chosen) != len(names):
        sys.exit(f"measurements: {' '.join(m.__name__ for m in MEASUREMENTS)}")
    people = seed_people()
    try:
        if cctv_glass_to_glass in chosen:
            from django.core.management import call_command

            call_command("collectstatic", interactive=False, verbosity=0)
        for measure in chosen:
            # The concurrent streams have no viewer fetching: the relay manager must not stop
            # them for want of one.
            stack = Stack(idle=3600 if measure is cctv_concurrent_streams else None)
            try:
                print(json.dumps(measure(stack, people)), flush=True)
            finally:
                stack.stop()
    finally:
        shutil.rmtree(RELAY_PREFIX, ignore_errors=True)
        shutil.rmtree(STATIC_ROOT, ignore_errors=True)
        harness.purge_bench_queues()
        left = [pid for pid in started_pids if Path(f"/proc/{pid}").exists()]
        if left:
            sys.exit(f"processes left behind: {left}")


if __name__ == "__main__":
    main()
