"""Anonymity: after a tipster's whole journey, no table, log line or audit row holds their
address or user agent; gunicorn's access log (as the Procfile runs it) carries neither."""

import base64
import json
import logging
import re
import shlex
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest
from django.db import connection

from portal.models import AuditEvent
from submissions.log import TipsterPrivacyFilter
from submissions.middleware import _public_request
from tests.submissions.helpers import (
    TIPSTER_UA,
    send_tip,
    tables_containing,
    tipster_client,
)

ROOT = Path(__file__).resolve().parents[2]


def created_category(agency) -> str:
    return agency.tip_categories.first().slug


@pytest.mark.django_db
def test_a_tipsters_journey_leaves_no_address_or_user_agent_anywhere(
    tips_agency, caplog, capfd, settings, tmp_path
):
    settings.UPLOAD_STAGING_DIR = tmp_path
    caplog.set_level(logging.DEBUG)
    client = tipster_client()
    forwarded = "203.0.113.77"
    headers = {"HTTP_X_FORWARDED_FOR": forwarded, "HTTP_X_REQUEST_ID": "tipster-chosen-id-123"}

    created = send_tip(client, tips_agency, contact="", **{}).json()
    receipt = created["receipt"]
    client.get("/api/tips/mine/", HTTP_CANVASS_RECEIPT=receipt, **headers)
    client.post(
        "/api/tips/mine/messages/",
        json.dumps({"body": "more"}),
        content_type="application/json",
        HTTP_CANVASS_RECEIPT=receipt,
        **headers,
    )
    client.get("/api/tips/mine/", HTTP_CANVASS_RECEIPT="0000 0000 0000 0000", **headers)
    client.get("/tips/no-such-agency/", **headers)
    body = b"\xff\xd8\xff\xe0" + b"0" * 60
    upload = client.generic(
        "POST", "/api/uploads/", body, content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH=str(len(body)),
        HTTP_UPLOAD_METADATA="filename " + base64.b64encode(b"photo.jpg").decode(),
        HTTP_CANVASS_UPLOAD_GRANT=created["upload"]["grant"], **headers,
    )  # fmt: skip
    assert upload.status_code == 201, upload.content
    # A resumable upload in pieces under the same grant: created empty, offset asked, sent.
    grant = {"HTTP_CANVASS_UPLOAD_GRANT": created["upload"]["grant"], "HTTP_TUS_RESUMABLE": "1.0.0"}
    made = client.generic(
        "POST", "/api/uploads/", b"", HTTP_UPLOAD_LENGTH=str(len(body)),
        HTTP_UPLOAD_METADATA="filename " + base64.b64encode(b"second.jpg").decode(),
        **grant, **headers,
    )  # fmt: skip
    assert made.status_code == 201, made.content
    location = made["Location"].split("testserver", 1)[-1]
    assert client.head(location, **grant, **headers)["Upload-Offset"] == "0"
    sent = client.generic(
        "PATCH", location, body, content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0", **grant, **headers,
    )  # fmt: skip
    assert sent.status_code == 204, sent.content

    # The return pages without JavaScript: a wrong receipt, the right one, an answer, a grant.
    assert (
        client.post("/tips/return/", {"receipt": "1111 2222 3333 4444"}, **headers).status_code
        == 400
    )
    assert client.post("/tips/return/", {"receipt": receipt}, **headers).status_code == 302
    assert client.get("/tips/return/tip/", **headers).status_code == 200
    assert (
        client.post("/tips/return/tip/", {"body": "one more thing"}, **headers).status_code == 302
    )
    assert client.post("/tips/return/tip/uploads/", **headers).status_code == 201
    # A text-only tip with JavaScript off, and the web app's files.
    nojs = client.post(
        f"/tips/{tips_agency.slug}/",
        {"category": created_category(tips_agency), "description": "no script here",
         "occurred_at": "2025-01-15T21:30", "share_file_metadata": "no"},
        **headers,
    )  # fmt: skip
    assert nojs.status_code == 200 and b"receipt" in nojs.content.lower(), nojs.content[:2000]
    for path in ("/tips/manifest.webmanifest", "/tips/sw.js", "/tips/offline-strings.json",
                 "/tips/icon-192.png", "/tips/", f"/tips/{tips_agency.slug}/"):  # fmt: skip
        assert client.get(path, **headers).status_code == 200, path

    assert AuditEvent.objects.filter(target_id=created["tip"]).count() >= 3
    out, err = capfd.readouterr()
    for needle in (
        client.address,
        TIPSTER_UA,
        "CanvassTipsterProbe",
        forwarded,
        "tipster-chosen-id-123",
    ):
        assert tables_containing(needle) == [], needle
        assert needle not in caplog.text, needle
        assert needle not in out + err, needle
    # The audit names the tip, never the person.
    labels = set(
        AuditEvent.objects.filter(target_id=created["tip"]).values_list("actor_label", flat=True)
    )
    assert labels == {f"anonymous tipster · {created['tip']}"}
    actions = set(
        AuditEvent.objects.filter(target_id=created["tip"]).values_list("action", flat=True)
    )
    assert {"tip.received", "tip.answered"} <= actions


