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
- the same tus-node-server made a fair peer: it fsyncs each finished file and its directory
  before answering the last PATCH (onUploadFinish), as Canvass does (it still checks no
  checksum);
and the limits of the work Canvass does per byte are measured with the same file:
`sha256sum` (hashing) and `cp` plus `sync` (writing and syncing to the staging disk), and in
Python as Canvass does it: hashlib's sha256, and os.write of 8 MiB blocks then one fdatasync
(`disk_write_fdatasync_MBps`: no upload that ends with its bytes on disk can beat it; when it
is below node_MBps, 1.0x against a peer that never syncs is physically impossible here).
Each server gets RUNS uploads, alternating, and keeps its best (the first warms the workers).
Also each server's CPU seconds per GiB (over all its runs, from /proc) and the load average.
Prints one JSON line.
"""

import hashlib
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


def python_limits(path: Path, folder: Path) -> tuple[float, float]:
    """Seconds to sha256 the file with hashlib, and to write it with os.write in CHUNK
    blocks then fdatasync it (the file is read into memory first, block by block, so only
    the writing is timed)."""
    with open(path, "rb") as source:
        blocks = iter(lambda: source.read(CHUNK), b"")
        digest, hash_s = hashlib.sha256(), 0.0
        target = os.open(folder / "fdatasync", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        write_s = 0.0
        try:
            for block in blocks:
                started = time.perf_counter()
                digest.update(block)
                hash_s += time.perf_counter() - started
                started = time.perf_counter()
                view = memoryview(block)
                while view:
                    view = view[os.write(target, view) :]
                write_s += time.perf_counter() - started
            started = time.perf_counter()
            os.fdatasync(target)
            write_s += time.perf_counter() - started
        finally:
            os.close(target)
    (folder / "fdatasync").unlink()
    return hash_s, write_s


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


def race(staging: Path, store: Path, synced_store: Path) -> dict:
    """Best seconds of Canvass, node and node with fsync over RUNS alternating uploads;
    Canvass's peak RSS; the CPU seconds each server spent per GiB over all its runs."""
    # As the Procfile's web line runs it (gthread, so the client's connection is kept alive
    # between PATCHes, as @tus/server keeps it; sync workers close it after every request).
    canvass, port = harness.start_canvass(harness.procfile_web(), UPLOAD_STAGING_DIR=str(staging))
    canvass_url = f"http://127.0.0.1:{port}/api/uploads/"
    node, node_url = harness.start_tus_node(store)
    synced, synced_url = harness.start_tus_node(synced_store, fsync=True)
    servers = {
        "canvass": (canvass, canvass_url, staging),
        "node": (node, node_url, store),
        "node_fsync": (synced, synced_url, synced_store),
    }
    try:
        for process, url, _ in servers.values():
            harness.wait_for(url, process)
        canvass_headers = {grants.GRANT_HEADER: bench_grant()}
        best = dict.fromkeys(servers, float("inf"))
        cpu = dict.fromkeys(servers, 0.0)
        # Alternating keeps slow drift of a shared machine from favouring any server.
        for _ in range(RUNS):
            for name, (process, url, folder) in servers.items():
                family = harness.family(process.pid)
                before = harness.cpu_seconds(family)
                headers = canvass_headers if name == "canvass" else {}
                seconds = harness.tus_upload(url, headers, SOURCE, CHUNK, checksum=True)
                best[name] = min(best[name], seconds)
                cpu[name] += harness.cpu_seconds(family) - before
                harness.empty(folder, expect_size=SIZE if name == "canvass" else None)
        rss = max(harness.peak_rss_mb(pid) for pid in harness.children(canvass.pid))
    finally:
        for process, _, _ in servers.values():
            harness.stop(process)
    per_gib = RUNS * SIZE / (1 << 30)
    return {
        "best_s": best,
        "cpu_s_per_GiB": {name: seconds / per_gib for name, seconds in cpu.items()},
        "rss": rss,
    }


def main():
    harness.random_file(SOURCE, SIZE)
    scratch = harness.scratch("upload")
    staging, store, synced_store, copy = (
        scratch / "staging",
        scratch / "node",
        scratch / "node-fsync",
        scratch / "cp",
    )
    for folder in (staging, store, synced_store, copy):
        folder.mkdir()
    try:
        sha_s = timed(["sha256sum", str(SOURCE)])
        cp_s = timed(["cp", str(SOURCE), str(copy / "copy")]) + timed(["sync", str(copy / "copy")])
        hashlib_s, fdatasync_s = python_limits(SOURCE, copy)
        raced = race(staging, store, synced_store)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        harness.purge_bench_queues()
    best, cpu = raced["best_s"], raced["cpu_s_per_GiB"]
    limit = 1 / (1 / mbps(sha_s) + 1 / mbps(cp_s))
    canvass, node, synced = mbps(best["canvass"]), mbps(best["node"]), mbps(best["node_fsync"])
    disk = mbps(fdatasync_s)
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
        "node_fsync_does": "ignores Upload-Checksum, fsyncs the file and its directory before "
        "answering the last PATCH",
        "canvass_MBps": canvass,
        "node_MBps": node,
        "node_fsync_MBps": synced,
        "sha256sum_MBps": mbps(sha_s),
        "cp_MBps": mbps(cp_s),
        "hashlib_sha256_MBps": mbps(hashlib_s),
        "disk_write_fdatasync_MBps": disk,
        "disk_write_fdatasync_model": "os.write of 8 MiB blocks, then one fdatasync (the "
        "fastest any server can end an upload with its bytes on disk)",
        "hash_disk_limit_MBps": round(limit, 1),
        "hash_disk_limit_model": "serial: 1/(1/sha256sum + 1/cp), cp includes sync",
        "ratio_vs_node": round(canvass / node, 2),
        "ratio_vs_node_fsync": round(canvass / synced, 2),
        "ratio_vs_hash_disk_limit": round(canvass / limit, 2),
        "ratio_vs_disk_write_fdatasync": round(canvass / disk, 2),
        # Against a peer that never syncs, 1.0x needs the disk to take the bytes with their
        # sync at least as fast as that peer leaves them in the page cache.
        "one_x_vs_node_possible_with_sync": disk >= node,
        "canvass_web_peak_rss_MB": raced["rss"],
        "canvass_cpu_s_per_GiB": round(cpu["canvass"], 2),
        "node_cpu_s_per_GiB": round(cpu["node"], 2),
        "node_fsync_cpu_s_per_GiB": round(cpu["node_fsync"], 2),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
