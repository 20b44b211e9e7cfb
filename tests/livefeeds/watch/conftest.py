"""CCTV watching and the live wall reuse the CCTV fixtures (real cameras, owners) and the
relay fixture (nginx on free ports)."""

from tests.livefeeds.cctv.conftest import (  # noqa: F401
    cam_owner,
    camera,
    private_sources,
    rtsp_camera,
)
from tests.livefeeds.conftest import relay  # noqa: F401
