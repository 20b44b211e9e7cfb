"""tus upload throughput: Canvass against tus-node-server and against the machine's limits.

One 1 GiB random file goes through the same tuspy client in 8 MiB chunks, each chunk with a
sha256 Upload-Checksum, to:
- Canvass under gunicorn as the Procfile's web line runs it (2 gthread workers, keep-alive; a
  bench database, a secret-bearing grant: no session);
- tus-node-server (@tus/server + @tus/file-store from bench/package.json). It has no checksum
  extension, so it ignores the header, and it never syncs its file to disk (@tus/file-store
  2.1.1 has no fsync call); Canvass verifies every chunk's sha256 before acknowledging it,
  commits the new offset to PostgreSQL before the 204, and syncs the file before the upload
  completes, so it does more work per upload;
and the limits of the work Canvass does per byte are measured with the same file:
`sha256sum` (hashing) and `cp` plus `sync` (writing and syncing to the staging disk).
Each server gets RUNS uploads, alternating, and keeps its best (the first warms the workers).
Also each server's CPU seconds per GiB (over all its runs, from /proc) and the load average.
Prints one JSON line.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import harness
from harness import MiB

harness.django_setup("canvass_bench")

from django.utils import timezone  # noqa: E402

from evidence.intake import grants  # noqa: E402
from evidence.models import UploadGrant  # noqa: E402
from portal.models import Agency  # noqa: E402
from portal.roles import AgencyKind  # noqa: E402

SIZE = int(os.environ.get("BENCH_UPLOAD_MIB", "1024")) * MiB
CHUNK = 8 * MiB
RUNS = int(os.environ.get("BENCH_UPLOAD_RUNS", "3"))
SOURCE = Path(tempfile.gettempdir()) / f"canvass-bench-upload-{SIZE // MiB}mib.bin"


def mbps(seconds: float) -> float:
    return harness.mbps(SIZE, seconds)


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_grant() -> str:
    agency, _ = Agency.objects.get_or_create(
        slug="bench-pd", defaults={"name": "Bench PD", "kind": AgencyKind.POLICE}
    )
    grant, secret = grants.grant_create_with_secret(
        agency=agency,
        flow=UploadGrant.Flow.TIP,
        source_ref="bench",
        max_files=RUNS,
        max_file_bytes=SIZE,
        media_types=["video/"],
        expires_at=timezone.now() + timedelta(hours=2),
        actor_label="bench",
    )
    return grants.grant_header_value(grant, secret)


def race(staging: Path, store: Path) -> tuple[float, float, float, float, float]:
    """Best seconds of Canvass and of node over RUNS alternating uploads; Canvass's peak RSS;
    the CPU seconds each server spent per GiB over all its runs."""
    # As the Procfile's web line runs it (gthread, so the client's connection is kept alive
    # between PATCHes, as @tus/server keeps it; sync workers close it after every request).
    canvass, port = harness.start_canvass(harness.procfile_web(), UPLOAD_STAGING_DIR=str(staging))
    canvass_url = f"http://127.0.0.1:{port}/api/uploads/"
    node, node_url = harness.start_tus_node(store)
    try:
        harness.wait_for(canvass_url, canvass)
        harness.wait_for(node_url, node)
        headers = {grants.GRANT_HEADER: bench_grant()}
        canvass_best = node_best = float("inf")
        canvass_cpu = node_cpu = 0.0
        # Alternating keeps slow drift of a shared machine from favouring either server.
        for _ in range(RUNS):
            before = harness.cpu_seconds([node.pid])
            node_best = min(
                node_best, harness.tus_upload(node_url, {}, SOURCE, CHUNK, checksum=True)
            )
            node_cpu += harness.cpu_seconds([node.pid]) - before
            harness.empty(store)
            workers = harness.family(canvass.pid)
            before = harness.cpu_seconds(workers)
            canvass_best = min(
                canvass_best, harness.tus_upload(canvass_url, headers, SOURCE, CHUNK, checksum=True)
            )
            canvass_cpu += harness.cpu_seconds(workers) - before
            harness.empty(staging, expect_size=SIZE)
        rss = max(harness.peak_rss_mb(pid) for pid in harness.children(canvass.pid))
    finally:
        harness.stop(canvass)
        harness.stop(node)
    per_gib = RUNS * SIZE / (1 << 30)
    return canvass_best, node_best, rss, canvass_cpu / per_gib, node_cpu / per_gib


def main():
    harness.random_file(SOURCE, SIZE)
    scratch = harness.scratch("upload")
    staging, store, copy = scratch / "staging", scratch / "node", scratch / "cp"
    for folder in (staging, store, copy):
        folder.mkdir()
    try:
        sha_s = timed(["sha256sum", str(SOURCE)])
        cp_s = timed(["cp", str(SOURCE), str(copy / "copy")]) + timed(["sync", str(copy / "copy")])
        canvass_s, node_s, rss, canvass_cpu, node_cpu = race(staging, store)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        harness.purge_bench_queues()
    limit = 1 / (1 / mbps(sha_s) + 1 / mbps(cp_s))
    result = {
        "bench": "upload",
        "file_MiB": SIZE // MiB,
        "chunk_MiB": CHUNK // MiB,
        "runs_best_of": RUNS,
        "unit": "MiB/s",
        "client": "tuspy, sha256 Upload-Checksum on every chunk",
        "canvass_server": "gunicorn " + " ".join(harness.procfile_web()),
        "canvass_does": "verifies each chunk's sha256 and commits its offset before the 204, "
        "fdatasync before completing",
        "node_does": "ignores Upload-Checksum, never syncs to disk",
        "canvass_MBps": mbps(canvass_s),
        "node_MBps": mbps(node_s),
        "sha256sum_MBps": mbps(sha_s),
        "cp_MBps": mbps(cp_s),
        "hash_disk_limit_MBps": round(limit, 1),
        "hash_disk_limit_model": "serial: 1/(1/sha256sum + 1/cp), cp includes sync",
        "ratio_vs_node": round(mbps(canvass_s) / mbps(node_s), 2),
        "ratio_vs_hash_disk_limit": round(mbps(canvass_s) / limit, 2),
        "canvass_web_peak_rss_MB": rss,
        "canvass_cpu_s_per_GiB": round(canvass_cpu, 2),
        "node_cpu_s_per_GiB": round(node_cpu, 2),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
