"""Anonymous text tips per second under gunicorn, against a Django hello-world view.

Both servers are gunicorn as the Procfile's web line runs it (BENCH_GUNICORN gives other
arguments, to compare worker models), without its access log, on the same
bench database and the same middleware; the peer's URLconf has one JSON hello-world view
(bench/hello_settings.py). 32 clients, each on its own keep-alive connection, in two client
processes. Every tip carries its own ALTCHA solution: challenges are fetched from the server
and solved before the timing starts. The server's work per tip is all there: hashed-address
rate limit (Redis), proof-of-work check (one PBKDF2-SHA256 at the real cost, 5000) and its
replay guard (Redis), the Argon2id receipt hash, the tip, its audit row (the audit chain's
lock serialises every writer) and its upload grant with its own audit row, in one transaction.
The key prefix is "0" instead of "00" so the *client* needs ~16 tries instead of ~256; the
server checks one derivation either way. Rate limits are raised (every client shares 127.0.0.1).
For each: p50, p95 and p99 latency, gunicorn's CPU per request (master and workers, from
/proc) and the cores it kept busy, with the load average; then the two deliberate key
derivations alone (kdf_ms). The clients are closed-loop, so latency is concurrency over
throughput (Little's law): p99 <= 150 ms at 32 clients needs >= ~215 tips/s.
Prints one JSON line.
"""

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from http.client import HTTPConnection
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENTS = 32
CLIENT_PROCESSES = 2
TIPS_PER_CLIENT = int(os.environ.get("BENCH_TIPS_PER_CLIENT", "25"))
HELLO_PER_CLIENT = int(os.environ.get("BENCH_HELLO_PER_CLIENT", "100"))
WARMUP = 64
ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "SECRET_KEY": "bench-only",
    "SECURE_HTTPS": "off",
    "STATIC_MANIFEST": "off",
    "ENV_FILE": "/nonexistent",
    "ALLOWED_HOSTS": "127.0.0.1",
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/canvass_bench_tips"
    ),
    "CELERY_QUEUE": "canvass-bench-idle",
    "CELERY_MEDIA_QUEUE": "canvass-bench-idle-media",
    "TIPS_POW_KEY_PREFIX": "0",
    "TIPS_RATE_CREATE_PER_HOUR": str(10**9),
    "TIPS_RATE_CHALLENGES_PER_HOUR": str(10**9),
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)
# gunicorn as the Procfile's web line runs it (without its access log), unless BENCH_GUNICORN
# gives other arguments (to compare worker models side by side).
GUNICORN = [str(ROOT / ".venv/bin/gunicorn"), *(os.environ.get("BENCH_GUNICORN", "").split())]
if len(GUNICORN) == 1:
    from bench.harness import procfile_web

    args = procfile_web()
    if "--access-logfile" in args:
        at = args.index("--access-logfile")
        del args[at : at + 2]
    if "--access-logformat" in args:
        at = args.index("--access-logformat")
        del args[at : at + 2]
    GUNICORN += args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(settings_module: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        [*GUNICORN, "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def _solve(challenge: dict) -> str:
    import altcha

    parsed = altcha.Challenge.from_dict(challenge)
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()


def solved_payloads(port: int, count: int) -> list[str]:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    challenges = []
    for _ in range(count):
        conn.request("GET", "/api/tips/challenge/")
        challenges.append(json.loads(conn.getresponse().read()))
    conn.close()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_solve, challenges, chunksize=16))


def _client_run(port: int, requests: list[tuple[str, str, bytes | None]], start_at: float):
    """One client: its requests, one after another on one keep-alive connection."""
    conn = HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, failures = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    for method, path, body in requests:
        headers = {"Content-Type": "application/json"} if body else {}
        began = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        failures += response.status not in (200, 201)
    conn.close()
    return latencies, failures


