"""portal.media against the real ffmpeg, ffprobe and Pillow: what it reads, what it makes,
and the fences around every tool run. No database: these are pure functions over files."""

import dataclasses
import os
import shutil
import socket
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from evidence import samples
from portal import media


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Sample files, made once for the module; tests only read them."""
    directory = tmp_path_factory.mktemp("samples")
    return {
        "phone": samples.phone_clip_mov(directory),
        "mpeg4": samples.hevc_or_mpeg4_clip(directory),
        "rotated": samples.rotated_clip(directory),
        "audio": samples.audio_clip(directory),
        "truncated": samples.truncated_clip(directory),
        "html": samples.html_named_mp4(directory),
        "photo": samples.photo_with_exif_gps(directory),
    }


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4's top-level boxes, in file order."""
    kinds = []
    with open(path, "rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            elif size == 0:
                kinds.append(kind.decode())
                break
            kinds.append(kind.decode())
            f.seek(size - 8, os.SEEK_CUR)
    return kinds


def assert_fenced(argv: list[str]) -> None:
    """Every input of the command is preceded by the protocol and demuxer allowlists."""
    inputs = [i for i, arg in enumerate(argv) if arg == "-i"]
    assert inputs
    for i in inputs:
        options = argv[:i]
        assert options[options.index("-protocol_whitelist") + 1] == "file"
        assert options[options.index("-format_whitelist") + 1] == media.FORMAT_WHITELIST
        assert argv[i + 1].startswith("file:/")


# --- detect ----------------------------------------------------------------------------


def test_html_saved_as_mp4_is_detected_as_html(made):
    assert media.detect(made["html"]) == media.Detected("text/html", "other")


def test_jpeg_renamed_mp4_is_detected_as_jpeg(made, tmp_path):
    renamed = tmp_path / "holiday.mp4"
    shutil.copy(made["photo"], renamed)
    assert media.detect(renamed) == media.Detected("image/jpeg", "image")


@pytest.mark.parametrize(
    ("sample", "media_type", "kind"),
    [
        ("phone", "video/quicktime", "video"),
        ("mpeg4", "video/x-msvideo", "video"),
        ("audio", "audio/mpeg", "audio"),
        # Undecodable, but its bytes say MP4: kept as a video the pipeline marks unplayable.
        ("truncated", "video/mp4", "video"),
    ],
)
def test_audio_and_video_are_detected_by_content(made, sample, media_type, kind):
    detected = media.detect(made[sample])
    assert (detected.media_type, detected.kind) == (media_type, kind)


def test_mp4_holding_only_audio_is_audio(tmp_path):
    m4a = tmp_path / "voice.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac", str(m4a)],
        check=True,
    )
    assert media.detect(m4a) == media.Detected("audio/mp4", "audio", media.probe(m4a).run)


def test_svg_is_not_an_image(tmp_path):
    svg = tmp_path / "map.png"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert media.detect(svg).kind == "other"


# --- probe -----------------------------------------------------------------------------


def test_probe_reads_what_a_phone_clip_says(made):
    probe = media.probe(made["phone"])
    assert probe.duration == pytest.approx(3, abs=0.1)
    assert (probe.video_codec, probe.audio_codec) == ("h264", "aac")
    assert (probe.width, probe.height, probe.rotation) == (640, 360, 0)
    assert probe.creation_time == datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
    assert probe.location == pytest.approx((40.7580, -73.9855), abs=1e-6)
    assert (probe.make, probe.model, probe.kind) == ("Apple", "iPhone 15", "video")
    video, audio = probe.streams
    assert video["fps"] == 30 and video["type"] == "video"
    assert audio["sample_rate"] == 48000 and audio["channels"] == 1


def test_probe_of_a_truncated_clip_gives_a_short_reason(made):
    with pytest.raises(media.MediaError) as caught:
        media.probe(made["truncated"])
    assert caught.value.reason.startswith("ffprobe could not read the file: moov atom not found")
    assert len(caught.value.reason) <= 500
    assert str(made["truncated"].parent) not in caught.value.reason


