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
The server's resident memory is sampled every 10 ms. Prints one JSON line; removes its files.
"""

import hashlib
import json
import os
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
from tests.evidence.bigcase import RssWatch, Server, rss_kib, sign_in, write_random_original  # noqa: E402
from tests.factories import UserFactory, add_totp_device  # noqa: E402


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def hash_seconds(paths: list[str]) -> float:
    started = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(4 * MiB):
                digest.update(chunk)
    return time.perf_counter() - started


def curl(url: str, cookies: str) -> tuple[float, int]:
    """Seconds and bytes of one download into /dev/null."""
    result = subprocess.run(
        ["curl", "-sS", "--fail", "-o", "/dev/null", "-b", cookies,
         "-w", "%{size_download} %{time_total}", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    size, seconds = result.stdout.split()
    return float(seconds), int(size)


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
    try:
        session = requests.Session()
        sign_in(session, server.base, user)
        cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        url = f"{server.base}/staff/evidence/cases/{case.pk}/package/"
        pid = server.worker_pid()
        idle_rss = rss_kib(pid)
        cat_best = hash_best = ours_best = float("inf")
        sent = 0
        with RssWatch(pid) as watch:
            for _ in range(RUNS):
                cat_best = min(cat_best, timed(["cat", *paths]))
                hash_best = min(hash_best, hash_seconds(paths))
                seconds, sent = curl(url, cookies)
                ours_best = min(ours_best, seconds)
    finally:
        server.stop()
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        forget(case, items)
    assert sent > total, f"downloaded {sent} bytes of a {total}-byte case"
    ours = total / MiB / ours_best
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
                "(in the request's thread) on the way",
                "peer_does": "cat of the same files to /dev/null (page cache)",
                "canvass_MBps": round(ours, 1),
                "cat_MBps": round(cat, 1),
                "ratio_vs_cat": round(ours / cat, 2),
                "sha256_read_hash_MBps": round(total / MiB / hash_best, 1),
                "ratio_vs_sha256_ceiling": round(hash_best / ours_best, 2),
                "server_idle_rss_MB": round(idle_rss / 1024, 1),
                "server_peak_rss_MB": round(watch.peak_kib / 1024, 1),
                "server_rss_growth_MB": round((watch.peak_kib - idle_rss) / 1024, 1),
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
