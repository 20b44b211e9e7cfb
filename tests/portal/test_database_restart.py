"""PostgreSQL restarted (every connection killed): the next request succeeds, no operator needed.

gunicorn keeps its database connection between requests (DB_CONN_MAX_AGE). Here its
connection is killed with pg_terminate_backend, as a PostgreSQL restart does, and the very next
request must find the database, not a dead connection.
"""

import json
import os
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection

import pytest
from django.db import connection


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web(transactional_db):
    """gunicorn on the test database: one worker, one thread, so one kept connection."""
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DB_CONN_MAX_AGE": "600",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    yield port
    server.terminate()
    server.wait(timeout=20)


def _health(port: int) -> tuple[int, dict]:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def _kill_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_the_request_after_the_database_dropped_every_connection_succeeds(web):
    assert _health(web) == (200, {"database": "ok", "redis": "ok"})
    assert _kill_other_connections() >= 1  # gunicorn's kept connection
    assert _health(web) == (200, {"database": "ok", "redis": "ok"})
