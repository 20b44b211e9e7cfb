"""Case package download: Canvass over loopback HTTP against `cat` of the same files.

A case of BENCH_PACKAGE_FILES originals of BENCH_PACKAGE_MIB MiB each (default 5 x 1024 MiB:
5 GiB of random data, written fast by tests/evidence/bigcase.py) is packaged and downloaded
from gunicorn (the Procfile's gthread worker class, one worker so its memory is one process)
by curl into /dev/null, signed in through the real two-step login. The server streams the ZIP:
every original is read from storage and re-hashed (SHA-256) on the way out. The peer is
`cat` of the same files into /dev/null: reading the bytes and nothing else. The ceiling the
mandated re-hash sets is printed too: reading the same files and SHA-256 hashing them with
hashlib (OpenSSL) in 4 MiB reads, one thread, nothing sent. Files are in the page cache for
every run (just written, 5 GiB on a machine with far more RAM), so this measures the work
per byte, not the disk. Each side gets RUNS runs, alternating, and keeps its best.
`cat` into /dev/null from the page cache runs at memory speed, many times faster than SHA-256
on one core: a download that re-hashes every byte cannot come near it, and the ratio to the
hash ceiling says how much of what remains the rest of the path (CRC-32, HTTP) costs.
The server's resident memory is sampled every 10 ms. The CPU seconds per GiB of each part (the
server's worker, all its threads; curl; the one-thread hash; cat) say where the time goes when
the client and the server share the machine's cores. Prints one JSON line; removes its files.

BENCH_PACKAGE_BASELINE=<another checkout> (e.g. a `git worktree add --detach` of the commit
before a change, with its own .venv link) serves the same case from that checkout's code too,
a second gunicorn on the same database and files, downloaded in the same runs (alternating
which goes first), and prints a second line: ours against that baseline.
BENCH_DATABASE_URL names the bench's database (so two people's runs do not share one).
"""

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = ROOT / "data" / "bench-package"
ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "SECRET_KEY": "bench-only",
    "SECURE_HTTPS": "off",
    "STATIC_MANIFEST": "off",
    "ENV_FILE": "/nonexistent",
    "ALLOWED_HOSTS": "127.0.0.1",
    "DATA_DIR": str(DATA_DIR),
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/canvass_bench"
    ),
    "CELERY_QUEUE": "canvass-bench-idle",
    "CELERY_MEDIA_QUEUE": "canvass-bench-idle-media",
}
os.environ.update(ENV)

MiB = 1 << 20
FILE_MIB = int(os.environ.get("BENCH_PACKAGE_MIB", "1024"))
FILES = int(os.environ.get("BENCH_PACKAGE_FILES", "5"))
RUNS = int(os.environ.get("BENCH_PACKAGE_RUNS", "3"))
BASELINE = os.environ.get("BENCH_PACKAGE_BASELINE", "")

subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from evidence.cases import services as case_services  # noqa: E402
from evidence.models import EvidenceItem  # noqa: E402
from portal import storage  # noqa: E402
from portal.models import Agency  # noqa: E402
from portal.roles import AgencyKind, Role  # noqa: E402
from tests.evidence.bigcase import (  # noqa: E402
    RssWatch,
    Server,
    cpu_seconds,
    rss_kib,
    sign_in,
    write_random_original,
)
from tests.factories import UserFactory, add_totp_device  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str]) -> tuple[float, float]:
    """Seconds and CPU seconds of one command."""
    cpu = children_cpu()
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, children_cpu() - cpu


def hash_seconds(paths: list[str]) -> tuple[float, float]:
    """Seconds and CPU seconds of reading and hashing the files in this thread."""
    cpu = time.thread_time()
    started = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(4 * MiB):
                digest.update(chunk)
    return time.perf_counter() - started, time.thread_time() - cpu


