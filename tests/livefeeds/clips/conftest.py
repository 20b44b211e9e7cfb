"""A live relay's HLS ring, laid out exactly as nginx-rtmp writes one.

ffmpeg encodes a test pattern with its running clock drawn in (lavfi testsrc) and a tone, H.264
with a keyframe every second and AAC, cut into 1 s MPEG-TS segments. The segments are then named
as nginx-rtmp's `hls_fragment_naming system` names them (the wall-clock milliseconds at which it
opened each) and listed in an `index.m3u8` in nginx-rtmp's own format, under
`<RELAY_DIR>/hls/<app>/<stream>/` (`hls_nested on`).
"""

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

FPS = 25
SEGMENT_SECONDS = 1
RING_SECONDS = 40


@dataclass
class Ring:
    """A ring on disk: its directory, segment names oldest first, and its wall-clock span."""

    path: Path
    app: str
    stream: str
    names: list[str]
    start: float
    end: float

    def restamp(self, *, ended_ago: float = 1.0) -> None:
        """Rename the segments as if the newest closed `ended_ago` seconds ago, so a test that
        presses "the last N seconds" after slow steps (a loaded machine) still finds them."""
        start_ms = int((time.time() - ended_ago - len(self.names) * SEGMENT_SECONDS) * 1000)
        names = [f"{start_ms + i * SEGMENT_SECONDS * 1000}.ts" for i in range(len(self.names))]
        staged = [self.path / f"{old}.restamp" for old in self.names]
        for old, tmp in zip(self.names, staged, strict=True):
            (self.path / old).rename(tmp)
        for tmp, new in zip(staged, names, strict=True):
            tmp.rename(self.path / new)
        self.names = names
        self.start = start_ms / 1000
        self.end = self.start + len(names) * SEGMENT_SECONDS
        self.write_playlist()

    def write_playlist(self, *, discontinuity_before: str | None = None) -> None:
        """index.m3u8 as nginx-rtmp's ngx_rtmp_hls_write_playlist() writes it."""
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-MEDIA-SEQUENCE:{len(self.names)}",
            f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
        ]
        for name in self.names:
            # nginx-rtmp marks its first segment as a discontinuity too (seen on 1.2.2).
            if name == discontinuity_before or name == self.names[0]:
                lines.append("#EXT-X-DISCONTINUITY")
            lines += [f"#EXTINF:{SEGMENT_SECONDS:.3f},", name]
        (self.path / "index.m3u8").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def encoded_segments(tmp_path_factory) -> list[Path]:
    """RING_SECONDS of 1 s segments, encoded once for the session."""
    out = tmp_path_factory.mktemp("encoded")
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(RING_SECONDS),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", str(FPS * SEGMENT_SECONDS), "-keyint_min", str(FPS * SEGMENT_SECONDS),
            "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k",
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
            "-hls_segment_filename", str(out / "seg%03d.ts"), str(out / "encoded.m3u8"),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    playlist = (out / "encoded.m3u8").read_text()
    durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", playlist)]
    assert durations == [float(SEGMENT_SECONDS)] * RING_SECONDS, durations
    return sorted(out.glob("seg*.ts"))


def lay_ring(
    segments: list[Path], root: Path, *, app="live", stream="bodycam01", ended_ago: float = 1.0
) -> Ring:
    """The segments as a relay ring whose newest segment closed `ended_ago` seconds ago."""
    ring = root / "hls" / app / stream
    ring.mkdir(parents=True)
    start_ms = int((time.time() - ended_ago - len(segments) * SEGMENT_SECONDS) * 1000)
    names = []
    for i, segment in enumerate(segments):
        name = f"{start_ms + i * SEGMENT_SECONDS * 1000}.ts"
        shutil.copyfile(segment, ring / name)
        names.append(name)
    laid = Ring(
        path=ring,
        app=app,
        stream=stream,
        names=names,
        start=start_ms / 1000,
        end=start_ms / 1000 + len(names) * SEGMENT_SECONDS,
    )
    laid.write_playlist()
    return laid


@pytest.fixture
def relay_dir(tmp_path, settings) -> Path:
    settings.RELAY_DIR = tmp_path / "relay"
    settings.MEDIA_SCRATCH_DIR = tmp_path / "scratch"
    return settings.RELAY_DIR


@pytest.fixture
def ring(encoded_segments, relay_dir) -> Ring:
    return lay_ring(encoded_segments, relay_dir)


# Chromium, as tests/e2e drives it (with its console and CSP watch), for the browser test here.
from tests.e2e.conftest import _no_console_errors, browser, phone  # noqa: E402, F401
