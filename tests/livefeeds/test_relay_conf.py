"""The relay's config, rendered from the settings, as nginx runs it."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from livefeeds import relay
from tests.livefeeds import relayctl

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_render_relay_conf_writes_absolute_paths_under_relay_dir(settings, tmp_path, capsys):
    settings.RELAY_DIR = tmp_path / "relay"
    call_command("render_relay_conf")
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "relay" / "nginx.conf"
    text = path.read_text()
    assert f"hls_path {tmp_path}/relay/hls/live;" in text
    assert f"access_log {tmp_path}/relay/logs/rtmp-access.log nokeys;" in text
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{temp}_temp_path {tmp_path}/relay/temp/{temp};" in text
    assert "worker_processes 1;" in text
    assert "daemon" not in text.split("# Run:")[1].split("\n", 1)[1]
    assert "$args" not in text
    public, control = text.split("listen 127.0.0.1:", 3)[2:]
    assert "location /control { return 404; }" in public
    assert "rtmp_control" not in public and "rtmp_stat" not in public
    assert "location /control/ { allow 127.0.0.1; deny all; rtmp_control all; }" in control
    assert "location = /stat { allow 127.0.0.1; deny all; rtmp_stat all; }" in control
    assert path.stat().st_mode & 0o077 == 0  # it holds the callback secret


def test_nginx_accepts_the_rendered_config(tmp_path, settings):
    config = relay.RelayConfig(
        prefix=tmp_path,
        rtmp_port=relayctl.free_port(),
        http_port=relayctl.free_port(),
        django_url="http://127.0.0.1:8000",
        secret=settings.RELAY_SECRET,
    )
    conf = relay.write(config)
    result = subprocess.run(
        ["nginx", "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_control_and_stat_answer_only_on_their_own_loopback_port(relay):
    assert relayctl.status_of(f"{relay.control}/stat") == 200
    assert relayctl.status_of(f"{relay.control}/control/drop/publisher?app=cam&name=x") in (
        200,
        404,  # nginx-rtmp: no such publisher
    )
    # The port browsers reach (through the front proxy) has neither.
    for path in ("/stat", "/control/drop/publisher?app=cam&name=x", "/control/record/start",
                 "/control", "/control/"):  # fmt: skip
        assert relayctl.status_of(f"{relay.http}{path}") == 404, path
    assert relayctl.status_of(f"{relay.control}/hls/garbage") == 404
    assert relayctl.status_of(f"{relay.http}/hls/garbage") == 403


def test_the_relay_passes_other_paths_to_django(relay):
    assert relayctl.status_of(f"{relay.http}/healthz") in (200, 503)
