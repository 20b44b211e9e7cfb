"""The clip maker: a window of a live stream, cut from the relay's HLS ring into an MP4.

nginx-rtmp keeps each stream's last minutes as an HLS ring under the relay directory,
`<RELAY_DIR>/hls/<app>/<stream>/` (`hls_nested on`). With `hls_fragment_naming system` each
segment is named after the wall-clock time, in milliseconds, at which nginx opened it, and
`index.m3u8` lists the finished ones with their EXTINF durations. So the segments that overlap a
wall-clock window are known from the playlist alone (livefeeds.md, 6c).

A clip is the overlapping segments read at once (the relay's cleanup may unlink them at any
moment), each hashed, joined byte for byte (MPEG-TS segments of one stream are continuous) and
remuxed without re-encoding into a faststart MP4 by portal.media, the one ffmpeg caller. The
manifest says what was asked, what the ring held, the hash of every segment and of the MP4,
what ffprobe found and which tools did it. Nothing is ever dropped or repaired: a window the
ring no longer holds, a damaged segment or a restart of the stream inside the window refuses the
clip with a reason (evidence is never silently altered).

ffmpeg never reads the playlist or the relay's files: it would wait forever on a playlist a dead
source left behind, deaf to SIGTERM (livefeeds.md, trap 9). We parse the playlist and join the
segments ourselves, and ffmpeg gets one local file with its demuxer forced to mpegts, under
portal.media's fence (timeout, process-group kill, limits). The ring is transient (trap 11):
nginx deletes a stream's segments a minute or two after it ends, so clips are cut at once.

Pure logic over files: no models and no database; settings only for the limits and paths.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from portal import media

# The relay's applications (livefeeds.md, 6a): body cameras push to `live`, the relay manager
# remuxes CCTV into `cam`.
APPS = ("live", "cam")
STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# nginx-rtmp's `hls_fragment_naming system`: the opening time in ms since the epoch.
SEGMENT_NAME = re.compile(r"(\d{10,16})\.ts")
PLAYLIST = "index.m3u8"
TS_PACKET = 188
TS_SYNC = 0x47
# The MP4 may differ from the segments' listed durations by a frame or an audio packet; more
# than this means the remux lost or invented time, and the clip is refused.
DURATION_SLACK_SECONDS = 1.0
MANIFEST_KIND = "canvass.live_clip"
MANIFEST_VERSION = 1
NGINX_RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
_VERSION_TIMEOUT_SECONDS = 10


class ClipError(Exception):
    """The clip cannot be made; `code` is stable for callers, `message` is fit to show staff.

    Codes: bad_window, too_long, outside_relay, no_ring, no_access, not_in_ring, bad_playlist,
    bad_segment, discontinuity, remux_failed.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Window:
    """A wall-clock window in seconds since the epoch (the relay host's clock), as asked."""

    start: float
    end: float
    asked: str  # "last 60 s" or "from … to …", as the requester put it

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Segment:
    """One ring segment as the playlist lists it."""

    name: str
    start: float
    duration: float
    discontinuity: bool = False

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Clip:
    """The MP4 made and its manifest (the manifest holds its SHA-256 and size)."""

    path: Path
    manifest: dict[str, Any]

    @property
    def sha256(self) -> str:
        return self.manifest["clip"]["sha256"]

    @property
    def size(self) -> int:
        return self.manifest["clip"]["bytes"]


def max_seconds() -> int:
    """The longest window a clip may ask for (LIVE_CLIP_MAX_SECONDS)."""
    return int(getattr(settings, "LIVE_CLIP_MAX_SECONDS", 600))


def _checked(window: Window, limit: int | None) -> Window:
    limit = max_seconds() if limit is None else limit
    if not (math.isfinite(window.start) and math.isfinite(window.end)):
        raise ClipError("bad_window", "The window's start and end must be times.")
    if window.end <= window.start:
        raise ClipError("bad_window", "The window must end after it starts.")
    if window.seconds > limit:
        raise ClipError(
            "too_long",
            f"A clip may be at most {limit} s long; {window.seconds:.0f} s were asked for. "
            "Save it as several shorter clips.",
        )
    return window


def window_last(seconds: float, *, now: float | None = None, limit: int | None = None) -> Window:
    """The last `seconds` up to `now` (default: this moment on this host's clock)."""
    now = time.time() if now is None else now
    if not seconds > 0:
        raise ClipError("bad_window", "Ask for a positive number of seconds.")
    return _checked(Window(now - seconds, now, f"last {seconds:g} s"), limit)


