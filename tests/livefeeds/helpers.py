"""Body cameras, viewers and publishers for the live-feed tests."""

import subprocess
import tempfile
from dataclasses import dataclass

import requests

from devices.auth import stream_key_for
from devices.models import Device
from devices.simulator import SimulatedCamera, live_publish, live_url
from livefeeds import services
from portal.roles import Role
from tests.devices.factories import DeviceFactory, assigned, credential_for, officer_of
from tests.evidence.cases_helpers import verified
from tests.factories import UserFactory, add_totp_device
from tests.livefeeds.relayctl import Relay, wait_for


@dataclass
class LiveCamera:
    device: Device
    token: str
    officer: object
    sim: SimulatedCamera

    @property
    def stream(self) -> str:
        return self.device.pk.hex

    @property
    def key(self) -> str:
        return stream_key_for(self.token)

    def beat(self, state: str) -> dict:
        return self.sim.heartbeat(state)


# The simulated cameras' work directories, removed when the test run ends.
_WORK_ROOT = tempfile.TemporaryDirectory(prefix="canvass-livecam-")


def live_camera(agency, base_url: str, **device_fields) -> LiveCamera:
    device = DeviceFactory(agency=agency, **device_fields)
    officer = officer_of(agency, full_name="Olive Officer")
    assigned(device, officer)
    token = credential_for(device)
    sim = SimulatedCamera(base_url, token, tempfile.mkdtemp(dir=_WORK_ROOT.name))
    return LiveCamera(device, token, officer, sim)


def supervisor_of(agency, **fields):
    user = UserFactory(agency=agency, role=Role.SUPERVISOR, **fields)
    add_totp_device(user)
    return verified(user)


def push(relay: Relay, camera: LiveCamera, *, key: str | None = None) -> subprocess.Popen:
    url = live_url(relay.rtmp("live", "").rstrip("/"), camera.stream, key or camera.key)
    proc = live_publish(url, label=camera.device.serial)
    relay.publishers.append(proc)
    return proc


def is_publishing(camera: LiveCamera) -> bool:
    return services.is_live("live", camera.stream)


def watch(supervisor, camera: LiveCamera, **kwargs):
    fields = {"reason": "Subject advancing on officer", "case_ref": "CAD-2026-0042", **kwargs}
    return services.view_start(actor=supervisor, device=camera.device, **fields)


def playlist_with_segments(relay: Relay, token: str, stream: str) -> str:
    """The live playlist once it lists a segment (waits up to 15 s)."""

    def ready():
        r = requests.get(relay.hls(token, "live", stream), timeout=5)
        return r.text if r.status_code == 200 and ".ts" in r.text else None

    return wait_for(ready, timeout=15, every=0.2)


def first_segment(playlist: str) -> str:
    return next(line for line in playlist.splitlines() if line.endswith(".ts"))
