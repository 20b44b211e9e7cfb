"""Audit-log append rate: our hash-chained, lock-serialised append against a bare INSERT.

The peer is the physical limit of the same database: one plain INSERT of an equal row per
transaction, no lock and no hash. Ours and the peer run in alternating rounds (so a busy
disk or CPU weighs on both alike), with 1 writer and with 8 writer threads, each event in a
transaction of its own. Prints one JSON line with the issue-17 goals beside the figures:
1 writer at >= 0.6x the bare INSERT, and >= 3,000 events/s with 8 writers.

The append holds the chain's lock until its transaction commits (portal/audit.py says why),
so with any number of writers it appends at most one event per commit: `commit_ms` (one
bare INSERT's transaction, nearly all of it the WAL flush) bounds the 8-writer rate at
about 1000 / commit_ms, whatever the append costs. The last pair repeats the 1-writer
run with commits that do not wait for the flush (synchronous_commit off in the bench's
sessions only), which shows what the append costs beside an INSERT when the disk is fast.
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")
os.environ.setdefault("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/canvass_bench")

import subprocess  # noqa: E402

subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True, env=os.environ)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from portal import audit_actions as actions  # noqa: E402
from portal.audit import audit_record, verify_chain  # noqa: E402

N = int(os.environ.get("BENCH_AUDIT_EVENTS", "2000"))
ROUNDS = 4
WRITERS = 8
GOAL_RATIO_1_WRITER = 0.6
GOAL_EVENTS_PER_S_8_WRITERS = 3000


def ours(count):
    for i in range(count):
        with transaction.atomic():
            audit_record(action=actions.LOGOUT.name, actor_label="bench", details={"i": i})


def bare(count):
    with connection.cursor() as cursor:
        for i in range(count):
            with transaction.atomic():
                cursor.execute(
                    "INSERT INTO bench_bare (at, action, actor_label, details, hash) "
                    "VALUES (now(), %s, %s, %s, %s)",
                    ["auth.logout", "bench", json.dumps({"i": i}), "0" * 64],
                )


def bare_indexed(count):
    """The same INSERT into a copy of the audit table (same columns, constraints and 13
    indexes), no lock, no last row, no hash: what the chain itself adds beside the log's
    indexes, which any audit log that can be searched pays."""
    with connection.cursor() as cursor:
        for i in range(count):
            with transaction.atomic():
                cursor.execute(
                    "INSERT INTO bench_bare_indexed (seq, at, actor_label, actor_role,"
                    " actor_agency, action, target_type, target_id, reason, case_ref, request_id,"
                    " outcome, details, prev_hash, hash) SELECT s, now(), %s, '', '', %s, '', '',"
                    " '', '', '', 'ok', %s, repeat('0', 64), lpad(s::text, 64, '0')"
                    " FROM nextval('bench_bare_indexed_seq') AS s",
                    ["bench", "auth.logout", json.dumps({"i": i})],
                )


def elapsed(fn, writers, count, flush=True):
    """Seconds for `writers` threads to write `count` events between them; with flush=False
    their commits do not wait for the WAL flush (synchronous_commit off, this session only)."""
    per = count // writers

    def run():
        try:
            if not flush:
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO off")
            fn(per)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def side_by_side(writers, flush=True, peer=bare):
    """(ours, peer) events/s, the two run in alternating rounds of N / ROUNDS events each."""
    count = N // ROUNDS // writers * writers
    ours_s = bare_s = 0.0
    for _ in range(ROUNDS):
        ours_s += elapsed(ours, writers, count, flush)
        bare_s += elapsed(peer, writers, count, flush)
    return count * ROUNDS / ours_s, count * ROUNDS / bare_s


def main():
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare (id bigserial primary key, at timestamptz,"
            " action text, actor_label text, details jsonb, hash text)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare_indexed (LIKE portal_auditevent"
            " INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_bare_indexed_seq")
    ours_1, bare_1 = side_by_side(1)
    ours_8, bare_8 = side_by_side(WRITERS)
    # The same 1-writer pair without waiting for the flush: what the append itself costs
    # beside an INSERT, which a slow or busy disk hides in the figures above.
    ours_nf, bare_nf = side_by_side(1, flush=False)
    # Against an INSERT into a table with the audit table's own indexes: the chain's own cost.
    ours_1i, indexed_1 = side_by_side(1, peer=bare_indexed)
    ours_8i, indexed_8 = side_by_side(WRITERS, peer=bare_indexed)
    result = {
        "bench": "audit_append",
        "events": N,
        "ours_events_per_s_1_writer": round(ours_1),
        "bare_insert_per_s_1_writer": round(bare_1),
        "ratio_1_writer": round(ours_1 / bare_1, 2),
        "goal_ratio_1_writer": GOAL_RATIO_1_WRITER,
        "meets_goal_1_writer": ours_1 / bare_1 >= GOAL_RATIO_1_WRITER,
        "ours_events_per_s_8_writers": round(ours_8),
        "bare_insert_per_s_8_writers": round(bare_8),
        "ratio_8_writers": round(ours_8 / bare_8, 2),
        "goal_events_per_s_8_writers": GOAL_EVENTS_PER_S_8_WRITERS,
        "ratio_to_goal_8_writers": round(ours_8 / GOAL_EVENTS_PER_S_8_WRITERS, 2),
        "bare_ratio_to_goal_8_writers": round(bare_8 / GOAL_EVENTS_PER_S_8_WRITERS, 2),
        "meets_goal_8_writers": ours_8 >= GOAL_EVENTS_PER_S_8_WRITERS,
        "commit_ms": round(1000 / bare_1, 2),
        "ours_events_per_s_1_writer_no_flush": round(ours_nf),
        "bare_insert_per_s_1_writer_no_flush": round(bare_nf),
        "ratio_1_writer_no_flush": round(ours_nf / bare_nf, 2),
        "ours_events_per_s_1_writer_vs_indexed": round(ours_1i),
        "indexed_insert_per_s_1_writer": round(indexed_1),
        "ratio_1_writer_vs_indexed": round(ours_1i / indexed_1, 2),
        "ours_events_per_s_8_writers_vs_indexed": round(ours_8i),
        "indexed_insert_per_s_8_writers": round(indexed_8),
        "ratio_8_writers_vs_indexed": round(ours_8i / indexed_8, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    started = time.perf_counter()
    report = verify_chain()
    result["verify_events_per_s"] = round(report.count / (time.perf_counter() - started))
    result["chain_ok"] = report.ok
    print(json.dumps(result))


if __name__ == "__main__":
    main()
