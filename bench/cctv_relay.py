"""CCTV owner side: "Test connection" and one relay ffmpeg against the GStreamer RTSP camera.

Times portal.media.rtsp_probe + rtsp_still (what the owner's button runs), the relay ffmpeg's
start until its RTMP output opens (the relay manager reports "live" then) against an ffmpeg RTMP
receiver, and the relay ffmpeg's CPU over BENCH_CCTV_SECONDS of remuxing H.264 with G.711 audio
to AAC. Peer figures: the spike's watch-to-first-playlist 1.50-1.60 s (which adds nginx's first
1 s segment) and 0.5-0.7 % of a core per remuxed stream (livefeeds.md). Prints one JSON line.

    .venv/bin/python bench/cctv_relay.py     # BENCH_CCTV_SECONDS=10, BENCH_CCTV_ROUNDS=3
"""

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")

import django  # noqa: E402

django.setup()

from portal import media  # noqa: E402
from tests.livefeeds.cctv.helpers import RtmpReceiver, RtspCamera  # noqa: E402

SECONDS = float(os.environ.get("BENCH_CCTV_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_CCTV_ROUNDS", "3"))
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main() -> None:
    cam = RtspCamera(audio="pcmu").start()
    tests, opens, cpu = [], [], []
    try:
        for _ in range(ROUNDS):
            started = time.monotonic()
            media.rtsp_probe(cam.url)
            with tempfile.TemporaryDirectory() as scratch:
                media.rtsp_still(cam.url, Path(scratch))
            tests.append(time.monotonic() - started)
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as scratch:
                rx = RtmpReceiver(Path(scratch), "bench").start()
                target = f"rtmp://127.0.0.1:{rx.port}/cam/bench"
                started = time.monotonic()
                proc = media.relay_spawn(media.relay_argv(cam.url, target), cpu_seconds=600)
                opened = threading.Event()

                def read(p=proc, flag=opened) -> None:
                    for line in p.stderr or ():
                        if line.startswith(b"Output #0"):
                            flag.set()

                threading.Thread(target=read, daemon=True).start()
                if not opened.wait(20):
                    raise SystemExit("the relay did not open its output")
                opens.append(time.monotonic() - started)
                before = _cpu_seconds(proc.pid)
                time.sleep(SECONDS)
                cpu.append(100 * (_cpu_seconds(proc.pid) - before) / SECONDS)
                media.relay_stop(proc)
                rx.stop()
    finally:
        cam.stop()
    print(
        json.dumps(
            {
                "bench": "cctv_relay",
                "rounds": ROUNDS,
                "test_connection_s_median": round(statistics.median(tests), 3),
                "relay_output_open_s_median": round(statistics.median(opens), 3),
                "relay_cpu_pct_of_core_median": round(statistics.median(cpu), 2),
                "peer_spike_watch_to_playlist_s": [1.50, 1.60],
                "peer_spike_cpu_pct_of_core": [0.5, 0.7],
            }
        )
    )


if __name__ == "__main__":
    main()
