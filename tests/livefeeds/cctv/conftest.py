"""Fixtures for the CCTV owner side: real cameras on free ports, owners with cameras."""

import pytest

from tests.livefeeds.cctv.helpers import RtspCamera
from tests.registry.cameras import INCIDENT, owner, register


@pytest.fixture
def private_sources(settings):
    """The test camera listens on loopback, which owners may not link in production."""
    settings.RELAYMGR_ALLOW_PRIVATE_SOURCES = True


@pytest.fixture
def rtsp_camera():
    """Start cameras with rtsp_camera(codec=..., audio=..., user=..., password=...)."""
    started: list[RtspCamera] = []

    def start(**options) -> RtspCamera:
        camera = RtspCamera(**options).start()
        started.append(camera)
        return camera

    yield start
    for camera in started:
        camera.stop()


@pytest.fixture
def cam_owner(db):
    return owner()


@pytest.fixture
def camera(cam_owner, police):
    """A resident's camera inside the police agency's jurisdiction (Riverton)."""
    return register(cam_owner, *INCIDENT)
