"""The clip maker on a ring written by the real relay: Debian's nginx with libnginx-mod-rtmp,
started here in a private prefix on a free port, fed by ffmpeg publishing RTMP as a body camera
does. It checks that the ring is what the clip maker assumes (segment names in wall-clock ms,
nginx-rtmp's playlist, its discontinuity mark on the first segment)."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from livefeeds import clips

FPS = 25
PUBLISH_SECONDS = 7
NGINX = "/usr/sbin/nginx"
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")

pytestmark = pytest.mark.skipif(
    not (Path(NGINX).exists() and RTMP_MODULE.exists()), reason="nginx-rtmp is not installed"
)

CONFIG = """
load_module {module};
{user}
worker_processes 1;
pid logs/nginx.pid;
error_log stderr notice;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        access_log off;
        application live {{
            live on;
            hls on;
            hls_path {hls}/live;
            hls_nested on;
            hls_fragment 1s;
            hls_playlist_length 60s;
            hls_fragment_naming system;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def relay(relay_dir, tmp_path):
    """nginx-rtmp in its own prefix; yields its RTMP port, stopped afterwards."""
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    port = _free_port()
    hls = clips.hls_root()
    hls.mkdir(parents=True)
    config = prefix / "nginx.conf"
    # A root master hands its workers to `nobody` (livefeeds.md, trap 3), who may not write
    # into pytest's private temporary directory: keep them as root then.
    user = "user root root;" if os.geteuid() == 0 else ""
    config.write_text(CONFIG.format(module=RTMP_MODULE, user=user, port=port, hls=hls))
    nginx = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert nginx.poll() is None, nginx.stderr.read().decode() if nginx.stderr else ""
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)
        yield port
    finally:
        nginx.send_signal(signal.SIGTERM)
        nginx.communicate(timeout=10)


def _publish(port: int, stream: str, seconds: int = PUBLISH_SECONDS) -> None:
    """A body camera: a clock test pattern and a tone, 1 s GOP, pushed in real time."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "64k", "-f", "flv", f"rtmp://127.0.0.1:{port}/live/{stream}",
        ],
        check=True,
        timeout=seconds + 30,
    )  # fmt: skip


def test_the_last_seconds_of_a_real_relay_ring_make_a_clip_of_every_frame(relay, tmp_path):
    _publish(relay, "bodycam07")
    ring = clips.ring_dir("live", "bodycam07")
    listed = clips.playlist_segments((ring / "index.m3u8").read_text())
    assert len(listed) >= PUBLISH_SECONDS - 1
    assert listed[0].discontinuity  # nginx-rtmp marks the first segment so
    # Named by the wall clock at which nginx opened them: a moment ago, about 1 s apart.
    assert time.time() - 30 < listed[0].start < listed[-1].start < time.time()
    assert all(0.5 < b.start - a.start < 1.5 for a, b in zip(listed, listed[1:], strict=False))

    window = clips.window_last(4, now=listed[-1].end)
    out = tmp_path / "out"
    out.mkdir()
    clip = clips.clip_make(app="live", stream="bodycam07", window=window, out_dir=out)

    used = clip.manifest["segments"]
    assert [s["name"] for s in used] == [s.name for s in clips.overlapping(listed, window)]
    for entry in used:
        assert entry["sha256"] == hashlib.sha256((ring / entry["name"]).read_bytes()).hexdigest()
    probed = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
             "-show_entries", "stream=nb_read_frames", "-of", "json", str(clip.path)],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout
    )  # fmt: skip
    listed_seconds = sum(s["duration"] for s in used)
    assert int(probed["streams"][0]["nb_read_frames"]) == round(listed_seconds * FPS)
    decode = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(clip.path), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert decode.returncode == 0 and decode.stderr == ""
    assert clip.manifest["ffprobe"]["audio_codec"] == "aac"


def test_a_window_over_a_reconnect_of_the_real_relay_is_refused(relay, tmp_path):
    for _ in range(2):  # the camera drops and publishes again: nginx marks a discontinuity
        _publish(relay, "bodycam08", seconds=3)
    ring = clips.ring_dir("live", "bodycam08")
    listed = clips.playlist_segments((ring / "index.m3u8").read_text())
    restarts = [s for s in listed[1:] if s.discontinuity]
    assert len(restarts) == 1
    with pytest.raises(clips.ClipError) as refused:
        clips.clip_make(
            app="live",
            stream="bodycam08",
            window=clips.Window(listed[0].start, listed[-1].end, "both"),
            out_dir=tmp_path,
        )
    assert refused.value.code == "discontinuity"
    after = clips.Window(restarts[0].start, listed[-1].end, "after the reconnect")
    clip = clips.clip_make(app="live", stream="bodycam08", window=after, out_dir=tmp_path)
    assert clip.manifest["segments"][0]["name"] == restarts[0].name
