"""Audit-log append rate: our hash-chained, lock-serialised append against a bare INSERT.

The peer is the physical limit of the same database: one plain INSERT of an equal row per
transaction, no lock and no hash. Prints one JSON line.
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
WRITERS = 8


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


def rate(fn, writers):
    per = N // writers

    def run():
        try:
            fn(per)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * writers / (time.perf_counter() - start)


def main():
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare (id bigserial primary key, at timestamptz,"
            " action text, actor_label text, details jsonb, hash text)"
        )
    result = {
        "bench": "audit_append",
        "events": N,
        "ours_events_per_s_1_writer": round(rate(ours, 1)),
        "bare_insert_per_s_1_writer": round(rate(bare, 1)),
        "ours_events_per_s_8_writers": round(rate(ours, WRITERS)),
        "bare_insert_per_s_8_writers": round(rate(bare, WRITERS)),
    }
    result["ratio_1_writer"] = round(
        result["ours_events_per_s_1_writer"] / result["bare_insert_per_s_1_writer"], 2
    )
    result["ratio_8_writers"] = round(
        result["ours_events_per_s_8_writers"] / result["bare_insert_per_s_8_writers"], 2
    )
    started = time.perf_counter()
    report = verify_chain()
    result["verify_events_per_s"] = round(report.count / (time.perf_counter() - started))
    result["chain_ok"] = report.ok
    print(json.dumps(result))


if __name__ == "__main__":
    main()