def curl(url: str, cookies: str, server_pid: int) -> tuple[float, int, float, float]:
    """Seconds and bytes of one download into /dev/null, the CPU seconds curl used and the
    CPU seconds the server's worker used meanwhile."""
    cpu = children_cpu()
    server_cpu = cpu_seconds(server_pid)
    result = subprocess.run(
        ["curl", "-sS", "--fail", "-o", "/dev/null", "-b", cookies,
         "-w", "%{size_download} %{time_total}", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    size, seconds = result.stdout.split()
    return float(seconds), int(size), children_cpu() - cpu, cpu_seconds(server_pid) - server_cpu


class Side:
    """One server's downloads of the package: its best run and its CPU per run."""

    def __init__(self, server: Server, user, case_pk):
        self.server = server
        session = requests.Session()
        sign_in(session, server.base, user)
        self.cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        self.url = f"{server.base}/staff/evidence/cases/{case_pk}/package/"
        self.pid = server.worker_pid()
        self.best = float("inf")
        self.sent = 0
        self.curl_cpu: list[float] = []
        self.server_cpu: list[float] = []

    def run(self) -> None:
        seconds, self.sent, curl_cpu, server_cpu = curl(self.url, self.cookies, self.pid)
        self.best = min(self.best, seconds)
        self.curl_cpu.append(curl_cpu)
        self.server_cpu.append(server_cpu)


def make_case():
    agency, _ = Agency.objects.get_or_create(
        slug="bench-pd", defaults={"name": "Bench PD", "kind": AgencyKind.POLICE}
    )
    tag = uuid.uuid4().hex[:8]
    user = UserFactory(role=Role.INVESTIGATOR, agency=agency, email=f"bench-{tag}@example.org")
    add_totp_device(user)
    user.is_verified = lambda: True
    case = case_services.case_create(actor=user, number=f"BENCH-{tag}", title="Package bench")
    block = os.urandom(16 * MiB)
    items = []
    for _ in range(FILES):
        item = write_random_original(agency=agency, size=FILE_MIB * MiB, block=block)
        case_services.case_item_add(actor=user, case=case, item=item)
        items.append(item)
    return user, case, items


def forget(case, items) -> None:
    """The bench's rows go with its files (audit rows stay: the log is append-only)."""
    case.delete()
    EvidenceItem.objects.filter(pk__in=[item.pk for item in items]).delete()


def main():
    call_command("migrate", verbosity=0)
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    user, case, items = make_case()
    paths = [storage.local_path(item.original_key) for item in items]
    total = sum(item.size for item in items)
    server = Server({**os.environ})
    baseline = Server({**os.environ}, root=Path(BASELINE)) if BASELINE else None
    try:
        ours = Side(server, user, case.pk)
        old = Side(baseline, user, case.pk) if baseline else None
        idle_rss = rss_kib(ours.pid)
        cat_best = hash_best = float("inf")
        cat_cpu, hash_cpu = [], []
        with RssWatch(ours.pid) as watch:
            for run in range(RUNS):
                seconds, cpu = timed(["cat", *paths])
                cat_best = min(cat_best, seconds)
                cat_cpu.append(cpu)
                seconds, cpu = hash_seconds(paths)
                hash_best = min(hash_best, seconds)
                hash_cpu.append(cpu)
                for side in [ours, old] if run % 2 == 0 else [old, ours]:
                    if side is not None:
                        side.run()
    finally:
        server.stop()
        if baseline is not None:
            baseline.stop()
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        forget(case, items)
    sent = ours.sent
    ours_best = ours.best
    gib = total / (1 << 30)

    def per_gib(seconds: list[float]) -> float:
        return round(min(seconds) / gib, 3)

    assert sent > total, f"downloaded {sent} bytes of a {total}-byte case"
    ours_mbps = total / MiB / ours_best
    cat = total / MiB / cat_best
    print(
        json.dumps(
            {
                "bench": "package",
                "case_MiB": total // MiB,
                "files": FILES,
                "runs_best_of": RUNS,
                "unit": "MiB/s",
                "canvass_does": "streams a ZIP64 over HTTP (gunicorn gthread, curl to /dev/null), "
                "re-hashing every original with SHA-256 (read ahead in a thread) and CRC-32 "
                "(zlib-ng's, in the request's thread) on the way",
                "peer_does": "cat of the same files to /dev/null (page cache)",
                "canvass_MBps": round(ours_mbps, 1),
                "cat_MBps": round(cat, 1),
                "ratio_vs_cat": round(ours_mbps / cat, 2),
                "sha256_read_hash_MBps": round(total / MiB / hash_best, 1),
                "ratio_vs_sha256_ceiling": round(hash_best / ours_best, 2),
                "server_idle_rss_MB": round(idle_rss / 1024, 1),
                "server_peak_rss_MB": round(watch.peak_kib / 1024, 1),
                "server_rss_growth_MB": round((watch.peak_kib - idle_rss) / 1024, 1),
                "cpu_s_per_GiB": {
                    "server_worker": per_gib(ours.server_cpu),
                    "curl": per_gib(ours.curl_cpu),
                    "sha256_read_hash": per_gib(hash_cpu),
                    "cat": per_gib(cat_cpu),
                },
                # The CPU the download takes (server and client) over the one-thread hash's: how
                # many free cores it needs to keep pace with the ceiling.
                "cores_to_match_ceiling": cores_needed(ours.server_cpu, ours.curl_cpu, hash_cpu),
                "cores": os.cpu_count(),
                "load_average": os.getloadavg()[0],
            }
        )
    )
    if old is not None:
        print(
            json.dumps(
                {
                    "bench": "package_vs_baseline",
                    "case_MiB": total // MiB,
                    "runs_best_of": RUNS,
                    "unit": "MiB/s",
                    "baseline": baseline_label(),
                    "canvass_MBps": round(ours_mbps, 1),
                    "baseline_MBps": round(total / MiB / old.best, 1),
                    "ratio_vs_baseline": round(old.best / ours_best, 2),
                    "cpu_s_per_GiB": {
                        "server_worker": per_gib(ours.server_cpu),
                        "baseline_server_worker": per_gib(old.server_cpu),
                        "curl": per_gib(ours.curl_cpu),
                        "baseline_curl": per_gib(old.curl_cpu),
                    },
                    "cores_to_match_ceiling": cores_needed(
                        ours.server_cpu, ours.curl_cpu, hash_cpu
                    ),
                    "baseline_cores_to_match_ceiling": cores_needed(
                        old.server_cpu, old.curl_cpu, hash_cpu
                    ),
                    "load_average": os.getloadavg()[0],
                }
            )
        )


def cores_needed(server: list[float], client: list[float], ceiling: list[float]) -> float:
    return round((min(server) + min(client)) / min(ceiling), 2)


def baseline_label() -> str:
    commit = subprocess.run(
        ["git", "-C", BASELINE, "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return f"{BASELINE} at {commit or 'unknown commit'}"


if __name__ == "__main__":
    main()
