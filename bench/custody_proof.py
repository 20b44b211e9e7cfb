"""Custody proofs over a large audit log: leaves, tree, inclusion paths, at 1,000,000 rows.

What an export costs today (evidence.custody_proof): every row's canonical JSON hashed to a
leaf, the RFC 9162 tree built over all leaves, then one inclusion path per row of the item.
First in memory (rows shaped like real custody rows: evidence.viewed with details), then, as
an export really runs, read from PostgreSQL: the same number of rows is written with one
INSERT ... SELECT into the bench's own database (canvass_bench_custody); log_leaves derives
and keeps their leaves once, an export then reads the kept leaves, and the hourly checkpoint
re-derives them all. The limit: an export made at request time should answer within 30 s (a usual proxy
timeout). Prints one JSON line.

    BENCH_CUSTODY_ROWS=1000000 .venv/bin/python bench/custody_proof.py
"""

import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")
os.environ.setdefault("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/canvass_bench_custody")

import subprocess  # noqa: E402

subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True, env=os.environ)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from evidence.custody import verify_custody  # noqa: E402
from evidence.custody.proof import inclusion_path, log_leaves, tree_levels  # noqa: E402
from portal.audit import canonical_json  # noqa: E402

N = int(os.environ.get("BENCH_CUSTODY_ROWS", "1000000"))
ITEM_ROWS = 50
LIMIT_SECONDS = 30.0


def leaves_of(count: int) -> list[bytes]:
    """Leaves of `count` rows like a real item view (one object reused: memory is the leaves)."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    row = SimpleNamespace(
        actor_id=7, actor_label="Det. A. Example", actor_role="investigator",
        actor_agency="Riverton Police", agency_id=1, action="evidence.viewed",
        target_type="evidence.evidenceitem", reason="", case_ref="2026-0042",
        request_id="0f3c2a9e8b7d4c1a", outcome="success",
    )  # fmt: skip
    leaves = []
    for seq in range(1, count + 1):
        row.seq = seq
        row.at = start + dt.timedelta(milliseconds=seq)
        row.target_id = f"00000000-0000-4000-8000-{seq % 5000:012d}"
        row.details = {"via": "page", "what": "original"}
        leaves.append(verify_custody.leaf_hash(canonical_json(row)))
    return leaves


def fill_log(count: int) -> None:
    """`count` audit rows like the in-memory ones (their chain hashes are not real: the leaves
    do not need them), written by the database itself."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE portal_auditevent, evidence_auditleaf")
        cursor.execute(
            """
            INSERT INTO portal_auditevent (seq, at, actor_label, actor_role, actor_agency,
                action, target_type, target_id, reason, case_ref, request_id, outcome,
                details, prev_hash, hash)
            SELECT s, timestamptz '2026-01-01' + s * interval '1 millisecond',
                'Det. A. Example', 'investigator', 'Riverton Police', 'evidence.viewed',
                'evidence.evidenceitem', '00000000-0000-4000-8000-' || lpad((s %% 5000)::text, 12, '0'),
                '', '2026-0042', '0f3c2a9e8b7d4c1a', 'success',
                '{"via": "page", "what": "original"}'::jsonb,
                md5((s - 1)::text) || md5((s - 1)::text), md5(s::text) || md5(s::text)
            FROM generate_series(1, %s) AS s
            """,
            [count],
        )


def from_database(count: int) -> dict:
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    fill_log(count)
    t1 = time.perf_counter()
    first = tree_levels(log_leaves(count))  # derives every leaf and keeps it
    t2 = time.perf_counter()
    kept = tree_levels(log_leaves(count))  # an export once leaves are kept
    t3 = time.perf_counter()
    tree_levels(log_leaves(count, rederive=True))  # the hourly checkpoint's full check
    t4 = time.perf_counter()
    assert first[-1] == kept[-1] and len(kept[0]) == count
    return {
        "db_fill_s": round(t1 - t0, 1),
        "db_first_derive_keep_and_tree_s": round(t2 - t1, 3),
        "db_export_kept_leaves_and_tree_s": round(t3 - t2, 3),
        "db_hourly_rederive_and_tree_s": round(t4 - t3, 3),
    }


def main() -> None:
    t0 = time.perf_counter()
    leaves = leaves_of(N)
    t1 = time.perf_counter()
    levels = tree_levels(leaves)
    t2 = time.perf_counter()
    indexes = [(i * 7919) % N for i in range(ITEM_ROWS)]
    paths = [inclusion_path(levels, i) for i in indexes]
    t3 = time.perf_counter()
    root = levels[-1][0]
    for i, path in zip(indexes, paths, strict=True):
        found = verify_custody.root_from_path(i, N, leaves[i], [p.hex() for p in path])
        assert found == root
    t4 = time.perf_counter()
    in_memory = t3 - t0
    db = from_database(N)
    total = db["db_export_kept_leaves_and_tree_s"]
    print(
        json.dumps(
            {
                "bench": "custody_proof",
                "rows": N,
                "leaves_s": round(t1 - t0, 3),
                "tree_s": round(t2 - t1, 3),
                "paths_s_for_item_rows": round(t3 - t2, 5),
                "item_rows": ITEM_ROWS,
                "path_length": len(paths[0]),
                "verify_s_for_item_rows": round(t4 - t3, 5),
                "in_memory_s": round(in_memory, 3),
                **db,
                "ours_s": round(total, 3),
                "limit_s": LIMIT_SECONDS,
                "ratio": round(total / LIMIT_SECONDS, 3),
                "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                "ours_is": "db_export_kept_leaves_and_tree_s: what an export spends",
            }
        )
    )


if __name__ == "__main__":
    main()
