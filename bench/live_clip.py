"""Saving a clip of a live feed: "Save the last 60 s" from the relay's HLS ring into a case.

Lays out a ring as nginx-rtmp writes one (1 s MPEG-TS segments named by wall-clock ms, an
index.m3u8 with EXTINF) from a 720p25 H.264/AAC test pattern (x264 asked for 3 Mbit/s; the
pattern needs less, and the JSON says what it got), a body camera's kind of stream. Then times
livefeeds.clip_intake.live_clip_save for the last 60 s: choose, read and hash the segments,
remux them to a faststart MP4 through portal.media, ffprobe, then the evidence intake (grant,
streamed copy to staging, item, manifest into metadata and custody, into the case). The media
pipeline that stores and processes the item afterwards runs on a worker and is not counted. Goal: <= 3 s.

Its peer is the spike's bare clip maker (livefeeds.md, 6c) on the same segments: cat, one
plain `ffmpeg -c copy -movflags +faststart`, sha256 of the result, no checks and no intake.
The rounds alternate which goes first; each side reports its best. Prints one JSON line.

    .venv/bin/python bench/live_clip.py   # BENCH_LIVE_CLIP_SECONDS=60, BENCH_LIVE_CLIP_ROUNDS=3
"""

import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import harness

harness.django_setup(
    "canvass_bench_live_clip",
    UPLOAD_STAGING_DIR="data/bench-live-clip/staging",
    MEDIA_SCRATCH_DIR="data/bench-live-clip/scratch",
)

from django.conf import settings  # noqa: E402

from evidence.cases import services as case_services  # noqa: E402
from livefeeds import clip_intake, clips  # noqa: E402
from portal import media  # noqa: E402
from portal.models import Agency, User  # noqa: E402
from portal.roles import AgencyKind, Role  # noqa: E402

SECONDS = int(os.environ.get("BENCH_LIVE_CLIP_SECONDS", "60"))
ROUNDS = int(os.environ.get("BENCH_LIVE_CLIP_ROUNDS", "3"))
RING_SECONDS = SECONDS + 10
GOAL_S = 3.0
FPS = 25


def lay_ring(root: Path, stream: str) -> tuple[Path, float]:
    """RING_SECONDS of 1 s segments as nginx-rtmp's ring; returns it and its end time."""
    encoded = root / "encoded"
    encoded.mkdir()
    media.synthesize(
        "-f", "lavfi", "-i", f"testsrc=size=1280x720:rate={FPS}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(RING_SECONDS),
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "3M", "-pix_fmt", "yuv420p",
        "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
        "-hls_segment_filename", str(encoded / "seg%03d.ts"), str(encoded / "encoded.m3u8"),
    )  # fmt: skip
    ring = clips.hls_root() / "live" / stream
    ring.mkdir(parents=True)
    start_ms = int((time.time() - RING_SECONDS - 1) * 1000)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-TARGETDURATION:1"]
    for i, segment in enumerate(sorted(encoded.glob("seg*.ts"))):
        name = f"{start_ms + i * 1000}.ts"
        shutil.move(segment, ring / name)
        lines += ["#EXTINF:1.000,", name]
    (ring / "index.m3u8").write_text("\n".join(lines) + "\n")
    shutil.rmtree(encoded)
    return ring, start_ms / 1000 + RING_SECONDS


def make_case():
    agency, _ = Agency.objects.get_or_create(
        slug="bench-live-pd", defaults={"name": "Bench Live PD", "kind": AgencyKind.POLICE}
    )
    tag = uuid.uuid4().hex[:8]
    user = User.objects.create_user(
        email=f"bench-live-{tag}@example.org",
        password=None,
        role=Role.INVESTIGATOR,
        agency=agency,
    )
    user.is_verified = lambda: True  # as django-otp marks a signed-in request's user
    case = case_services.case_create(actor=user, number=f"LIVE-{tag}", title="Live clip bench")
    return user, case


def ours(user, case, stream: str, end: float) -> tuple[float, int]:
    start = time.perf_counter()
    item = clip_intake.live_clip_save(
        requester=user,
        case_id=case.pk,
        app="live",
        stream=stream,
        window=clips.window_last(SECONDS, now=end),
        session_id="bench",
    )
    return time.perf_counter() - start, item.size


def bare(ring: Path, end: float, work: Path) -> float:
    """The spike's clip.py: cat the overlapping segments, one ffmpeg, one sha256."""
    start = time.perf_counter()
    names = sorted(p.name for p in ring.glob("*.ts"))
    use = [n for n in names if int(n[:-3]) / 1000 + 1 > end - SECONDS]
    joined, out = work / "joined.ts", work / "clip.mp4"
    with open(joined, "wb") as f:
        for name in use:
            f.write((ring / name).read_bytes())
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(joined),
         "-map", "0:v", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart", str(out)],
        check=True,
    )  # fmt: skip
    hashlib.sha256(out.read_bytes()).hexdigest()
    elapsed = time.perf_counter() - start
    joined.unlink()
    out.unlink()
    return elapsed


def main() -> None:
    work = harness.scratch("live-clip")
    settings.RELAY_DIR = work / "relay"
    stream = f"bench{uuid.uuid4().hex[:8]}"
    try:
        ring, end = lay_ring(work, stream)
        ring_bytes = sum(p.stat().st_size for p in ring.glob("*.ts"))
        clips.relay_tool_versions()  # once per worker process, like ffmpeg's versions
        media.tool_versions()
        user, case = make_case()
        ours_s, bare_s, clip_bytes = [], [], 0
        for i in range(ROUNDS):
            if i % 2:
                bare_s.append(bare(ring, end, work))
            elapsed, clip_bytes = ours(user, case, stream, end)
            ours_s.append(elapsed)
            if not i % 2:
                bare_s.append(bare(ring, end, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        harness.purge_bench_queues()
    best = min(ours_s)
    print(
        json.dumps(
            {
                "bench": "live_clip_save",
                "clip_seconds": SECONDS,
                "source": f"1 s segments, 1280x720 {FPS}fps h264 + aac",
                "ring_mib": round(ring_bytes / harness.MiB, 1),
                "ring_mbit_per_s": round(ring_bytes * 8 / RING_SECONDS / 1e6, 2),
                "clip_mib": round(clip_bytes / harness.MiB, 1),
                "rounds": ROUNDS,
                "ours_all_s": [round(s, 3) for s in ours_s],
                "bare_all_s": [round(s, 3) for s in bare_s],
                "ours_s": round(best, 3),
                "bare_s": round(min(bare_s), 3),
                "goal_s": GOAL_S,
                "met": best <= GOAL_S,
                "tools": {**media.tool_versions(), **clips.relay_tool_versions()},
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
