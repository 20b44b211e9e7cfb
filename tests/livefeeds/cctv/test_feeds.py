"""Owner-linked feeds: the stream sealed at rest, and "Test connection" against a real RTSP
camera (GStreamer), through the hardened ffmpeg runner."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from portal.models import AuditEvent
from portal.sealing import secret_seal, secret_unseal
from registry import feeds
from registry.models import CameraFeed, FeedTest
from tests.conftest import client_for
from tests.livefeeds.cctv.helpers import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "Hunter2-very-secret"
USER = "camadmin"


def test_a_sealed_secret_opens_only_for_its_own_kind_and_row():
    sealed = secret_seal("s3cret", info=b"kind-a", context="row-1")
    assert "s3cret" not in sealed
    assert secret_unseal(sealed, info=b"kind-a", context="row-1") == "s3cret"
    for info, context in ((b"kind-b", "row-1"), (b"kind-a", "row-2")):
        with pytest.raises(ValueError):
            secret_unseal(sealed, info=info, context=context)


def test_a_secret_sealed_before_a_key_rotation_still_opens(settings):
    sealed = secret_seal("s3cret", info=b"k", context="c")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 40
    assert secret_unseal(sealed, info=b"k", context="c") == "s3cret"


def test_the_stream_and_credentials_are_sealed_and_never_in_the_row_or_the_audit(
    camera, cam_owner, private_sources
):
    feeds.feed_set(
        actor=cam_owner,
        camera_id=camera.pk,
        address="rtsp://127.0.0.1:8554/Streaming/Channels/102",
        username=USER,
        password=PASSWORD,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_camerafeed WHERE camera_id = %s", [camera.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    for plain in (PASSWORD, USER, "Channels/102", "127.0.0.1"):
        assert plain not in row
    feed = CameraFeed.objects.get(pk=camera.pk)
    source = feeds.feed_source(feed)
    assert source is not None
    assert (source.username, source.password) == (USER, PASSWORD)
    assert source.url == f"rtsp://{USER}:{PASSWORD}@127.0.0.1:8554/Streaming/Channels/102"
    [event] = AuditEvent.objects.filter(action="registry.feed_set")
    assert PASSWORD not in str(event.details) and USER not in str(event.details)


def test_credentials_typed_into_the_address_are_taken_out_of_it(camera, cam_owner, private_sources):
    feeds.feed_set(
        actor=cam_owner,
        camera_id=camera.pk,
        address=f"rtsp://{USER}:{PASSWORD}@127.0.0.1:8554/s",
        username="",
        password="",
    )
    source = feeds.feed_source(CameraFeed.objects.get(pk=camera.pk))
    assert source is not None
    assert source.address == "rtsp://127.0.0.1:8554/s"
    assert (source.username, source.password) == (USER, PASSWORD)


def test_a_blank_password_keeps_the_saved_one(camera, cam_owner, private_sources):
    for password in (PASSWORD, ""):
        feeds.feed_set(
            actor=cam_owner,
            camera_id=camera.pk,
            address="rtsp://127.0.0.1:8554/s",
            username=USER,
            password=password,
        )
    source = feeds.feed_source(CameraFeed.objects.get(pk=camera.pk))
    assert source is not None and source.password == PASSWORD


@pytest.mark.parametrize(
    "address",
    ["http://example.org/x", "rtsp://", "rtsp://127.0.0.1:99999/x", "rtsp://10.0.0.5/x"],
)
def test_addresses_that_are_not_a_public_rtsp_stream_are_refused(camera, cam_owner, address):
    with pytest.raises(ValidationError):
        feeds.feed_set(
            actor=cam_owner, camera_id=camera.pk, address=address, username="", password=""
        )


def test_the_page_never_shows_the_password_back(camera, cam_owner, private_sources):
    feeds.feed_set(
        actor=cam_owner,
        camera_id=camera.pk,
        address="rtsp://127.0.0.1:8554/s",
        username=USER,
        password=PASSWORD,
    )
    page = client_for(cam_owner).get(reverse("cameras:live", args=[camera.pk]))
    assert page.status_code == 200
    assert PASSWORD not in page.content.decode()
    assert "Saved: leave empty to keep it" in page.content.decode()


# --- "Test connection" against the real camera ----------------------------------------------


def _link(camera, owner, address, username="", password=""):
    feeds.feed_set(
        actor=owner, camera_id=camera.pk, address=address, username=username, password=password
    )


def test_an_h264_camera_gives_the_owner_a_jpeg_still(
    camera, cam_owner, rtsp_camera, private_sources
):
    cam = rtsp_camera()
    _link(camera, cam_owner, cam.address)
    client = client_for(cam_owner)
    response = client.post(reverse("cameras:live_test", args=[camera.pk]))
    assert response.status_code == 302
    feed = CameraFeed.objects.get(pk=camera.pk)
    assert feed.test_state == FeedTest.OK, feed.test_detail
    assert feed.video_codec == "h264"
    assert "640×360" in feed.test_detail
    still = client.get(reverse("cameras:live_still", args=[camera.pk]))
    assert still.status_code == 200
    assert still["Content-Type"] == "image/jpeg"
    assert still.content[:3] == b"\xff\xd8\xff"
    assert "no-store" in still["Cache-Control"]
    page = client.get(reverse("cameras:live", args=[camera.pk])).content.decode()
    assert 'id="feed-still"' in page


def test_g711_audio_is_noted_as_converted_to_aac(camera, cam_owner, rtsp_camera, private_sources):
    cam = rtsp_camera(audio="pcmu")
    _link(camera, cam_owner, cam.address)
    feed = feeds.feed_test(actor=cam_owner, camera_id=camera.pk)
    assert feed.test_state == FeedTest.OK
    assert feed.audio_codec == "pcm_mulaw"
    assert "converted to AAC" in feed.test_detail


def test_an_h265_camera_is_told_to_choose_its_h264_substream(
    camera, cam_owner, rtsp_camera, private_sources
):
    cam = rtsp_camera(codec="h265")
    _link(camera, cam_owner, cam.address)
    feed = feeds.feed_test(actor=cam_owner, camera_id=camera.pk)
    assert feed.test_state == FeedTest.NOT_H264
    assert feed.video_codec == "hevc"
    assert "choose the camera's H.264 substream" in feed.test_detail


def test_wrong_credentials_are_said_plainly_and_never_echoed(
    camera, cam_owner, rtsp_camera, private_sources
):
    cam = rtsp_camera(user=USER, password=PASSWORD)
    _link(camera, cam_owner, cam.address, USER, "not-the-password")
    feed = feeds.feed_test(actor=cam_owner, camera_id=camera.pk)
    assert feed.test_state == FeedTest.WRONG_CREDENTIALS
    assert "401" in feed.test_detail
    assert "not-the-password" not in feed.test_detail
    assert (
        client_for(cam_owner).get(reverse("cameras:live_still", args=[camera.pk])).status_code
        == 404
    )

    _link(camera, cam_owner, cam.address, USER, PASSWORD)
    assert feeds.feed_test(actor=cam_owner, camera_id=camera.pk).test_state == FeedTest.OK
    events = AuditEvent.objects.filter(action="registry.feed_tested")
    assert [e.details["state"] for e in events.order_by("seq")] == ["wrong_credentials", "ok"]
    assert all(PASSWORD not in str(e.details) for e in events)


def test_a_closed_port_is_unreachable_at_once(camera, cam_owner, private_sources):
    _link(camera, cam_owner, f"rtsp://127.0.0.1:{free_port()}/stream")
    started = time.monotonic()
    feed = feeds.feed_test(actor=cam_owner, camera_id=camera.pk)
    assert feed.test_state == FeedTest.UNREACHABLE
    assert "did not answer" in feed.test_detail
    assert time.monotonic() - started < 5


def test_a_silent_host_is_unreachable_within_the_bound(camera, cam_owner, private_sources):
    import socket

    with socket.socket() as silent:  # accepts TCP (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        _link(camera, cam_owner, f"rtsp://127.0.0.1:{silent.getsockname()[1]}/stream")
        started = time.monotonic()
        feed = feeds.feed_test(actor=cam_owner, camera_id=camera.pk)
        elapsed = time.monotonic() - started
    assert feed.test_state == FeedTest.UNREACHABLE
    assert elapsed < feeds.PROBE_TIMEOUT + 2


def test_connection_tests_are_limited_per_owner(camera, cam_owner, settings):
    # Each test can hold a web thread for ~25 s: past the limit the owner is told to wait,
    # and nothing is probed.
    settings.FEED_TESTS_PER_MINUTE = 2
    for _ in range(2):
        with pytest.raises(ValidationError, match="stream address first"):
            feeds.feed_test(actor=cam_owner, camera_id=camera.pk)
    with pytest.raises(ValidationError, match="Too many connection tests"):
        feeds.feed_test(actor=cam_owner, camera_id=camera.pk)


def test_the_owners_live_pages_speak_spanish(camera, cam_owner):
    client = client_for(cam_owner)
    page = client.get(reverse("cameras:live", args=[camera.pk]), HTTP_ACCEPT_LANGUAGE="es")
    text = page.content.decode()
    for spanish in (
        "Compartiendo ahora",
        "Quién puede verla en directo",
        "Preguntarme cada vez",
        "Probar la conexión" if "feed-test" in text else "Guardar la transmisión",
        "Quién la vio en directo",
    ):
        assert spanish in text, spanish
    looked = client.get(
        reverse("live_owner:who_looked", args=[camera.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Nadie ha visto esta cámara en directo." in looked


def test_the_stream_url_reaches_ffprobe_through_a_pipe_never_its_command_line(monkeypatch):
    from portal import media

    seen: dict = {}

    def run(argv, timeout=None, *, what="", source=b""):
        seen.update(argv=argv, source=source)
        return b'{"streams": [{"codec_type": "video", "codec_name": "h264"}]}'

    monkeypatch.setattr(media, "_run", run)
    url = "rtsp://viewer:pw-secret-1@203.0.113.7:554/stream2"
    assert media.rtsp_probe(url).video_codec == "h264"
    assert not [a for a in seen["argv"] if "pw-secret-1" in a or "rtsp://" in a]
    assert seen["argv"][seen["argv"].index("-i") + 1] == media.SOURCE_PIPE
    assert f"file '{url}'\n".encode() in seen["source"]
    assert b"option rtsp_transport tcp\n" in seen["source"]