def test_probe_reports_rotation_clockwise(made):
    probe = media.probe(made["rotated"])
    assert probe.rotation == 90
    assert probe.display_size == (360, 640)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("+40.7128-074.0060/", (40.7128, -74.006)),
        ("+40.7128-074.0060+010.000/", (40.7128, -74.006)),
        ("-33.8688+151.2093-005.5CRSWGS_84/", (-33.8688, 151.2093)),
        ("+4042.768-07400.360/", (40.7128, -74.006)),  # degrees and minutes
        ("+00.0000+000.0000/", None),  # what devices without a fix write
        ("+91.0000+000.0000/", None),
        ("somewhere", None),
    ],
)
def test_iso6709_positions_are_parsed(text, point):
    parsed = media.parse_iso6709(text)
    assert parsed == (pytest.approx(point, abs=1e-4) if point else None)


# --- limits ----------------------------------------------------------------------------


def test_check_limits_passes_a_small_clip_and_names_each_excess(made):
    probe = media.probe(made["phone"])
    limits = {"max_duration": 60, "max_pixels": 1920 * 1080, "max_streams": 4}
    assert media.check_limits(probe, **limits) is None
    assert "lasts" in media.check_limits(probe, **{**limits, "max_duration": 2})
    assert "pixels" in media.check_limits(probe, **{**limits, "max_pixels": 640 * 359})
    assert "streams" in media.check_limits(probe, **{**limits, "max_streams": 1})


# --- video derivatives ---------------------------------------------------------------------


def test_video_proxy_is_a_faststart_h264_aac_mp4_at_most_720p(tmp_path, out):
    source = samples.phone_clip_mov(tmp_path, seconds=1, size="1920x1080")
    proxy = media.video_proxy(source, out, media.probe(source))
    assert (proxy.name, proxy.media_type) == ("proxy.mp4", "video/mp4")
    boxes = top_level_boxes(proxy.path)
    assert boxes.index("moov") < boxes.index("mdat")
    made = media.probe(proxy.path)
    assert (made.video_codec, made.audio_codec) == ("h264", "aac")
    assert (made.width, made.height) == (1280, 720)
    assert made.location is None and made.make is None  # metadata stays on the original
    assert_fenced(proxy.run.argv)
    assert proxy.run.argv[proxy.run.argv.index("-g") + 1] == "60"


def test_video_proxy_never_upscales(made, out):
    proxy = media.video_proxy(made["phone"], out, media.probe(made["phone"]))
    assert media.probe(proxy.path).display_size == (640, 360)


def test_video_proxy_turns_a_rotated_clip_upright(made, out):
    proxy = media.video_proxy(made["rotated"], out, media.probe(made["rotated"]))
    made_probe = media.probe(proxy.path)
    assert (made_probe.width, made_probe.height, made_probe.rotation) == (360, 640, 0)


def test_video_proxy_of_a_silent_clip_has_no_audio(tmp_path, out):
    source = samples.phone_clip_mov(tmp_path, seconds=1, audio=False)
    proxy = media.video_proxy(source, out, media.probe(source))
    made = media.probe(proxy.path)
    assert (made.video_codec, made.audio_codec) == ("h264", None)


def test_video_proxy_refuses_audio_only_input(made, out):
    with pytest.raises(media.MediaError, match="no video"):
        media.video_proxy(made["audio"], out, media.probe(made["audio"]))


def test_hls_by_copy_has_relative_segments(tmp_path, out):
    source = samples.phone_clip_mov(tmp_path, seconds=9)
    probe = media.probe(source)
    assert media.hls_copy_ok(probe)
    outputs = media.hls(source, out, probe, copy=True)
    playlist, *segments = outputs
    assert (playlist.name, playlist.media_type) == ("index.m3u8", "application/vnd.apple.mpegurl")
    assert [s.name for s in segments] == ["seg_00001.ts", "seg_00002.ts", "seg_00003.ts"]
    assert all(s.media_type == "video/mp2t" for s in segments)
    text = playlist.path.read_text()
    listed = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert listed == [s.name for s in segments]
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-ENDLIST" in text
    assert playlist.run.argv[playlist.run.argv.index("-c") + 1] == "copy"
    assert_fenced(playlist.run.argv)


