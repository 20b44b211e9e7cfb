"""`manage.py bodycam --live`: the simulator pushes its live stream (1 s GOP, the clock burned
in) to the real relay while it records, a viewer gets the playlist, and the stream ends when the
camera says it stopped recording."""

import io
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from livefeeds.models import Publish
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.livefeeds import relayctl
from tests.livefeeds.helpers import first_segment, playlist_with_segments, supervisor_of

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_bodycam_live_pushes_while_recording_and_stops_with_it(
    relay, live_server, police, tmp_path
):
    from livefeeds import services

    device = DeviceFactory(agency=police, serial="SIM-LIVE-1")
    assigned(device, officer_of(police))
    token = credential_for(device)
    provisioning = {"api": f"{live_server.url}/api/devices/v1/", "device": str(device.pk),
                    "token": token}  # fmt: skip
    out = io.StringIO()
    rtmp = f"rtmp://127.0.0.1:{relay.config.rtmp_port}/live"

    def run():
        try:
            call_command(
                "bodycam", "--provisioning", json.dumps(provisioning), "--state-dir",
                str(tmp_path), "--heartbeats", "1", "--interval", "0", "--record", "8",
                "--live", rtmp, "--serial", device.serial, stdout=out,
            )  # fmt: skip
        finally:
            connection.close()

    camera = threading.Thread(target=run)
    camera.start()
    try:
        relayctl.wait_for(
            lambda: Publish.objects.filter(device=device, ended_at__isnull=True).exists(),
            timeout=10,
        )
        device.refresh_from_db()
        _, view_token = services.view_start(
            actor=supervisor_of(police), device=device, reason="Check", case_ref="SIM-1"
        )
        playlist = playlist_with_segments(relay, view_token, device.pk.hex)
        durations = [float(line[8:].rstrip(",")) for line in playlist.splitlines()
                     if line.startswith("#EXTINF:")]  # fmt: skip
        assert all(0.9 <= d <= 1.2 for d in durations), durations  # 1 s GOP, 1 s segments
        assert first_segment(playlist)
    finally:
        camera.join(timeout=60)
    assert not camera.is_alive()
    assert "live for 8 s" in out.getvalue()
    publish = Publish.objects.get(device=device)
    assert publish.ended_at is not None  # the idle heartbeat ended it
