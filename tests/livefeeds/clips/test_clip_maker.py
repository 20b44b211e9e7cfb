"""The clip maker over a real HLS ring: what it selects, the MP4 it makes, and what it refuses."""

import hashlib
import json
import os
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from livefeeds import clips
from portal import media
from tests.livefeeds.clips.conftest import FPS, RING_SECONDS, lay_ring


def _top_level_boxes(path: Path) -> list[str]:
    boxes = []
    with open(path, "rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            boxes.append(kind.decode("latin-1"))
            f.seek(size - 8, os.SEEK_CUR)
    return boxes


def _frames(path: Path) -> dict[str, int]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return {s["codec_type"]: int(s["nb_read_frames"]) for s in json.loads(out)["streams"]}


def _decode_errors(path: Path) -> str:
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", str(path),
         "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return f"rc {done.returncode}: {done.stderr}" if done.returncode or done.stderr else ""


def _make(ring, window, out_dir, **kwargs) -> clips.Clip:
    out_dir.mkdir(exist_ok=True)
    return clips.clip_make(
        app=ring.app, stream=ring.stream, window=window, out_dir=out_dir, **kwargs
    )


def test_the_last_n_seconds_make_a_faststart_mp4_that_plays_every_frame(ring, tmp_path):
    window = clips.window_last(10, now=ring.end)
    clip = _make(ring, window, tmp_path / "out", context={"session": "s-1"})

    manifest = clip.manifest
    assert manifest["window_covered"]["start_unix"] == pytest.approx(window.start, abs=0.001)
    assert manifest["window_covered"]["end_unix"] == pytest.approx(window.end, abs=0.001)
    assert manifest["short_of_request"] == {"at_start_seconds": 0.0, "at_end_seconds": 0.0}
    assert [s["name"] for s in manifest["segments"]] == ring.names[-10:]
    assert manifest["session"] == "s-1"
    assert manifest["secondary"] is True
    # Faststart: the index (moov) comes before the media (mdat), so it plays as it downloads.
    boxes = _top_level_boxes(clip.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert _frames(clip.path)["video"] == 10 * FPS
    assert _decode_errors(clip.path) == ""
    assert manifest["ffprobe"]["video_codec"] == "h264"
    assert manifest["ffprobe"]["audio_codec"] == "aac"
    assert manifest["ffprobe"]["duration"] == pytest.approx(10, abs=0.1)
    assert "-c copy" in manifest["clip"]["command"]
    assert "+faststart" in manifest["clip"]["command"]
    assert str(tmp_path) not in json.dumps(manifest)  # no scratch paths in evidence


def test_the_manifest_hashes_are_those_of_the_ring_and_the_mp4(ring, tmp_path):
    clip = _make(ring, clips.window_last(5, now=ring.end), tmp_path / "out")
    for entry in clip.manifest["segments"]:
        data = (ring.path / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        assert entry["duration"] == 1.0
    assert clip.sha256 == hashlib.sha256(clip.path.read_bytes()).hexdigest()
    assert clip.size == clip.path.stat().st_size
    assert sorted(p.name for p in clip.path.parent.iterdir()) == ["clip.mp4"]  # joined.ts gone


def test_the_same_ring_and_window_give_the_same_hashes(ring, tmp_path):
    window = clips.window_last(8, now=ring.end - 3)
    first = _make(ring, window, tmp_path / "a")
    second = _make(ring, window, tmp_path / "b")
    assert first.manifest["segments"] == second.manifest["segments"]
    assert first.sha256 == second.sha256


def test_a_window_from_to_takes_every_segment_it_touches(ring, tmp_path):
    # 2.5 s to 6.5 s into the ring touches the segments starting at 2, 3, 4, 5 and 6 s.
    start = datetime.fromtimestamp(ring.start + 2.5, UTC)
    end = datetime.fromtimestamp(ring.start + 6.5, UTC)
    clip = _make(ring, clips.window_between(start, end), tmp_path / "out")
    assert [s["name"] for s in clip.manifest["segments"]] == ring.names[2:7]
    assert clip.manifest["window_requested"]["seconds"] == 4.0
    assert clip.manifest["window_covered"]["seconds"] == 5.0
    assert clip.manifest["window_requested"]["asked"].startswith("from 20")
    assert _frames(clip.path)["video"] == 5 * FPS


def test_a_window_reaching_past_the_ring_says_how_much_it_lacks(ring, tmp_path):
    # The newest segment is still being written: it is not listed until nginx closes it.
    clip = _make(ring, clips.window_last(10, now=ring.end + 0.6), tmp_path / "out")
    assert clip.manifest["short_of_request"] == {"at_start_seconds": 0.0, "at_end_seconds": 0.6}
    assert len(clip.manifest["segments"]) == 10


def test_tool_versions_are_those_the_binaries_report(ring, tmp_path):
    tools = _make(ring, clips.window_last(2, now=ring.end), tmp_path / "out").manifest["tools"]
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    assert ffmpeg.split()[2] == tools["ffmpeg"]
    nginx = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr
    assert nginx.strip().endswith(f"nginx/{tools['nginx']}")
    assert tools["nginx-rtmp"]  # as the module states it


def test_an_expired_window_is_refused_with_what_the_ring_holds(ring, tmp_path):
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(10, now=ring.start - 60), tmp_path / "out")
    assert refused.value.code == "not_in_ring"
    assert refused.value.message.startswith("That window has left the relay's ring")
    assert "It now holds 20" in refused.value.message
    assert not (tmp_path / "out" / "clip.mp4").exists()


def test_a_window_not_yet_in_the_ring_is_refused(ring, tmp_path):
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(5, now=ring.end + 30), tmp_path / "out")
    assert refused.value.code == "not_in_ring"
    assert refused.value.message.startswith("The relay holds nothing of that window yet.")


def test_a_stream_without_a_ring_is_refused(relay_dir, tmp_path):
    with pytest.raises(clips.ClipError) as refused:
        clips.clip_make(app="live", stream="gone", window=clips.window_last(5), out_dir=tmp_path)
    assert refused.value.code == "no_ring"
    assert "cleaned its ring up" in refused.value.message


def test_a_window_longer_than_the_limit_is_refused(settings):
    settings.LIVE_CLIP_MAX_SECONDS = 600
    with pytest.raises(clips.ClipError) as refused:
        clips.window_last(601)
    assert refused.value.code == "too_long"
    assert refused.value.message.startswith("A clip may be at most 600 s long; 601 s were asked")
    settings.LIVE_CLIP_MAX_SECONDS = 30
    with pytest.raises(clips.ClipError, match="at most 30 s"):
        clips.window_between(
            datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC)
        )