def test_hls_of_a_non_h264_clip_goes_through_the_proxy(made, tmp_path, out):
    assert not media.hls_copy_ok(media.probe(made["mpeg4"]))
    proxy = media.video_proxy(made["mpeg4"], tmp_path, media.probe(made["mpeg4"]))
    playlist, *segments = media.hls(proxy.path, out, media.probe(proxy.path), copy=False)
    # The proxy is already fit for HLS, so it is copied rather than encoded a second time.
    assert playlist.run.argv[playlist.run.argv.index("-c") + 1] == "copy"
    assert segments and media.probe(segments[0].path).video_codec == "h264"


def test_hls_without_copy_encodes_a_source_that_cannot_be_copied(made, out):
    playlist, *segments = media.hls(made["mpeg4"], out, media.probe(made["mpeg4"]), copy=False)
    assert "libx264" in playlist.run.argv
    segment = media.probe(segments[0].path)
    assert (segment.video_codec, segment.audio_codec) == ("h264", "aac")


def test_a_rotated_clip_cannot_be_copied_into_hls(made):
    assert not media.hls_copy_ok(media.probe(made["rotated"]))


def test_poster_is_a_jpeg_no_wider_than_1280(tmp_path, out):
    source = samples.phone_clip_mov(tmp_path, seconds=1, size="1920x1080")
    poster = media.poster(source, out, media.probe(source))
    assert (poster.name, poster.media_type) == ("poster.jpg", "image/jpeg")
    assert poster.path.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(poster.path) as image:
        assert image.size == (1280, 720)
    assert_fenced(poster.run.argv)


def test_poster_falls_back_to_the_first_frame_when_10_percent_is_past_the_end(made, out):
    wrong = dataclasses.replace(media.probe(made["phone"]), duration=600.0)
    poster = media.poster(made["phone"], out, wrong)
    assert "-ss" not in poster.run.argv and poster.path.stat().st_size > 0


def test_audio_proxy_is_aac_in_m4a(made, out):
    proxy = media.audio_proxy(made["audio"], out)
    assert (proxy.name, proxy.media_type) == ("audio.m4a", "audio/mp4")
    assert media.probe(proxy.path).audio_codec == "aac"
    assert_fenced(proxy.run.argv)


def test_tool_runs_record_versions():
    versions = media.tool_versions()
    assert set(versions) == {"ffmpeg", "ffprobe", "Pillow"}
    assert versions["ffmpeg"][0].isdigit() and versions["ffmpeg"] == versions["ffprobe"]
    assert versions["Pillow"] == Image.__version__


# --- images ----------------------------------------------------------------------------


def test_image_info_reads_gps_time_and_camera(made):
    info = media.image_info(made["photo"])
    assert (info.format, info.width, info.height, info.orientation) == ("JPEG", 800, 600, 1)
    # 15:09:26 at UTC-4 is 19:09:26 UTC.
    assert info.capture_time == datetime(2026, 3, 14, 19, 9, 26, tzinfo=UTC)
    assert info.location == pytest.approx((40.7580, -73.9855), abs=1e-5)
    assert (info.make, info.model) == ("Apple", "iPhone 15")


def test_image_capture_time_without_offset_is_naive(tmp_path):
    photo = samples.photo_with_exif_gps(tmp_path, offset=None, lat=-33.8688, lon=151.2093)
    info = media.image_info(photo)
    assert info.capture_time == datetime(2026, 3, 14, 15, 9, 26)
    assert info.location == pytest.approx((-33.8688, 151.2093), abs=1e-5)


def test_image_preview_is_upright_small_and_without_metadata(tmp_path, out):
    photo = samples.photo_with_exif_gps(tmp_path, orientation=6, size=(4000, 3000))
    preview = media.image_preview(photo, out)
    assert (preview.name, preview.media_type) == ("preview.jpg", "image/jpeg")
    with Image.open(preview.path) as image:
        # Orientation 6 turns it a quarter clockwise: portrait, the marker top-right.
        assert image.size == (1200, 1600)
        assert image.getpixel((image.width - 20, 20)) == pytest.approx((255, 255, 0), abs=8)
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"Exif" not in preview.path.read_bytes()


