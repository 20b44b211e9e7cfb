"""The demo seeder gives `make run` a populated registry, once."""

import io

import pytest
from django.core.management import call_command

from livefeeds.cctv import cctv_live_decision
from registry import feeds
from registry.models import Camera, CameraCell, CameraFeed, LiveMode

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_cameras_once_and_links_the_demo_cctv_camera_live(settings):
    settings.RELAY_DEMO_CAMERA = "rtsp://127.0.0.1:8554/stream"  # as `make run` sets it
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    cctv = Camera.objects.get(owner__email="shop@example.com", name="Shop camera 1")
    feed = feeds.feed_of(cctv)
    assert feeds.feed_source(feed).address == "rtsp://127.0.0.1:8554/stream"
    assert feed.mode == LiveMode.ALWAYS and feed.agency.slug == "riverton-pd"
    assert cctv_live_decision(cctv, feed.agency).allowed
    assert feeds.relay_pinned("rtsp://127.0.0.1:8554/stream") == (
        "rtsp://127.0.0.1:8554/stream",
        "",
    )
    assert "Shop camera 1" in out.getvalue()
    # The allowance is that one loopback address, not loopback at large.
    assert feeds.relay_pinned("rtsp://127.0.0.1:8555/stream")[0] is None
    assert feeds.relay_pinned("rtsp://10.0.0.5:8554/stream")[0] is None
    settings.RELAY_DEMO_CAMERA = ""
    assert feeds.relay_pinned("rtsp://127.0.0.1:8554/stream")[0] is None
    first = Camera.objects.count()
    assert Camera.objects.filter(owner__email="resident@example.com", kind="doorbell").count() == 1
    assert Camera.objects.filter(owner__email="shop@example.com").count() == 12
    assert first == 313
    assert CameraCell.objects.filter(scope=0, count__gt=0).exists()
    settings.RELAY_DEMO_CAMERA = "rtsp://127.0.0.1:8554/stream"
    call_command("seed_demo", stdout=io.StringIO())
    assert Camera.objects.count() == first
    assert CameraFeed.objects.exclude(source_sealed="").count() == 1
