"""`audit_verify` over a real one-million-row hash chain (issue 14: goal 10 s or less).

The rows are made here with the same hashes audit_record gives (portal.audit.compute_hash over
rows like real evidence views), and written with COPY. Measured: verify_chain, which
`manage.py audit_verify` runs, end to end from the database. The peer is the floor of the
work itself: the same SHA-256 over the same canonical bytes, already in memory, in one
Python loop (no database, no JSON). Beside the wall time: the verifier's CPU time (its
threads and its worker processes; PostgreSQL's is not counted), the same walk in one process
(`verify_one_process_s`), and the load average, since the machine is shared. Prints one JSON
line.
"""

import datetime as dt
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")
os.environ.setdefault("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/canvass_bench_verify")

import subprocess  # noqa: E402

subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True, env=os.environ)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from portal.audit import GENESIS_HASH, canonical_json, verify_chain  # noqa: E402

N = int(os.environ.get("BENCH_AUDIT_VERIFY_ROWS", "1000000"))
GOAL_SECONDS = 10.0
COLUMNS = (
    "seq, at, actor_id, actor_label, actor_role, actor_agency, agency_id, action, target_type, "
    "target_id, reason, case_ref, request_id, outcome, details, prev_hash, hash"
)


def rows(count: int):
    """Rows like a day of evidence views, each with its real chain hash; and the payloads."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    row = SimpleNamespace(
        actor_id=None, actor_label="Det. A. Example", actor_role="investigator",
        actor_agency="Riverton Police", agency_id=None, action="evidence.viewed",
        target_type="evidence.evidenceitem", reason="", case_ref="2026-0042",
        request_id="0f3c2a9e8b7d4c1a", outcome="success",
    )  # fmt: skip
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        row.seq = seq
        row.at = start + dt.timedelta(milliseconds=seq)
        row.target_id = f"00000000-0000-4000-8000-{seq % 5000:012d}"
        row.details = {"via": "page", "what": "original", "n": seq % 7}
        payload = (canonical_json(row) + "|" + prev).encode()
        digest = hashlib.sha256(payload).hexdigest()
        yield row, prev, digest, payload
        prev = digest


def fill_log(count: int) -> list[bytes]:
    payloads = []
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE portal_auditevent CASCADE")
        with cursor.cursor.copy(f"COPY portal_auditevent ({COLUMNS}) FROM STDIN") as copy:
            for row, prev, digest, payload in rows(count):
                copy.write_row(
                    (
                        row.seq, row.at, row.actor_id, row.actor_label, row.actor_role,
                        row.actor_agency, row.agency_id, row.action, row.target_type,
                        row.target_id, row.reason, row.case_ref, row.request_id, row.outcome,
                        json.dumps(row.details), prev, digest,
                    )
                )  # fmt: skip
                payloads.append(payload)
        cursor.execute("ANALYZE portal_auditevent")
    return payloads


def cpu_seconds() -> float:
    """This process's CPU time and its finished children's (the verifier's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    payloads = fill_log(N)
    load_before = os.getloadavg()[0]
    t1, cpu1 = time.perf_counter(), cpu_seconds()
    report = verify_chain()
    t2, cpu2 = time.perf_counter(), cpu_seconds()
    one = verify_chain(workers=1)
    t_one = time.perf_counter() - t2
    assert one == report, (one, report)
    assert report.ok and report.count == N, report
    t_peer = time.perf_counter()
    sha256 = hashlib.sha256
    for payload in payloads:
        sha256(payload).hexdigest()
    t_peer = time.perf_counter() - t_peer
    print(
        json.dumps(
            {
                "bench": "audit_verify",
                "events": N,
                "fill_s": round(t1 - t0, 1),
                "verify_s": round(t2 - t1, 2),
                "verify_events_per_s": round(N / (t2 - t1)),
                "verify_cpu_s": round(cpu2 - cpu1, 2),
                "workers": os.cpu_count(),
                "verify_one_process_s": round(t_one, 2),
                "load_avg_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                "goal_s": GOAL_SECONDS,
                "peer_sha256_only_s": round(t_peer, 2),
                "ratio_to_peer": round((t2 - t1) / t_peer, 1),
                "meets_goal": (t2 - t1) <= GOAL_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