def _process_run(port, per_client_requests, start_at):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(per_client_requests)) as threads:
        results = list(
            threads.map(lambda reqs: _client_run(port, reqs, start_at), per_client_requests)
        )
    return results


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _family(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def load(port: int, per_client_requests: list[list], server_pid: int) -> dict:
    pids = _family(server_pid)
    cpu_before = _cpu_seconds(pids)
    start_at = time.time() + 1.0
    groups = [per_client_requests[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=get_context("fork")) as pool:
        began = time.time()
        parts = list(
            pool.map(_process_run, [port] * CLIENT_PROCESSES, groups, [start_at] * CLIENT_PROCESSES)
        )
        elapsed = time.time() - max(began, start_at)
    server_cpu = _cpu_seconds(pids) - cpu_before
    latencies = sorted(lat for part in parts for lats, _ in part for lat in lats)
    failures = sum(f for part in parts for _, f in part)
    return {
        "requests": len(latencies),
        "failures": failures,
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        # gunicorn's CPU (master and workers) per request, and its share of the machine's cores.
        "server_cpu_ms_per_request": round(server_cpu / len(latencies) * 1000, 2),
        "server_cores_busy": round(server_cpu / elapsed, 2),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def kdf_ms() -> dict:
    """The deliberate key derivations one tip costs the server, each alone on one thread
    (median of 15): the Argon2id receipt hash and the proof-of-work's PBKDF2 check."""
    import statistics

    import altcha

    from submissions import abuse, receipts

    payload = _solve(abuse.challenge_create())

    def median_ms(fn) -> float:
        times = []
        for _ in range(15):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        return round(statistics.median(times) * 1000, 2)

    return {
        "argon2id_receipt": median_ms(
            lambda: receipts.receipt_hash(receipts.new_receipt("digits"))
        ),
        "pbkdf2_pow_check": median_ms(lambda: altcha.verify_solution(payload, abuse._pow_secret())),
    }


def tip_requests(payloads: list[str], agency: str) -> list[tuple[str, str, bytes]]:
    return [
        (
            "POST",
            "/api/tips/",
            json.dumps(
                {
                    "agency": agency,
                    "category": "theft",
                    "description": f"Bench tip {n}: a bicycle taken from the rack at the station.",
                    "occurred_at": "2025-01-01T10:00",
                    "latitude": 40.75,
                    "longitude": -73.95,
                    "share_file_metadata": False,
                    "altcha": payload,
                }
            ).encode(),  # fmt: skip
        )
        for n, payload in enumerate(payloads)
    ]


def main():
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    from portal.models import Agency
    from portal.roles import AgencyKind
    from submissions.demo import seed_categories

    call_command("migrate", verbosity=0)
    agency, _ = Agency.objects.get_or_create(
        slug="bench-pd", defaults={"name": "Bench PD", "kind": AgencyKind.POLICE}
    )
    seed_categories(agency)

    hello_server, hello_port = start("bench.hello_settings")
    try:
        load(
            hello_port,
            [[("GET", "/hello/", None)] * (WARMUP // CLIENTS)] * CLIENTS,
            hello_server.pid,
        )
        hello = load(
            hello_port, [[("GET", "/hello/", None)] * HELLO_PER_CLIENT] * CLIENTS, hello_server.pid
        )
    finally:
        stop(hello_server)

    tips_server, tips_port = start("portal.settings")
    try:
        total = CLIENTS * TIPS_PER_CLIENT
        payloads = solved_payloads(tips_port, WARMUP + total)
        warm = tip_requests(payloads[:WARMUP], agency.slug)
        load(tips_port, [warm[i::CLIENTS] for i in range(CLIENTS)], tips_server.pid)
        timed = tip_requests(payloads[WARMUP:], agency.slug)
        tips = load(tips_port, [timed[i::CLIENTS] for i in range(CLIENTS)], tips_server.pid)
        kdf = kdf_ms()
    finally:
        stop(tips_server)
        from django.conf import settings
        from redis import Redis

        Redis.from_url(settings.REDIS_URL).delete("canvass-bench-idle", "canvass-bench-idle-media")

    print(
        json.dumps(
            {
                "bench": "tips",
                "clients": CLIENTS,
                "tips": tips,
                "hello_world": hello,
                "ratio": round(tips["req_per_s"] / hello["req_per_s"], 3),
                "kdf_ms": kdf,
                "goal": {"p99_ms": 150},
                "gunicorn": " ".join(GUNICORN[1:]),
                "loadavg": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
