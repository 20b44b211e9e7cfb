"""Media derivatives: portal.media end to end against the same ffmpeg commands run bare.

Makes a 60 s 1080p30 H.264/AAC clip, then times what the pipeline does with a video (detect,
probe, 720p proxy, HLS by stream copy from the source, poster) through our functions, and
then the very argument lists those calls recorded (ToolRun.argv), run again one after another
with plain subprocess. The difference is our overhead: sniffing, limits, process-group and
rlimit setup, output checks. Goal: ratio <= 1.15. Prints one JSON line.

x264 dominates and a shared 2-core machine is noisy, so the two sides take turns for
BENCH_MEDIA_ROUNDS rounds (ours first, then bare first, ...) and each side reports its best.

    .venv/bin/python bench/media.py   # BENCH_MEDIA_SECONDS=60, BENCH_MEDIA_ROUNDS=2
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")

import django  # noqa: E402

django.setup()

from evidence.samples import phone_clip_mov  # noqa: E402
from portal import media  # noqa: E402

SECONDS = int(os.environ.get("BENCH_MEDIA_SECONDS", "60"))
ROUNDS = int(os.environ.get("BENCH_MEDIA_ROUNDS", "2"))
GOAL_RATIO = 1.15


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def ours(source: Path, work: Path) -> tuple[dict, list[list[str]], float]:
    """The pipeline's calls for one video; returns step times, the argv of each run, proxy s."""
    steps = {}
    detected, steps["detect"] = timed(lambda: media.detect(source))
    probe, steps["probe"] = timed(lambda: media.probe(source))
    proxy, steps["proxy"] = timed(lambda: media.video_proxy(source, work, probe))
    hls_dir = work / "hls"
    hls_dir.mkdir()
    playlist, steps["hls_copy"] = timed(lambda: media.hls(source, hls_dir, probe, copy=True)[0])
    poster, steps["poster"] = timed(lambda: media.poster(source, work, probe))
    argvs = [detected.run.argv, probe.run.argv, proxy.run.argv, playlist.run.argv]
    return steps, [*argvs, poster.run.argv], steps["proxy"]


def bare(argvs: list[list[str]], work: Path) -> dict:
    """The same commands with plain subprocess, into the first round's emptied directories."""
    for path in work.rglob("*"):
        if path.is_file():
            path.unlink()
    steps = {}
    for name, argv in zip(["detect", "probe", "proxy", "hls_copy", "poster"], argvs, strict=True):
        _, steps[name] = timed(
            lambda argv=argv: subprocess.run(
                argv, check=True, stdin=subprocess.DEVNULL, capture_output=True
            )
        )
    return steps


def take_turns(source: Path, work: Path) -> tuple[list, list]:
    """ROUNDS rounds, alternating which side goes first; bare replays round 0's commands."""
    ours_runs, bare_runs = [], []
    for i in range(ROUNDS):
        directory = work / f"round{i}"
        directory.mkdir()
        bare_first = i % 2 == 1  # never in round 0, so round 0's commands exist by then
        if bare_first:
            bare_runs.append(bare(ours_runs[0][1], work / "round0"))
        ours_runs.append(ours(source, directory))
        if not bare_first:
            bare_runs.append(bare(ours_runs[0][1], work / "round0"))
    return ours_runs, bare_runs


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = phone_clip_mov(Path(tmp), seconds=SECONDS, size="1920x1080", rate=30)
        # Once per worker process, not per file: asking ffmpeg/ffprobe their versions.
        _, warmup_s = timed(media.tool_versions)
        with media.scratch_dir() as work:
            ours_runs, bare_runs = take_turns(source, work)
    ours_steps, _, proxy_s = min(ours_runs, key=lambda run: sum(run[0].values()))
    bare_steps = min(bare_runs, key=lambda steps: sum(steps.values()))
    ours_s, bare_s = sum(ours_steps.values()), sum(bare_steps.values())
    print(
        json.dumps(
            {
                "bench": "media_derivatives",
                "source": f"{SECONDS}s 1920x1080 30fps h264+aac mov",
                "rounds": ROUNDS,
                "ours_all_s": [round(sum(run[0].values()), 3) for run in ours_runs],
                "bare_all_s": [round(sum(steps.values()), 3) for steps in bare_runs],
                "ours_s": round(ours_s, 3),
                "bare_s": round(bare_s, 3),
                "ratio": round(ours_s / bare_s, 3),
                "goal_ratio": GOAL_RATIO,
                "proxy_realtime_x": round(SECONDS / proxy_s, 2),
                "once_per_process_s": round(warmup_s, 3),
                "ours_steps_s": {k: round(v, 3) for k, v in ours_steps.items()},
                "bare_steps_s": {k: round(v, 3) for k, v in bare_steps.items()},
                "tools": media.tool_versions(),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