@pytest.mark.parametrize(
    ("start", "end"),
    [(10.0, 10.0), (10.0, 5.0), (float("nan"), 5.0)],
    ids=["empty", "backwards", "nan"],
)
def test_a_window_that_is_not_one_is_refused(start, end):
    with pytest.raises(clips.ClipError) as refused:
        clips.clip_make(
            app="live",
            stream="x",
            window=clips.Window(start, end, "?"),
            out_dir=Path("/nonexistent"),
        )
    assert refused.value.code == "bad_window"


def test_a_window_without_a_time_zone_is_refused():
    with pytest.raises(clips.ClipError, match="time zone"):
        clips.window_between(datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 10, 1))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[:-100],  # cut mid-packet
        lambda data: data[: 188 * 5] + b"\x00" + data[188 * 5 + 1 :],  # a packet's sync byte lost
    ],
    ids=["empty", "truncated", "garbled"],
)
def test_a_damaged_segment_refuses_the_clip_rather_than_skipping_it(ring, tmp_path, damage):
    victim = ring.path / ring.names[-3]
    victim.write_bytes(damage(victim.read_bytes()))
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(5, now=ring.end), tmp_path / "out")
    assert refused.value.code == "bad_segment"
    assert refused.value.message.startswith(f"Segment {ring.names[-3]} is ")
    # A window that does not reach the damaged segment is still fine.
    assert _make(ring, clips.window_last(2, now=ring.end), tmp_path / "ok").manifest["segments"]