@pytest.mark.django_db
def test_staff_paths_are_left_alone(client):
    # Only public tip paths are scrubbed: the staff side keeps its request ids.
    response = client.get("/login/", HTTP_X_REQUEST_ID="staff-request-id-0001")
    assert response["X-Request-ID"] == "staff-request-id-0001"
    tip_page = client.get("/tips/", HTTP_X_REQUEST_ID="tipster-request-id-0001")
    assert tip_page["X-Request-ID"] != "tipster-request-id-0001"


def test_the_log_filter_removes_addresses_and_the_request_in_a_tip_request():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "from %s via %s",
        ("198.18.0.9", "fe80::1"),
        None,
    )
    record.request = object()
    token = _public_request.set(True)
    try:
        TipsterPrivacyFilter().filter(record)
    finally:
        _public_request.reset(token)
    assert record.getMessage() == "from [address removed] via [address removed]"
    assert record.request is None
    # The development server's connection lines know no request: addresses always go.
    dropped = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        "- Broken pipe from %s",
        (("127.0.0.1", 5),),
        None,
    )
    TipsterPrivacyFilter().filter(dropped)
    assert dropped.getMessage() == "- Broken pipe from ('[address removed]', 5)"
    staff = logging.LogRecord("x", logging.INFO, __file__, 1, "at 12:30:45 from 10.0.0.1", (), None)
    TipsterPrivacyFilter().filter(staff)
    assert staff.getMessage() == "at 12:30:45 from 10.0.0.1"


def test_connection_lines_lose_the_address_before_any_handler_sees_them(caplog):
    # Through the configured loggers, not the filter alone: a capturing handler on the root
    # (as pytest's is, or an admin email) must get the cleaned line too.
    caplog.set_level(logging.INFO)
    logging.getLogger("django.server").info("- Broken pipe from %s", ("127.0.0.1", 39730))

    assert "127.0.0.1" not in caplog.text
    assert "[address removed]" in caplog.text


def _procfile_web_argv(port: int) -> list[str]:
    line = next(
        row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:")
    )
    argv = shlex.split(line.removeprefix("web:").strip())
    argv[0] = str(Path(sys.executable).with_name("gunicorn"))
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    return argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_as_the_procfile_runs_it_logs_no_address_or_user_agent(tips_agency, settings):
    port = _free_port()
    db = connection.settings_dict
    env = {
        **__import__("os").environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "TIPS_POW_COST": "10",
        "TIPS_POW_KEY_PREFIX": "0",
        "LOG_LEVEL": "DEBUG",
    }
    server = subprocess.Popen(
        _procfile_web_argv(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    source = "127.0.0.23"  # the client's own loopback address, distinct from the bind address
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, (
                    "gunicorn did not start"
                )
                time.sleep(0.2)

        def request(method, path, body=None, headers=None):
            conn = HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
            conn.request(
                method,
                path,
                body=body,
                headers={
                    "User-Agent": TIPSTER_UA,
                    "X-Forwarded-For": "203.0.113.99",
                    **(headers or {}),
                },
            )
            response = conn.getresponse()
            data = response.read()
            conn.close()
            return response.status, data

        status, challenge = request("GET", "/api/tips/challenge/")
        assert status == 200
        import altcha

        parsed = altcha.Challenge.from_dict(json.loads(challenge))
        payload = altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()
        body = json.dumps({
            "agency": tips_agency.slug, "category": "theft", "description": "seen at the gate",
            "occurred_at": "2025-01-01T10:00", "share_file_metadata": False, "altcha": payload,
        })  # fmt: skip
        status, created = request("POST", "/api/tips/", body, {"Content-Type": "application/json"})
        assert status == 201, created
        assert request("GET", "/tips/nowhere-pd/")[0] == 404
        assert request("GET", f"/tips/{tips_agency.slug}/")[0] == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    assert '"POST /api/tips/" 201' in output  # the access log did run
    for needle in (source, TIPSTER_UA, "CanvassTipsterProbe", "203.0.113.99"):
        assert needle not in output, (needle, output[-2000:])
    assert re.search(r"Listening at: http://127\.0\.0\.1:\d+", output)
