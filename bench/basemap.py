"""The basemap: building the demo town's PMTiles file, and serving it by HTTP Range.

Ours: 16 KiB byte ranges (the size of a PMTiles header read) answered by portal.map_views.basemap
through Canvass's full middleware stack, in process (django.test.Client). The peer is the floor
of that same stack: a hello-world JSON view (bench/hello_urls.py) behind the same middleware.
Also the demo file's size and build time (tippecanoe). Prints one JSON line.
"""

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")
os.environ.setdefault("SECURE_HTTPS", "off")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from portal.management.commands.basemap_demo import build  # noqa: E402

READS = int(os.environ.get("BENCH_BASEMAP_READS", "2000"))
SPAN = 16 * 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "basemap.pmtiles"
        started = time.perf_counter()
        build(path)
        build_s = time.perf_counter() - started
        size = path.stat().st_size
        settings.MAP_PMTILES_PATH = str(path)
        settings.ALLOWED_HOSTS = ["*"]
        rng = random.Random(1)
        starts = [rng.randrange(0, max(size - SPAN, 1)) for _ in range(READS)]

        client = Client()
        started = time.perf_counter()
        for s in starts:
            response = client.get("/maps/basemap.pmtiles", HTTP_RANGE=f"bytes={s}-{s + SPAN - 1}")
            assert response.status_code == 206
            assert len(response.content) == min(SPAN, size)
        ours = READS / (time.perf_counter() - started)

        with override_settings(ROOT_URLCONF="bench.hello_urls"):
            started = time.perf_counter()
            for _ in starts:
                assert client.get("/hello/").status_code == 200
            peer = READS / (time.perf_counter() - started)

    print(
        json.dumps(
            {
                "bench": "basemap",
                "demo_pmtiles_bytes": size,
                "demo_build_s": round(build_s, 2),
                "range_reads_per_s": round(ours),
                "peer_hello_world_per_s": round(peer),
                "ratio_ours_vs_peer": round(ours / peer, 3),
                "goal": "ratio >= 0.8: serving a range costs about what any request costs",
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