def test_a_segment_cleaned_up_mid_read_refuses_the_clip(ring, tmp_path):
    (ring.path / ring.names[-5]).unlink()  # listed, but nginx's hls_cleanup got there first
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(8, now=ring.end), tmp_path / "out")
    assert refused.value.code == "not_in_ring"
    assert "left the relay's ring while the clip was being read" in refused.value.message


def test_a_restart_of_the_stream_inside_the_window_refuses_the_clip(ring, tmp_path):
    ring.write_playlist(discontinuity_before=ring.names[-4])
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(8, now=ring.end), tmp_path / "out")
    assert refused.value.code == "discontinuity"
    # Either side of the restart is a clip of its own.
    assert (
        len(
            _make(ring, clips.window_last(4, now=ring.end), tmp_path / "after").manifest["segments"]
        )
        == 4
    )


@pytest.mark.parametrize(
    ("app", "stream"),
    [
        ("live", "../../../etc"),
        ("live", "a/b"),
        ("hls", "bodycam01"),
        ("../live", "x"),
        ("live", ""),
    ],
)
def test_names_that_would_leave_the_relay_directory_are_refused(relay_dir, app, stream):
    with pytest.raises(clips.ClipError) as refused:
        clips.ring_dir(app, stream)
    assert refused.value.code == "outside_relay"


def test_a_ring_that_is_a_symlink_out_of_the_relay_directory_is_refused(
    encoded_segments, relay_dir, tmp_path
):
    elsewhere = lay_ring(encoded_segments[:5], tmp_path / "elsewhere")
    (relay_dir / "hls" / "live").mkdir(parents=True)
    (relay_dir / "hls" / "live" / "planted").symlink_to(elsewhere.path)
    with pytest.raises(clips.ClipError) as refused:
        clips.clip_make(
            app="live", stream="planted", window=clips.window_last(3, now=elsewhere.end),
            out_dir=tmp_path,
        )  # fmt: skip
    assert refused.value.code == "outside_relay"


def test_a_segment_that_is_a_symlink_is_not_followed(ring, tmp_path):
    secret = tmp_path / "secret.ts"
    secret.write_bytes((ring.path / ring.names[0]).read_bytes())
    target = ring.path / ring.names[-1]
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(2, now=ring.end), tmp_path / "out")
    assert refused.value.code == "bad_segment"


def test_a_playlist_entry_that_is_not_a_segment_name_is_refused(ring, tmp_path):
    playlist = ring.path / "index.m3u8"
    playlist.write_text(playlist.read_text().replace(ring.names[-1], "../../../etc/passwd"))
    with pytest.raises(clips.ClipError) as refused:
        _make(ring, clips.window_last(2, now=ring.end), tmp_path / "out")
    assert refused.value.code == "bad_playlist"


def test_the_playlist_is_read_as_nginx_rtmp_writes_it():
    text = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-TARGETDURATION:2\n"
        "#EXTINF:1.001,\n1733300000123.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:0.960,\n1733300031500.ts\n"
    )
    assert clips.playlist_segments(text) == [
        clips.Segment("1733300000123.ts", 1733300000.123, 1.001, False),
        clips.Segment("1733300031500.ts", 1733300031.5, 0.96, True),
    ]


def test_the_ring_holds_what_the_fixture_says(ring):
    assert len(ring.names) == RING_SECONDS


def test_the_remux_reads_its_input_only_as_mpeg_ts(ring, tmp_path):
    # A playlist or concat script passed off as the joined segments must not be followed.
    bait = tmp_path / "joined.ts"
    bait.write_text(f"#EXTM3U\n#EXTINF:1.0,\nfile:{ring.path / ring.names[0]}\n")
    with pytest.raises(media.MediaError):
        media.ts_to_mp4(bait, tmp_path)
    assert not (tmp_path / "clip.mp4").exists()
