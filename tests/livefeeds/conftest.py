import pytest

from tests.livefeeds import relayctl


@pytest.fixture
def relay(live_server, settings):
    """nginx + nginx-rtmp on free ports in a temporary prefix, calling the live_server back;
    Django's settings point at it (for /control/drop)."""
    started = relayctl.start(live_server.url, settings.RELAY_SECRET)
    settings.RELAY_HTTP_PORT = started.config.http_port
    settings.RELAY_CONTROL_PORT = started.config.control_port
    settings.RELAY_RTMP_PORT = started.config.rtmp_port
    settings.RELAY_HLS_URL = "/hls/"
    try:
        yield started
    finally:
        relayctl.quiesce(started)