@pytest.mark.parametrize("read", [media.image_info, media.image_preview])
def test_pixel_flood_image_is_refused(tmp_path, out, read):
    flood = samples.pixel_flood_png(tmp_path)
    args = (flood,) if read is media.image_info else (flood, out)
    with pytest.raises(media.MediaError, match="too large|limit"):
        read(*args)


def test_image_over_our_own_pixel_limit_is_refused_before_decoding(made, settings):
    settings.MEDIA_MAX_PIXELS = 800 * 600 - 1
    with pytest.raises(media.MediaError, match="limit"):
        media.image_info(made["photo"])


def test_a_video_is_not_read_as_an_image(made, out):
    with pytest.raises(media.MediaError, match="Pillow could not read"):
        media.image_preview(made["phone"], out)


# --- the fences around every run -----------------------------------------------------------


@pytest.fixture
def listener():
    """A local TCP port that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.3)
    yield server
    server.close()


def assert_nobody_connected(server: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        server.accept()


@pytest.mark.parametrize("make", [samples.network_playlist, samples.network_concat])
def test_a_file_pointing_at_the_network_is_refused_without_connecting(
    make, listener, tmp_path, out
):
    port = listener.getsockname()[1]
    trap = make(tmp_path, f"http://127.0.0.1:{port}/x.ts")
    assert media.detect(trap).kind == "other"
    with pytest.raises(media.MediaError, match="not on whitelist"):
        media.probe(trap)
    phone_like = media.Probe(
        "mov", 4.0, [], 640, 360, 0, "h264", None, None, None, None, None, "video"
    )
    with pytest.raises(media.MediaError, match="not on whitelist"):
        media.video_proxy(trap, out, phone_like)
    assert_nobody_connected(listener)


def test_a_timeout_kills_the_tool(made, out, monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(media.subprocess, "Popen", recording_popen)
    with pytest.raises(media.MediaError, match=r"timed out after 0.05 s"):
        media.video_proxy(made["phone"], out, media.probe(made["phone"]), timeout=0.05)
    assert started[-1].returncode == -9


def test_tools_run_in_their_own_session_under_resource_limits(settings):
    settings.MEDIA_TOOL_MEMORY_BYTES = 3 * 1024**3
    limits = media._run(["/bin/cat", "/proc/self/limits"], 7).decode()
    rows = {line[:26].strip(): line[26:].split() for line in limits.splitlines()[1:]}
    assert rows["Max address space"][:2] == [str(3 * 1024**3)] * 2
    assert rows["Max cpu time"][:2] == [str(7 * media.THREADS)] * 2
    assert rows["Max file size"][:2] == [str(media.MAX_OUTPUT_BYTES)] * 2
    assert rows["Max core file size"][:2] == ["0", "0"]
    stat = media._run(["/bin/cat", "/proc/self/stat"], 5).decode()
    session = int(stat.rsplit(")", 1)[1].split()[3])
    assert session != os.getsid(0)


def test_the_memory_limit_is_enforced(made, settings):
    settings.MEDIA_TOOL_MEMORY_BYTES = 16 * 1024**2
    with pytest.raises(media.MediaError):
        media.probe(made["phone"])


def test_scratch_dir_is_removed_even_when_the_work_fails(settings, tmp_path):
    settings.MEDIA_SCRATCH_DIR = tmp_path / "scratch"
    with pytest.raises(RuntimeError), media.scratch_dir() as work:
        (work / "partial.mp4").write_bytes(b"x")
        seen = work
        raise RuntimeError("pipeline failed")
    assert seen.parent == tmp_path / "scratch"
    assert not seen.exists()


def test_scratch_dirs_are_fresh_each_time(settings, tmp_path):
    settings.MEDIA_SCRATCH_DIR = tmp_path
    with media.scratch_dir() as first, media.scratch_dir() as second:
        assert first != second and not any(first.iterdir())