def window_between(start: datetime, end: datetime, *, limit: int | None = None) -> Window:
    """From `start` to `end` (timezone-aware)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ClipError("bad_window", "Give the window's times with their time zone.")
    asked = f"from {_iso(start.timestamp())} to {_iso(end.timestamp())}"
    return _checked(Window(start.timestamp(), end.timestamp(), asked), limit)


def hls_root() -> Path:
    """Where nginx-rtmp writes the rings: `<RELAY_DIR>/hls`."""
    relay_dir = getattr(settings, "RELAY_DIR", None) or Path(settings.DATA_DIR) / "relay"
    return Path(relay_dir) / "hls"


def ring_dir(app: str, stream: str, *, root: Path | None = None) -> Path:
    """The ring of one stream, refused unless it lies inside the relay's HLS directory.

    The names are checked before they touch a path, and the resolved path again afterwards,
    so neither `..` nor a symlink planted in the ring can lead the clip maker elsewhere.
    """
    if app not in APPS or not STREAM_NAME.fullmatch(stream or ""):
        raise ClipError("outside_relay", f"No such relay stream: {app!r}/{stream!r}.")
    base = Path(root or hls_root()).resolve()
    ring = (base / app / stream).resolve()
    if not ring.is_relative_to(base) or ring == base:
        raise ClipError("outside_relay", "The stream's ring lies outside the relay directory.")
    return ring


def playlist_segments(text: str) -> list[Segment]:
    """The segments an nginx-rtmp playlist lists, with their wall-clock start times."""
    segments: list[Segment] = []
    duration: float | None = None
    discontinuity = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                raise ClipError("bad_playlist", f"Unreadable playlist line: {line[:80]}") from None
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line and not line.startswith("#"):
            match = SEGMENT_NAME.fullmatch(line)
            if match is None or duration is None or not duration >= 0:
                raise ClipError("bad_playlist", f"Unexpected playlist entry: {line[:80]}")
            segments.append(Segment(line, int(match[1]) / 1000, duration, discontinuity))
            duration, discontinuity = None, False
    return segments


def _read_playlist(ring: Path) -> str:
    try:
        return (ring / PLAYLIST).read_text("utf-8")
    except FileNotFoundError:
        raise ClipError(
            "no_ring",
            "The relay holds nothing for this stream: it is not live, or it ended more than a "
            "minute or two ago and the relay has cleaned its ring up.",
        ) from None
    except PermissionError:
        # nginx-rtmp makes the ring private to its own user (livefeeds.md, trap 4).
        raise ClipError(
            "no_access",
            "This worker may not read the relay's ring: clips must be cut by a worker running "
            "as the relay's (nginx's) user.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClipError("bad_playlist", f"The stream's playlist cannot be read: {exc}") from None


def overlapping(segments: list[Segment], window: Window) -> list[Segment]:
    """The segments that hold any part of the window, oldest first."""
    return sorted(
        (s for s in segments if s.end > window.start and s.start < window.end),
        key=lambda s: s.start,
    )


def _select(segments: list[Segment], window: Window) -> list[Segment]:
    use = overlapping(segments, window)
    if use:
        if any(s.discontinuity for s in use[1:]):
            raise ClipError(
                "discontinuity",
                "The stream restarted inside this window, so its two parts cannot be joined "
                "into one clip. Save the time before and after the restart as two clips.",
            )
        return use
    if not segments:
        raise ClipError("not_in_ring", "The relay's ring for this stream is empty.")
    held = f"{_iso(segments[0].start)} to {_iso(segments[-1].end)}"
    if window.end <= segments[0].start:
        reason = "That window has left the relay's ring (it keeps only the last minutes)."
    else:
        reason = "The relay holds nothing of that window yet."
    raise ClipError("not_in_ring", f"{reason} It now holds {held}.")


def _read_segment(ring: Path, segment: Segment) -> bytes:
    """The segment's bytes, checked to be whole MPEG-TS packets; never a symlink."""
    try:
        fd = os.open(ring / segment.name, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ClipError(
            "not_in_ring",
            f"Segment {segment.name} left the relay's ring while the clip was being read; "
            "the window is too old now.",
        ) from None
    except OSError as exc:
        raise ClipError("bad_segment", f"Segment {segment.name} cannot be read: {exc}") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    if not data:
        raise ClipError("bad_segment", f"Segment {segment.name} is empty; no clip was made.")
    # Every packet starts with the sync byte: a cheap test that the file is whole MPEG-TS.
    packets = data[::TS_PACKET]
    if len(data) % TS_PACKET or packets.count(TS_SYNC) != len(packets):
        raise ClipError(
            "bad_segment",
            f"Segment {segment.name} is damaged (not whole MPEG-TS packets); no clip was made, "
            "as a clip that skipped it would not be what the relay received.",
        )
    return data


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds")


def _span(start: float, end: float) -> dict[str, Any]:
    return {
        "start": _iso(start),
        "end": _iso(end),
        "start_unix": round(start, 3),
        "end_unix": round(end, 3),
        "seconds": round(end - start, 3),
    }


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _command(argv: list[str]) -> str:
    """The remux command with scratch paths reduced to file names."""
    words = [
        Path(a.removeprefix("file:")).name if a.startswith(("/", "file:")) else a for a in argv
    ]
    return " ".join(words)


def clip_make(
    *,
    app: str,
    stream: str,
    window: Window,
    out_dir: Path,
    context: dict[str, Any] | None = None,
    root: Path | None = None,
) -> Clip:
    """Cut `window` of one relay stream into `out_dir`/clip.mp4 and return it with its manifest.

    `context` joins the manifest as it is (camera or device, viewing session, requester): the
    caller's account of why the clip was made. Raises ClipError with a reason to show.
    """
    _checked(window, None)
    ring = ring_dir(app, stream, root=root)
    segments = _select(playlist_segments(_read_playlist(ring)), window)
    blobs = [(s, _read_segment(ring, s)) for s in segments]
    out_dir = Path(out_dir)
    joined = out_dir / "joined.ts"
    with open(joined, "wb") as f:
        for _, data in blobs:
            f.write(data)
    try:
        made = media.ts_to_mp4(joined, out_dir)
        probe = media.probe(made.path)
    except media.MediaError as exc:
        raise ClipError(
            "remux_failed", f"The segments could not be remuxed: {exc.reason}"
        ) from None
    finally:
        joined.unlink(missing_ok=True)
    covered = (segments[0].start, segments[-1].end)
    listed = sum(s.duration for s in segments)
    if probe.video_codec is None:
        raise ClipError("remux_failed", "The clip holds no video stream.")
    if probe.duration is None or abs(probe.duration - listed) > DURATION_SLACK_SECONDS:
        raise ClipError(
            "remux_failed",
            f"The MP4 lasts {probe.duration} s but its segments list {listed:.3f} s; refused.",
        )
    manifest = {
        "kind": MANIFEST_KIND,
        "version": MANIFEST_VERSION,
        "stream": {"app": app, "name": stream},
        **(context or {}),
        "window_requested": {**_span(window.start, window.end), "asked": window.asked},
        "window_covered": _span(*covered),
        "short_of_request": {
            "at_start_seconds": round(max(0.0, covered[0] - window.start), 3),
            "at_end_seconds": round(max(0.0, window.end - covered[1]), 3),
        },
        "segments": [
            {
                "name": s.name,
                "start": _iso(s.start),
                "duration": s.duration,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            for s, data in blobs
        ],
        "clip": {
            "name": made.name,
            "media_type": made.media_type,
            "bytes": made.path.stat().st_size,
            "sha256": _sha256_file(made.path),
            "command": _command(made.run.argv),
        },
        "ffprobe": {
            "format": probe.format_name,
            "duration": probe.duration,
            "video_codec": probe.video_codec,
            "audio_codec": probe.audio_codec,
            "width": probe.width,
            "height": probe.height,
            "streams": probe.streams,
        },
        "tools": {**made.run.versions, **relay_tool_versions()},
        "relay_host": socket.gethostname(),
        "clock": "the relay host's clock: segment names are the wall-clock time nginx opened them",
        "made_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "secondary": True,
    }
    return Clip(path=made.path, manifest=manifest)


def _quiet_run(argv: list[str]) -> str:
    """Stdout and stderr of a version query, or "" if the tool is missing or misbehaves."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(  # noqa: S603 - an argument list we built; no shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_VERSION_TIMEOUT_SECONDS,
            check=False,
        )
        return (done.stdout + done.stderr).decode("utf-8", "replace")
    return ""


@functools.cache
def relay_tool_versions() -> dict[str, str]:
    """nginx and nginx-rtmp as the installed binaries report them (asked once per process).

    The module's own version string has not moved since 1.1.4 upstream, so Debian's package
    version is given beside it when dpkg knows it. Missing tools are left out.
    """
    found: dict[str, str] = {}
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx and (m := re.search(r"nginx version: nginx/(\S+)", _quiet_run([nginx, "-v"]))):
        found["nginx"] = m[1]
    with contextlib.suppress(OSError):
        module = NGINX_RTMP_MODULE.read_bytes()
        stated = re.search(rb"<nginx_rtmp_version>([^<]{1,32})</nginx_rtmp_version>", module)
        if stated:
            found["nginx-rtmp"] = stated[1].decode("ascii", "replace")
    dpkg = shutil.which("dpkg-query")
    if dpkg and "nginx-rtmp" in found:
        package = _quiet_run([dpkg, "-W", "-f=${Version}", "libnginx-mod-rtmp"]).strip()
        if package and " " not in package:
            found["libnginx-mod-rtmp (Debian package)"] = package
    return found
