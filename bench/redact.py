"""Face redaction speed: portal/redact.py's two passes on a synthetic 640x360 clip of a real face.

Times the analysis (decode at 640 wide, CenterFace on every frame, one OpenCV thread) and the
render (decode at full size, mask, deterministic x264 at one thread) separately and prints one
JSON line with frames per second for each and for the whole, against issue 15's goal of real
time (the issue's 60 s 720p clip and the deface-CLI comparison are still to do).

    .venv/bin/python bench/redact.py   # BENCH_REDACT_FRAMES=250 (10 s at 25 fps)
"""

import json
import os
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

from portal import media, redact  # noqa: E402
from tests.evidence.redaction.clips import FPS, HEIGHT, WIDTH, make_clip  # noqa: E402

FRAMES = int(os.environ.get("BENCH_REDACT_FRAMES", "250"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp), frames=FRAMES)
        redact.detect(redact.np.zeros((HEIGHT, WIDTH, 3), redact.np.uint8))  # load the model
        start = time.perf_counter()
        recipe = redact.analyse_video(
            clip.path, media.probe(clip.path), fill="solid", original_sha256="0" * 64
        )
        analysed = time.perf_counter()
        redact.render_video(clip.path, recipe, Path(tmp) / "out.mp4")
        rendered = time.perf_counter()
    frames = recipe["source"]["frames"]
    analyse_s, render_s = analysed - start, rendered - analysed
    print(
        json.dumps(
            {
                "bench": "redact",
                "size": f"{WIDTH}x{HEIGHT}",
                "frames": frames,
                "frames_with_faces": len(recipe["detections"]),
                "analyse_fps": round(frames / analyse_s, 1),
                "render_fps": round(frames / render_s, 1),
                "total_fps": round(frames / (analyse_s + render_s), 1),
                "realtime_x": round(frames / FPS / (analyse_s + render_s), 2),
                # Issue 15's goal: at least real time (1.0x) on this 2-core machine.
                "goal_realtime_x": 1.0,
                "ratio": round(frames / FPS / (analyse_s + render_s) / 1.0, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
