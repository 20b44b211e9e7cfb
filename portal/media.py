"""The one module that runs ffmpeg, ffprobe and Pillow on untrusted media.

Pure functions over local paths: no models, no storage, no database. The pipeline hands us a
path to the original and a scratch directory, and stores what we return.

Every tool run is fenced the same way (standards.md, "Untrusted media"): an argument list and
no shell; `-protocol_whitelist file` and an allowlist of demuxers on every input, so a playlist
or concat script inside an upload can neither reach the network nor open other files; a hard
wall-clock timeout that kills the whole process group; CPU, memory and file-size limits on the
child; no core dumps; a fresh session; two threads. Images are decoded by Pillow in-process, but
only the formats we list and only below a pixel limit checked from the header, before decoding.

Failures of the media itself raise MediaError with a short reason the pipeline can store
("a file that cannot be decoded is still evidence"). A missing tool raises OSError instead: that
is a broken deployment, not a bad file, and the task should fail and be retried.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from glob import escape as glob_escape
from pathlib import Path
from typing import IO, cast
from urllib.parse import unquote, urlsplit, urlunsplit

import puremagic
from django.conf import settings
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# Demuxers ffmpeg may use on an upload. Phone, camera, body-worn and CCTV exports all fit in
# these; anything else (hls, concat, image2 sequences, subtitles, exotic game formats) is
# refused before it is parsed. ffmpeg matches any one name of a multi-name demuxer, but we list
# them all so a reader sees what "mov" admits. Images never reach ffmpeg: Pillow reads them.
FORMAT_WHITELIST = ",".join(
    [
        "mov", "mp4", "m4a", "3gp", "3g2", "mj2",  # QuickTime / MP4: phones, most cameras
        "matroska", "webm",
        "avi", "asf",  # older CCTV and dash-cam exports (AVI, WMV)
        "mpegts", "mpeg",  # transport and program streams: DVRs, camcorders
        "flv",
        "h264", "hevc",  # raw elementary streams: many DVR "backup" exports
        "dhav",  # Dahua DVR exports (.dav), common in footage from businesses
        "wav", "mp3", "aac", "ogg", "flac", "amr", "caf",
    ]
)  # fmt: skip
THREADS = 2
PROXY_SHORT_SIDE = 720
POSTER_MAX_WIDTH = 1280
PREVIEW_MAX_SIDE = 1600
HLS_SEGMENT_SECONDS = 4
# Output files are small next to the input; this only stops a runaway writer filling the disk.
MAX_OUTPUT_BYTES = 64 * 1024**3
_REASON_CHARS = 500
# Pillow plugins we let open uploads: the still-image formats phones and cameras write (the JPEG
# opener also yields MPO, as many phone JPEGs are). Excludes e.g. EPS, rendered by Ghostscript.
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")
_SNIFF_BYTES = 8192


class MediaError(Exception):
    """The media could not be read or converted; `reason` is short and fit to show staff."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ToolRun:
    """The exact command that made a derivative and the versions of the tools it used."""

    argv: list[str]
    versions: dict[str, str]


@dataclass(frozen=True)
class Output:
    """One file made from an original; `name` is its server-chosen name, e.g. "proxy.mp4"."""

    path: Path
    media_type: str
    run: ToolRun
    name: str


@dataclass(frozen=True)
class Detected:
    """What a file is by its content; `run` is the ffprobe run, if one was needed."""

    media_type: str
    kind: str  # "video", "image", "audio" or "other"
    run: ToolRun | None = None
    why: str = ""  # for "other": why no type could be given, when there is more to say


@dataclass(frozen=True)
class Probe:
    """What ffprobe found, reduced to what the pipeline and the viewer need.

    width/height are the coded size of the main video stream; `rotation` is how far to turn it
    clockwise for display (0/90/180/270, the old `rotate` tag's sense: an upright iPhone clip
    is 90), so `display_size` swaps them for 90 and 270.
    """

    format_name: str
    duration: float | None
    streams: list[dict]
    width: int | None
    height: int | None
    rotation: int
    video_codec: str | None
    audio_codec: str | None
    creation_time: datetime | None
    location: tuple[float, float] | None
    make: str | None
    model: str | None
    kind: str
    tags: dict[str, str] = field(default_factory=dict)
    run: ToolRun | None = None

    @property
    def display_size(self) -> tuple[int, int] | None:
        if self.width is None or self.height is None:
            return None
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class TimeReading:
    """One capture time an image states, and the tag it came from.

    `value` is timezone-aware (UTC) when the file also says its offset (or the tag is UTC by
    definition, as GPS time is); otherwise naive, meaning "wall-clock time, offset unknown".
    """

    tag: str  # e.g. "DateTimeOriginal"
    value: datetime


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header and EXIF say.

    `capture_times` are the capture times the EXIF states, best first: DateTimeOriginal,
    DateTimeDigitized, DateTime (each with its offset and sub-seconds when present), then the
    GPS date and time stamp; the caller decides which to believe and how far.
    `capture_time` is the first of them. `orientation` is the EXIF value (1-8); width/height
    are as stored, before that orientation is applied.
    """

    format: str
    width: int
    height: int
    capture_times: tuple[TimeReading, ...]
    location: tuple[float, float] | None
    make: str | None
    model: str | None
    orientation: int

    @property
    def capture_time(self) -> datetime | None:
        return self.capture_times[0].value if self.capture_times else None


# --- running tools ---------------------------------------------------------------------


def _settings():
    """Django settings, read at call time so this module loads (and tests run) without setup."""

    return settings


@functools.cache
def _tool(name: str) -> str:
    """The absolute path of ffmpeg or ffprobe, so PATH tricks cannot swap the binary later."""
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed")
    return path


_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _limit_child(memory_bytes: int, cpu_seconds: int):
    """A preexec_fn that caps the child's memory, CPU time and file size, and its core dumps."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # If the worker is killed (SIGKILL, OOM), the tool dies with it instead of running on
        # as an orphan while the redelivered task starts the same work again.
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the child and anything it started, then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


# "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1...] " in front of ffmpeg's messages: noise for a reason.
_LOG_PREFIX = re.compile(r"\[[^\]\n]* @ 0x[0-9a-f]+\] ")


def _reason(what: str, stderr: bytes, argv: list[str]) -> str:
    """The last lines of stderr, with our scratch paths shortened to file names."""
    text = _LOG_PREFIX.sub("", stderr.decode("utf-8", "replace"))
    for arg in argv:
        if arg.startswith(("file:", "/")):
            text = text.replace(arg, Path(arg.removeprefix("file:")).name)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tail = " / ".join(lines[-3:]) or "no error message"
    return f"{what}: {tail}"[:_REASON_CHARS]


@contextlib.contextmanager
def _piped_source(argv: list[str], source: bytes) -> Iterator[tuple[list[str], tuple[int, ...]]]:
    """The argv with SOURCE_PIPE replaced by `pipe:<fd>` of a pipe holding `source` (a few
    hundred bytes: the pipe's buffer takes them all before the tool starts), and the fd to pass
    on; the parent's copy is closed once the child has it. Without a source, argv as it is."""
    if not source:
        yield argv, ()
        return
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, source)
    finally:
        os.close(write_end)
    try:
        yield [f"pipe:{read_end}" if a == SOURCE_PIPE else a for a in argv], (read_end,)
    finally:
        os.close(read_end)


def _run(
    argv: list[str], timeout: float | None = None, *, what: str = "", source: bytes = b""
) -> bytes:
    """Run one tool under the limits above and return its stdout; raise MediaError on failure.

    `timeout` defaults to MEDIA_TOOL_TIMEOUT_SECONDS. The CPU limit is the timeout times our
    thread count: ffmpeg's threads add up CPU time faster than the wall clock runs, so a limit
    equal to the timeout would kill honest long transcodes at half their allowed time.
    """
    settings = _settings()
    timeout = settings.MEDIA_TOOL_TIMEOUT_SECONDS if timeout is None else timeout
    what = what or f"{Path(argv[0]).name} failed"
    with _piped_source(argv, source) as (argv, fds):
        proc = subprocess.Popen(  # noqa: S603 - an argument list we built; no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=fds,
            preexec_fn=_limit_child(
                settings.MEDIA_TOOL_MEMORY_BYTES, max(1, math.ceil(timeout * THREADS))
            ),
        )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise MediaError(f"{what}: timed out after {timeout:g} s") from None
    except BaseException:
        # Interrupted (e.g. a Celery soft time limit): never leave the tool running behind us.
        _kill_group(proc)
        raise
    if proc.returncode:
        raise MediaError(_reason(_exit_what(what, proc.returncode), stderr, argv))
    return stdout


def _exit_what(what: str, returncode: int) -> str:
    """Say which signal stopped the tool: SIGXCPU, SIGXFSZ or SIGKILL mean a limit did."""
    if returncode > 0:
        return what
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"{what} (stopped by {name})"


def _version_line(tool: str) -> str:
    first = _run([_tool(tool), "-hide_banner", "-version"], 30).decode().splitlines()[0]
    return first.split()[2] if first.startswith(f"{tool} version") else first


@functools.cache
def _cached_versions() -> tuple[tuple[str, str], ...]:
    return (
        ("ffmpeg", _version_line("ffmpeg")),
        ("ffprobe", _version_line("ffprobe")),
        ("Pillow", Image.__version__),
    )


def tool_versions() -> dict[str, str]:
    """Versions of ffmpeg, ffprobe and Pillow, asked once per process."""
    return dict(_cached_versions())


def _tool_run(argv: list[str]) -> ToolRun:
    return ToolRun(argv=list(argv), versions=tool_versions())


def _input(path: Path, *, seek: float | None = None) -> list[str]:
    """The options that fence one input, then the input itself.

    The `file:` prefix makes ffmpeg treat the path as a path even if it contained a colon.
    """
    fence = ["-protocol_whitelist", "file", "-format_whitelist", FORMAT_WHITELIST]
    if seek:
        fence += ["-ss", f"{seek:.3f}"]
    return [*fence, "-i", f"file:{Path(path).resolve()}"]


def _ffmpeg(*args: str) -> list[str]:
    return [_tool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


def synthesize(*args: str, timeout: float = 300) -> None:
    """Run ffmpeg on media it makes itself (lavfi test patterns, tones) and on files made that
    way: demo data and tests. A file from outside goes through the fenced functions instead."""
    _run(_ffmpeg(*args), timeout=timeout, what="ffmpeg (synthetic media) failed")


def synthesize_live(*args: str) -> subprocess.Popen:
    """Start ffmpeg pushing media it makes itself (a lavfi test pattern) to a live relay, in
    the background: the body-camera simulator and the relay's tests. The caller stops it
    (live_stop); it dies with the process that started it."""
    return subprocess.Popen(  # noqa: S603 - an argument list we built; no shell
        _ffmpeg(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL),
    )


def live_stop(proc: subprocess.Popen, timeout: float = 5) -> int:
    """Stop a synthesize_live ffmpeg (SIGTERM, then SIGKILL); its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
    if proc.stderr is not None:
        proc.stderr.close()
    return proc.wait()


@contextlib.contextmanager
def scratch_dir(prefix: str = "media-") -> Iterator[Path]:
    """A fresh private directory under MEDIA_SCRATCH_DIR, removed afterwards whatever happens."""
    base = Path(_settings().MEDIA_SCRATCH_DIR)
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def scratch_dirs_remove(prefix: str) -> int:
    """Remove scratch directories left under `prefix` by a run whose worker was killed (a
    killed process cleans nothing up); the caller knows no live run uses that prefix."""
    base = Path(_settings().MEDIA_SCRATCH_DIR)
    stale = [p for p in base.glob(f"{glob_escape(prefix)}*") if p.is_dir()] if base.is_dir() else []
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


# --- what a file is ----------------------------------------------------------------------

# The WHATWG MIME-sniffing patterns for HTML. A page must never pass for media, and puremagic
# only knows pages that start exactly with "<!DOCTYPE html" or "<html".
_HTML_START = re.compile(
    rb"\A[\t\n\x0c\r ]*<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style"
    rb"|title|b|body|br|p|!--)[ >]",
    re.IGNORECASE,
)
# Container formats that may hold audio, video or both: ffprobe decides which.
_AV_MAGIC = ("application/ogg", "application/x-matroska", "application/vnd.rn-realmedia")
# Image types we still call "other": SVG is a script-capable document, not a picture.
_NOT_IMAGES = ("image/svg+xml",)
# ffprobe format names -> the media type we record; mov/matroska/ogg are refined below.
_FORMAT_TYPES = {
    "avi": "video/x-msvideo",
    "asf": "video/x-ms-asf",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "flv": "video/x-flv",
    "h264": "video/h264",
    "hevc": "video/h265",
    "dhav": "video/x-dhav",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "amr": "audio/amr",
    "caf": "audio/x-caf",
}


def _sniff(head: bytes) -> str | None:
    """The media type the first bytes announce, or None if they announce nothing we know."""
    if _HTML_START.match(head):
        return "text/html"
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        # PureError: no known signature. ValueError: no bytes at all.
        return None
    return next((m.mime_type for m in matches if m.mime_type), None)


def _av_media_type(probe: Probe, head: bytes) -> str:
    """A canonical media type for an audio/video file from its ffprobe format and streams."""
    family = probe.format_name.split(",")[0]
    audio_only = probe.kind == "audio"
    if family == "mov":
        brand = probe.tags.get("major_brand", "").strip()
        if brand == "qt":
            return "video/quicktime"
        if brand.startswith("3g"):
            return "audio/3gpp" if audio_only else "video/3gpp"
        return "audio/mp4" if audio_only else "video/mp4"
    if family == "matroska":
        webm = b"webm" in head[:64]  # the EBML DocType sits in the first few bytes
        return f"{'audio' if audio_only else 'video'}/{'webm' if webm else 'x-matroska'}"
    if family == "ogg":
        return "audio/ogg" if audio_only else "video/ogg"
    return _FORMAT_TYPES.get(family, "application/octet-stream")


_UNTYPED = "No image, audio or video format could be recognised in the content."


def detect(path: Path) -> Detected:
    """What the file is by its content: magic bytes first, then ffprobe for audio and video.

    Never the extension. Images are decided by their magic bytes alone. A file whose bytes say
    audio/video but which ffprobe cannot read is still reported as that type, so the pipeline
    can keep it as unplayable evidence with probe()'s reason.
    """
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if not head:
        return Detected("application/x-empty", "other", why="The file is empty (0 bytes).")
    sniffed = _sniff(head)
    if sniffed and sniffed.startswith("image/") and sniffed not in _NOT_IMAGES:
        return Detected(sniffed, "image")
    if sniffed and not sniffed.startswith(("video/", "audio/")) and sniffed not in _AV_MAGIC:
        return Detected(sniffed, "other")
    try:
        found = probe(path)
    except MediaError:
        if sniffed is None:
            return Detected("application/octet-stream", "other", why=_UNTYPED)
        return Detected(sniffed, "audio" if sniffed.startswith("audio/") else "video")
    return Detected(_av_media_type(found, head), found.kind, found.run)


# --- probing audio and video ----------------------------------------------------------------

_ISO6709 = re.compile(r"([+-][\d.]+)([+-][\d.]+)(?:[+-][\d.]+)?(?:CRS.*)?/?\s*$")


def _iso6709_part(text: str, degree_digits: int) -> float:
    """One ISO 6709 coordinate: ±DD.D, ±DDMM.M or ±DDMMSS.S (DDD for longitude)."""
    sign = -1.0 if text[0] == "-" else 1.0
    digits = text[1:]
    whole = len(digits.split(".")[0])
    value = float(digits)
    if whole <= degree_digits:
        return sign * value
    if whole == degree_digits + 2:
        degrees, minutes = divmod(value, 100)
        return sign * (degrees + minutes / 60)
    if whole == degree_digits + 4:
        degrees, rest = divmod(value, 10000)
        minutes, seconds = divmod(rest, 100)
        return sign * (degrees + minutes / 60 + seconds / 3600)
    raise ValueError(f"not an ISO 6709 coordinate: {text}")


def _valid_point(lat: float, lon: float) -> tuple[float, float] | None:
    """The point if it is on the globe; (0, 0) is what devices without a fix write."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


def parse_iso6709(value: str) -> tuple[float, float] | None:
    """(lat, lon) from an ISO 6709 string such as "+40.7128-074.0060+010.000/"; else None."""
    match = _ISO6709.match(value.strip())
    if not match:
        return None
    try:
        lat = _iso6709_part(match.group(1), 2)
        lon = _iso6709_part(match.group(2), 3)
    except ValueError:
        return None
    return _valid_point(lat, lon)


def _parse_utc(value: str | None, *, assume_utc: bool) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 tag; junk and pre-1971 placeholders are None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            if not assume_utc:
                return None
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.year > 1970 else None


def _first_tag(tags: dict[str, str], *names: str) -> str | None:
    return next((tags[n].strip() for n in names if tags.get(n, "").strip()), None)


def _fps(stream: dict) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key, "0/0")).partition("/")
        with contextlib.suppress(ValueError, ZeroDivisionError):
            fps = float(num) / float(den or 1)
            if fps > 0:
                return round(fps, 3)
    return None


def _rotation(stream: dict) -> int:
    """Clockwise display rotation from the display matrix (ffprobe reports it anticlockwise)."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(-round(float(side["rotation"]) / 90) * 90) % 360
    with contextlib.suppress(ValueError):
        return int(round(float(stream.get("tags", {}).get("rotate", 0)) / 90) * 90) % 360
    return 0


def _is_cover_art(stream: dict) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def _is_picture(stream: dict) -> bool:
    """A real video stream, not cover art attached to an audio file."""
    return stream.get("codec_type") == "video" and not _is_cover_art(stream)


def _summary(stream: dict) -> dict:
    def as_int(key):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return int(stream[key])
        return None

    return {
        "index": stream.get("index"),
        # Cover art is a one-frame "video" stream in ffmpeg; it is not a video to us.
        "type": "attached_pic" if _is_cover_art(stream) else stream.get("codec_type"),
        "codec": stream.get("codec_name"),
        "profile": stream.get("profile"),
        "pix_fmt": stream.get("pix_fmt"),
        "width": as_int("width"),
        "height": as_int("height"),
        "fps": _fps(stream) if _is_picture(stream) else None,
        "sample_rate": as_int("sample_rate"),
        "channels": as_int("channels"),
    }


def _ffprobe_argv(path: Path) -> list[str]:
    # ffprobe has no -nostdin; _run gives it /dev/null as stdin instead.
    return [
        _tool("ffprobe"), "-hide_banner", "-loglevel", "error",
        "-print_format", "json", "-show_format", "-show_streams",
        *_input(path),
    ]  # fmt: skip


def probe(path: Path, *, timeout: float | None = None) -> Probe:
    """ffprobe the file; raise MediaError if it cannot be read or holds no audio or video."""
    argv = _ffprobe_argv(path)
    raw = _run(argv, timeout, what="ffprobe could not read the file")
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        raise MediaError("ffprobe gave unreadable output") from None
    return _probe_from(data, _tool_run(argv))


def _probe_from(data: dict, run: ToolRun) -> Probe:
    fmt = data.get("format") or {}
    raw_streams = data.get("streams") or []
    video = next((s for s in raw_streams if _is_picture(s)), None)
    audio = next((s for s in raw_streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise MediaError("the file holds no audio or video stream")
    tags = {str(k): str(v) for k, v in (fmt.get("tags") or {}).items()}
    summary = _summary(video) if video else {}
    duration = None
    with contextlib.suppress(KeyError, TypeError, ValueError):
        duration = float(fmt["duration"])
    return Probe(
        format_name=fmt.get("format_name", ""),
        duration=duration,
        streams=[_summary(s) for s in raw_streams],
        width=summary.get("width"),
        height=summary.get("height"),
        rotation=_rotation(video) if video else 0,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        creation_time=_creation_time(tags, video or audio),
        location=_video_location(tags),
        make=_first_tag(tags, "com.apple.quicktime.make", "make", "com.android.manufacturer"),
        model=_first_tag(tags, "com.apple.quicktime.model", "model", "com.android.model"),
        kind="video" if video else "audio",
        tags=tags,
        run=run,
    )


def _creation_time(tags: dict[str, str], stream: dict | None) -> datetime | None:
    """When recording started, in UTC.

    Apple's creationdate carries the camera's own offset, so it wins when it has one; the
    QuickTime creation_time is UTC by definition; the stream's is a last resort.
    """
    return (
        _parse_utc(tags.get("com.apple.quicktime.creationdate"), assume_utc=False)
        or _parse_utc(tags.get("creation_time"), assume_utc=True)
        or _parse_utc(((stream or {}).get("tags") or {}).get("creation_time"), assume_utc=True)
    )


def _video_location(tags: dict[str, str]) -> tuple[float, float] | None:
    for name in ("com.apple.quicktime.location.ISO6709", "location", "location-eng"):
        if tags.get(name) and (point := parse_iso6709(tags[name])):
            return point
    return None


def check_limits(
    probe: Probe, *, max_duration: float, max_pixels: int, max_streams: int
) -> str | None:
    """Why the file is too big to process, or None if it is within every limit."""
    if probe.duration is not None and probe.duration > max_duration:
        return f"It lasts {probe.duration:.0f} s; the limit is {max_duration:.0f} s."
    pixels = max(((s["width"] or 0) * (s["height"] or 0) for s in probe.streams), default=0)
    if pixels > max_pixels:
        return f"Its frames have {pixels} pixels; the limit is {max_pixels}."
    if len(probe.streams) > max_streams:
        return f"It has {len(probe.streams)} streams; the limit is {max_streams}."
    return None


def hls_copy_ok(probe: Probe) -> bool:
    """Whether the source can be cut into HLS by stream copy and still play in browsers.

    H.264 8-bit 4:2:0 with AAC or no audio, and no display rotation: MPEG-TS segments cannot
    carry a rotation, so a rotated clip copied would play sideways.
    """
    video = next((s for s in probe.streams if s["type"] == "video"), None)
    return (
        video is not None
        and probe.video_codec == "h264"
        and video["pix_fmt"] in ("yuv420p", "yuvj420p")
        and probe.audio_codec in ("aac", None)
        and probe.rotation == 0
    )


# --- making derivatives of audio and video ---------------------------------------------


def _gop(probe: Probe) -> int:
    """Frames between keyframes: two seconds, so 4 s HLS segments cut evenly."""
    video = next((s for s in probe.streams if s["type"] == "video"), None)
    fps = (video or {}).get("fps") or 30
    return max(2, round(2 * min(fps, 120)))


# Scale so the short side is at most 720 (never up), rounded down to even sizes for 4:2:0.
# ffmpeg has already turned the picture upright (autorotate) when this filter sees it.
_SCALE_FACTOR = f"min(1\\,{PROXY_SHORT_SIDE}/min(iw\\,ih))"  # "\\," escapes the comma for ffmpeg
_PROXY_SCALE = f"scale=w=trunc({_SCALE_FACTOR}*iw/2)*2:h=trunc({_SCALE_FACTOR}*ih/2)*2"


def _h264_aac(probe: Probe) -> list[str]:
    """The encoder settings shared by the proxy and by HLS made without copying."""
    return [
        "-vf", f"{_PROXY_SCALE},format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high",
        "-g", str(_gop(probe)), "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-threads", str(THREADS),
    ]  # fmt: skip


# First video and (if any) first audio; no subtitles, data, chapters or metadata. Derivatives
# go beyond the evidence unit, and GPS and device tags stay on the original only.
_AV_MAP = ["-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1",
           "-map_chapters", "-1"]  # fmt: skip


def _output(path: Path, media_type: str, argv: list[str]) -> Output:
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaError(f"ffmpeg finished but wrote no {path.name}")
    return Output(path=path, media_type=media_type, run=_tool_run(argv), name=path.name)


def _require_video(probe: Probe) -> None:
    if probe.video_codec is None:
        raise MediaError("the file holds no video stream")


def video_proxy(src: Path, out_dir: Path, probe: Probe, *, timeout: float | None = None) -> Output:
    """A browser-playable MP4: H.264 at most 720p upright, AAC, moov first, 2 s GOP."""
    _require_video(probe)
    target = Path(out_dir) / "proxy.mp4"
    argv = _ffmpeg(
        "-threads", str(THREADS), *_input(src), *_AV_MAP, *_h264_aac(probe),
        "-movflags", "+faststart", str(target),
    )  # fmt: skip
    _run(argv, timeout, what="ffmpeg could not make the proxy")
    return _output(target, "video/mp4", argv)


def hls(
    src: Path, out_dir: Path, probe: Probe, *, copy: bool, timeout: float | None = None
) -> list[Output]:
    """A VOD HLS playlist "index.m3u8" and its ~4 s MPEG-TS segments "seg_00001.ts", ...

    copy=True cuts `src` by stream copy; the caller vouches it is H.264/AAC (see hls_copy_ok).
    copy=False encodes `src` like the proxy, unless its probe shows it is already fit to copy,
    as the proxy itself is: then copying gives the same pictures at a fraction of the cost.
    The playlist names its segments relative to itself. Returns the playlist first.
    """
    _require_video(probe)
    out_dir = Path(out_dir)
    codecs = ["-c", "copy"] if copy or hls_copy_ok(probe) else _h264_aac(probe)
    playlist = out_dir / "index.m3u8"
    argv = _ffmpeg(
        "-threads", str(THREADS), *_input(src), *_AV_MAP, *codecs,
        "-f", "hls", "-hls_time", str(HLS_SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-start_number", "1", "-hls_segment_filename", str(out_dir / "seg_%05d.ts"),
        str(playlist),
    )  # fmt: skip
    _run(argv, timeout, what="ffmpeg could not make the HLS stream")
    segments = sorted(out_dir.glob("seg_*.ts"))
    if not segments:
        raise MediaError("ffmpeg finished but wrote no HLS segment")
    return [
        _output(playlist, "application/vnd.apple.mpegurl", argv),
        *(_output(s, "video/mp2t", argv) for s in segments),
    ]


def _poster_argv(src: Path, target: Path, at: float) -> list[str]:
    return _ffmpeg(
        "-threads", str(THREADS), *_input(src, seek=at), "-map", "0:v:0", "-frames:v", "1",
        "-vf", f"scale=w=min({POSTER_MAX_WIDTH}\\,iw):h=-2", "-q:v", "3",
        "-map_metadata", "-1", "-f", "image2", "-update", "1", str(target),
    )  # fmt: skip


def poster(src: Path, out_dir: Path, probe: Probe, *, timeout: float | None = None) -> Output:
    """A JPEG still from 10% into the clip (the first frame if that fails), at most 1280 wide."""
    _require_video(probe)
    target = Path(out_dir) / "poster.jpg"
    at = probe.duration * 0.1 if probe.duration else 0.0
    argv = _poster_argv(src, target, at)
    _run(argv, timeout, what="ffmpeg could not make the poster")
    if at and not target.exists():
        # A wrong duration can put 10% past the last frame; the first frame is always there.
        argv = _poster_argv(src, target, 0.0)
        _run(argv, timeout, what="ffmpeg could not make the poster")
    return _output(target, "image/jpeg", argv)


def audio_proxy(src: Path, out_dir: Path, *, timeout: float | None = None) -> Output:
    """A browser-playable AAC copy of the first audio stream, in .m4a, metadata stripped."""
    target = Path(out_dir) / "audio.m4a"
    argv = _ffmpeg(
        "-threads", str(THREADS), *_input(src), "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", str(target),
    )  # fmt: skip
    _run(argv, timeout, what="ffmpeg could not make the audio copy")
    return _output(target, "audio/mp4", argv)


def ts_to_mp4(src: Path, out_dir: Path, *, timeout: float | None = None) -> Output:
    """An MPEG-TS file (e.g. live HLS segments joined byte for byte) as an MP4, by stream copy.

    Nothing is re-encoded and no metadata is stripped: the MP4 carries exactly the packets of
    the segments, moov first so it plays while it downloads. The demuxer is forced to mpegts,
    so the joined bytes are never read as anything else (a playlist, a concat script).
    """
    target = Path(out_dir) / "clip.mp4"
    argv = _ffmpeg(
        "-threads", str(THREADS), "-f", "mpegts", *_input(src),
        "-map", "0:v", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart", str(target),
    )  # fmt: skip
    _run(argv, timeout, what="ffmpeg could not remux the clip")
    return _output(target, "video/mp4", argv)


# --- images (Pillow) ---------------------------------------------------------------------


@contextlib.contextmanager
def _open_image(path: Path, max_pixels: int | None) -> Iterator[Image.Image]:
    """Open an image for reading, refusing unknown formats and pixel floods before decoding.

    Image.open reads only the header, so the size check costs nothing however large the image
    claims to be. Pillow's own DecompressionBombError (at twice its default limit) is mapped too.
    """
    limit = _settings().MEDIA_MAX_PIXELS if max_pixels is None else max_pixels
    try:
        with Image.open(path, formats=_PILLOW_FORMATS) as img:
            width, height = img.size
            if width * height > limit:
                raise MediaError(f"The image has {width}x{height} pixels; the limit is {limit}.")
            yield img
    except Image.DecompressionBombError as exc:
        raise MediaError(f"The image is too large to open safely: {exc}") from None
    except UnidentifiedImageError:
        raise MediaError("Pillow could not read the image (unsupported or damaged)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow reports truncated and malformed files as OSError, SyntaxError or ValueError.
        raise MediaError(f"Pillow could not decode the image: {exc}") from None


def _gps_degrees(dms, ref) -> float:
    degrees, minutes, seconds = (float(x) for x in dms)
    value = degrees + minutes / 60 + seconds / 3600
    return -value if str(ref).strip().upper() in ("S", "W") else value


def _exif_location(gps: dict) -> tuple[float, float] | None:
    """(lat, lon) in decimal degrees from an EXIF GPS IFD, or None if absent or malformed."""
    try:
        lat = _gps_degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef))
        lon = _gps_degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return _valid_point(lat, lon)


# The EXIF time tags in the order we trust them, each with its sub-second and offset tags.
# DateTimeOriginal is when the shutter fired; DateTimeDigitized when it was stored (the same
# for a camera, the scan for a scanner); DateTime when the file was last changed, by any
# software that rewrote it. DateTime lives in IFD0, the others in the Exif IFD.
_EXIF_TIME_TAGS = (
    ("DateTimeOriginal", "SubsecTimeOriginal", "OffsetTimeOriginal"),
    ("DateTimeDigitized", "SubsecTimeDigitized", "OffsetTimeDigitized"),
    ("DateTime", "SubsecTime", "OffsetTime"),
)


def _exif_text(*ifds: Mapping, tag: str) -> str:
    number = ExifTags.Base[tag].value
    for ifd in ifds:
        if number in ifd:
            return str(ifd[number]).strip("\x00 ")
    return ""


def _exif_time(exif_ifd: Mapping, ifd0: Mapping, names: tuple[str, str, str]) -> datetime | None:
    """One EXIF time (+ its sub-seconds), in UTC if its offset tag says the zone."""
    date_tag, subsec_tag, offset_tag = names
    raw = _exif_text(exif_ifd, ifd0, tag=date_tag)
    try:
        taken = datetime.strptime(raw, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    subsec = _exif_text(exif_ifd, ifd0, tag=subsec_tag)
    if subsec.isdigit() and len(subsec) <= 9:
        taken += timedelta(seconds=float(f"0.{subsec}"))
    offset = re.fullmatch(r"([+-])(\d\d):(\d\d)", _exif_text(exif_ifd, ifd0, tag=offset_tag))
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        try:
            zone = timezone(
                sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
            )
            taken = taken.replace(tzinfo=zone).astimezone(UTC)
        except (ValueError, OverflowError):
            # An impossible offset ("+25:00") or a date at the edge of the calendar: no time.
            return None
    return taken if taken.year > 1970 else None


def _gps_time(gps: dict) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp: UTC by definition (the time of the last satellite fix)."""
    try:
        day = datetime.strptime(
            str(gps[ExifTags.GPS.GPSDateStamp]).strip("\x00 "), "%Y:%m:%d"
        ).replace(tzinfo=UTC)
        hours, minutes, seconds = (float(x) for x in gps[ExifTags.GPS.GPSTimeStamp])
        if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
            return None
        taken = day + timedelta(hours=hours, minutes=minutes, seconds=seconds)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return taken if taken.year > 1970 else None


def _capture_times(exif: Image.Exif, exif_ifd: dict, gps: dict) -> tuple[TimeReading, ...]:
    readings = []
    for names in _EXIF_TIME_TAGS:
        if (value := _exif_time(exif_ifd, exif, names)) is not None:
            readings.append(TimeReading(names[0], value))
    if (value := _gps_time(gps)) is not None:
        readings.append(TimeReading("GPSDateStamp+GPSTimeStamp", value))
    return tuple(readings)


def _text(value) -> str | None:
    text = str(value).strip("\x00 ") if value is not None else ""
    return text or None


def image_info(path: Path, *, max_pixels: int | None = None) -> ImageInfo:
    """Size, capture time, GPS position, make, model and orientation from an image's EXIF."""
    with _open_image(path, max_pixels) as img:
        exif = img.getexif()
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        orientation = exif.get(ExifTags.Base.Orientation, 1)
        return ImageInfo(
            format=img.format or "",
            width=img.width,
            height=img.height,
            capture_times=_capture_times(exif, exif_ifd, gps),
            location=_exif_location(gps),
            make=_text(exif.get(ExifTags.Base.Make)),
            model=_text(exif.get(ExifTags.Base.Model)),
            orientation=orientation if orientation in range(1, 9) else 1,
        )


def _flatten(img: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency goes onto white, other modes are converted."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def image_preview(path: Path, out_dir: Path, *, max_pixels: int | None = None) -> Output:
    """A JPEG at most 1600 px on its long side, turned upright, with no metadata at all."""
    target = Path(out_dir) / "preview.jpg"
    with _open_image(path, max_pixels) as img:
        # JPEG can decode straight at 1/2, 1/4 or 1/8 size: far less work for phone photos.
        img.draft("RGB", (PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
        upright = ImageOps.exif_transpose(img)
        upright.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
        rgb = _flatten(upright)
    # A fresh image carries no info dict, so no EXIF, XMP, ICC or comment can ride along.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    clean.save(target, "JPEG", quality=85, optimize=True)
    argv = [
        "Pillow", "image_preview", f"--max-side={PREVIEW_MAX_SIDE}", "--exif-transpose",
        "--strip-metadata", "--format=JPEG", "--quality=85",
    ]  # fmt: skip
    return Output(path=target, media_type="image/jpeg", run=_tool_run(argv), name=target.name)


# --- live cameras (RTSP) -----------------------------------------------------------------
#
# A camera owner's stream is untrusted input too, and reaching it needs the network, so these
# runs use their own fence: RTSP interleaved over TCP only (no UDP ports to open, and it passes
# home routers), the rtsp demuxer only, ffmpeg's socket timeout, and the same hard wall-clock
# timeout, limits and process-group kill as every other run. The URL carries the owner's
# credentials: every message we keep has it replaced by its redacted form (trap: ffmpeg prints
# the input URL, user and password included, in its errors).

RTSP_PROTOCOLS = "rtsp,rtp,tcp,udp"
# Audio the relay converts to AAC: FLV/HLS carry AAC, and G.711 copied into them is dropped
# silently (livefeeds.md, trap 7).
AUDIO_CONVERTED = ("pcm_mulaw", "pcm_alaw", "pcm_s16be", "pcm_s16le", "adpcm_g726", "g723_1")


class StreamError(MediaError):
    """A live stream could not be used; `kind` is unreachable, wrong_credentials, not_h264,
    no_video or failed, and `reason` is fit to show the owner (no credentials in it)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class StreamProbe:
    """What a live stream carries: its codecs and picture size."""

    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None

    @property
    def audio_converted(self) -> bool:
        return self.audio_codec in AUDIO_CONVERTED


def rtsp_redacted(url: str) -> str:
    """The URL with any user and password taken out, for messages and the owner's page."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def stream_scrub(text: str, url: str) -> str:
    """Text with the URL, and its user and password alone, replaced (ffmpeg quotes all three)."""
    text = text.replace(url, rtsp_redacted(url))
    parts = urlsplit(url)
    # Too short a secret would garble every word it occurs in; the whole URL is gone anyway.
    for secret in (parts.password, parts.username):
        if secret and len(secret) >= 4:
            for form in {secret, unquote(secret)}:
                text = text.replace(form, "…")
    return text


def stream_failure_kind(message: str) -> str:
    """What an RTSP failure means to the owner, from ffmpeg's message."""
    lowered = message.lower()
    if "401" in lowered or "unauthorized" in lowered or "403 forbidden" in lowered:
        return "wrong_credentials"
    if (
        "not compatible with flv" in lowered
        or "hevc" in lowered
        or "codec not currently supported in container" in lowered
    ):
        return "not_h264"
    return "unreachable"


# An RTSP URL is never on a tool's command line, which any local user can read in
# /proc/<pid>/cmdline: the URL (with the owner's credentials) goes into a one-entry ffconcat
# list that ffmpeg or ffprobe reads from an inherited pipe (`-f concat -i pipe:<fd>`; the
# argv holds SOURCE_PIPE until the runner substitutes the fd), with the RTSP options as the
# list's `option` lines. The pipe is empty once read, and another user may not open this
# process's fds.
SOURCE_PIPE = "pipe:<rtsp-source>"


class RelayCommand(list):
    """An ffmpeg argv whose input (`SOURCE_PIPE`) is fed from `source` by relay_spawn."""

    source: bytes = b""


def _concat_quoted(text: str) -> str:
    if any(c in text for c in "\r\n\0"):
        raise ValueError("a stream URL may not hold line breaks")
    return "'" + text.replace("'", "'\\''") + "'"


def rtsp_source(url: str, *, socket_timeout: float) -> bytes:
    """The ffconcat list carrying the RTSP URL and its fence (as rtsp_input's options)."""
    lines = [
        "ffconcat version 1.0",
        f"file {_concat_quoted(url)}",
        "option rtsp_transport tcp",
        f"option timeout {int(socket_timeout * 1_000_000)}",
        "option analyzeduration 1000000",
        "option fpsprobesize 0",
    ]
    return ("\n".join(lines) + "\n").encode()


def rtsp_input() -> list[str]:
    """The options that fence one RTSP input, then the input: the URL itself (credentials and
    all) is not among them but in the list rtsp_source(url), which the runner feeds through a
    pipe (SOURCE_PIPE). The list adds RTSP over TCP and the socket timeout.

    One second of analysis rather than ffmpeg's five: an H.264 camera states its picture size
    in the SDP, and the viewer waits for every second spent here (bench/cctv_relay.py). No
    frames spent estimating the frame rate (`fpsprobesize 0`, here and in the list): the probe ends once the codecs
    are known, about 0.4 s sooner, and still waits (up to the second) for a camera whose SDP
    lacks them (bench/cctv_live.py).
    """
    return [
        "-protocol_whitelist", f"pipe,{RTSP_PROTOCOLS}", "-format_whitelist", "concat,rtsp",
        "-analyzeduration", "1000000", "-fpsprobesize", "0",
        "-f", "concat", "-safe", "0", "-i", SOURCE_PIPE,
    ]  # fmt: skip


def _run_stream(argv: list[str], url: str, timeout: float, what: str) -> bytes:
    """_run for a network input (rtsp_input's, fed the URL through a pipe): failures become
    StreamError with the URL redacted."""
    try:
        return _run(argv, timeout, what=what, source=rtsp_source(url, socket_timeout=timeout / 2))
    except MediaError as exc:
        reason = stream_scrub(exc.reason, url)
        if "timed out after" in reason:
            raise StreamError(
                "unreachable", f"The camera did not answer within {timeout:g} s."
            ) from None
        raise StreamError(stream_failure_kind(reason), reason) from None


def rtsp_probe(url: str, *, timeout: float = 10.0) -> StreamProbe:
    """The codecs of a live RTSP stream (H.264 needed by the relay), within `timeout` seconds."""
    argv = [
        _tool("ffprobe"), "-v", "error", *rtsp_input(),
        "-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json",
    ]  # fmt: skip
    out = _run_stream(argv, url, timeout, "ffprobe could not read the stream")
    try:
        streams = json.loads(out or b"{}").get("streams", [])
    except json.JSONDecodeError:
        raise StreamError("failed", "ffprobe gave no readable answer") from None
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    return StreamProbe(
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=video.get("width") if video else None,
        height=video.get("height") if video else None,
    )


def rtsp_still(url: str, out_dir: Path, *, timeout: float = 15.0) -> Output:
    """One JPEG frame from a live RTSP stream, at most 1280 wide, no metadata."""
    target = Path(out_dir) / "still.jpg"
    argv = _ffmpeg(
        "-threads", "1", *rtsp_input(),
        "-map", "0:v:0", "-frames:v", "1",
        "-vf", f"scale=w=min({POSTER_MAX_WIDTH}\\,iw):h=-2", "-q:v", "4",
        "-map_metadata", "-1", "-f", "image2", "-update", "1", str(target),
    )  # fmt: skip
    _run_stream(argv, url, timeout, "ffmpeg could not grab a frame")
    if not target.is_file() or target.stat().st_size == 0:
        raise StreamError("failed", "The camera sent no picture.")
    return Output(path=target, media_type="image/jpeg", run=_tool_run(argv), name=target.name)


def relay_argv(url: str, target: str, *, socket_timeout: float = 5.0) -> RelayCommand:
    """ffmpeg remuxing a live H.264 stream into the relay's RTMP without re-encoding it.

    Video is copied; audio (if any) becomes AAC, as the relay's HLS needs. `-loglevel info`
    because the relay manager reads the input's codecs and the output's opening from stderr.
    The URL is not in the argv: relay_spawn hands it to ffmpeg through a pipe.
    """
    argv = RelayCommand([
        _tool("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        *rtsp_input(),
        "-map", "0:v:0", "-map", "0:a:0?", "-c:v", "copy", "-c:a", "aac", "-b:a", "64k",
        "-f", "flv", target,
    ])  # fmt: skip
    argv.source = rtsp_source(url, socket_timeout=socket_timeout)
    return argv


def relay_spawn(argv: list[str], *, cpu_seconds: int) -> subprocess.Popen:
    """Start a long-running relay ffmpeg under the usual limits, in its own process group.

    stdout is discarded and stderr is a pipe the caller must drain; the caller owns the child
    and stops it with relay_stop (never left behind: it dies with its parent, too). A
    RelayCommand's source is written into a pipe ffmpeg inherits and reads as its input list.
    """
    with _piped_source(argv, getattr(argv, "source", b"")) as (argv, fds):
        return subprocess.Popen(  # noqa: S603 - an argument list we built; no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=fds,
            preexec_fn=_limit_child(_settings().MEDIA_TOOL_MEMORY_BYTES, cpu_seconds),
        )


def relay_stop(proc: subprocess.Popen, *, grace: float = 3.0) -> int:
    """SIGTERM the relay's process group, SIGKILL it after `grace` seconds; reap it.

    ffmpeg may ignore SIGTERM while it waits on the network (livefeeds.md, trap 9).
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


# --- raw frames in and out (face redaction) -----------------------------------------------
# Redaction (portal/redact.py) works on decoded pictures: ffmpeg decodes the original into raw
# RGB frames on a pipe and encodes the masked frames from another. Both children are fenced as
# _run's are (limits, own session, killed with the worker); the wall clock is checked per frame.
# The encoder is pinned for byte-identical output: a fixed thread count, bitexact flags, no metadata
# (devices.md 4.3), so the same original plus the same recipe gives the same file.


def image_rgb(path: Path, *, max_pixels: int | None = None) -> tuple[int, int, bytes]:
    """An image's pixels, upright (EXIF orientation applied), as 8-bit RGB: (width, height, bytes)."""
    with _open_image(path, max_pixels) as img:
        try:
            upright = _flatten(ImageOps.exif_transpose(img))
            return upright.width, upright.height, upright.tobytes()
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaError(f"Pillow could not decode the image: {exc}") from None


def image_png_write(target: Path, width: int, height: int, rgb: bytes) -> Output:
    """Write RGB pixels as a PNG with no metadata (deterministic: same pixels, same bytes)."""
    Image.frombytes("RGB", (width, height), rgb).save(target, format="PNG", optimize=False)
    return Output(
        path=target, media_type="image/png", run=ToolRun(["Pillow", "PNG"], tool_versions()),
        name=target.name,
    )  # fmt: skip


def _spawn(argv: list[str], *, stdin, stdout, timeout: float, log) -> subprocess.Popen:
    """`timeout` here is the child's CPU-time limit (the caller checks the wall clock)."""
    return subprocess.Popen(  # noqa: S603 - an argument list we built; no shell
        argv,
        stdin=stdin,
        stdout=stdout,
        stderr=log,
        start_new_session=True,
        preexec_fn=_limit_child(_settings().MEDIA_TOOL_MEMORY_BYTES, max(1, math.ceil(timeout))),
    )


_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux)
_PIPE_BYTES = 1 << 20  # /proc/sys/fs/pipe-max-size's default


def _big_pipe(pipe) -> None:
    """Let a raw-frame pipe hold 1 MiB instead of 64 KiB: a 720p frame then crosses in three
    hand-overs between the processes rather than forty (it matters on a busy machine)."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)


def _log_text(log) -> bytes:
    log.seek(0)
    return log.read()[-4000:]


def video_frames(
    src: Path, width: int, height: int, *, fps: float | None = None, timeout: float | None = None,
    threads: int = 1,
) -> Generator[bytes, None, None]:  # fmt: skip
    """The main video stream's frames, upright, scaled to width x height, as raw RGB24 (each
    width*height*3 bytes). With `fps`, at that constant rate (frame i is at i/fps, as a writer
    at that rate places it: a phone's variable-rate clip keeps its timing and its sound in
    step); without, one per coded frame in decode order. `threads`: the decoder's (the
    pictures do not depend on it)."""
    timeout = _settings().MEDIA_TOOL_TIMEOUT_SECONDS if timeout is None else timeout
    rate = ["-fps_mode", "passthrough"]
    if fps:
        rate = ["-fps_mode", "cfr", "-r", f"{fps:.6f}".rstrip("0").rstrip(".")]
    argv = _ffmpeg(
        "-threads", str(threads), *_input(src), "-map", "0:v:0", "-an", "-sn", "-dn",
        *rate, "-vf", f"scale={width}:{height}:flags=area",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    )  # fmt: skip
    size = width * height * 3
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as log:
        proc = _spawn(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=timeout * threads,
            log=log,
        )  # fmt: skip
        _big_pipe(proc.stdout)
        try:
            stdout = cast(IO[bytes], proc.stdout)
            while True:
                frame = stdout.read(size)
                if len(frame) < size:
                    break
                if time.monotonic() > deadline:
                    raise MediaError(
                        f"ffmpeg could not decode the frames: timed out after {timeout:g} s"
                    )
                yield frame
            if proc.wait(timeout=max(1.0, deadline - time.monotonic())):
                raise MediaError(
                    _reason(
                        _exit_what("ffmpeg could not decode the frames", proc.returncode),
                        _log_text(log),
                        argv,
                    )
                )
        except subprocess.TimeoutExpired:
            raise MediaError(
                f"ffmpeg could not decode the frames: timed out after {timeout:g} s"
            ) from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
            else:
                proc.communicate()


def mute_filter(ranges: list[tuple[float, float]]) -> str:
    """ffmpeg's audio filter that silences each (start, end) range in seconds."""
    return (
        ",".join(f"volume=enable='between(t,{a:.3f},{b:.3f})':volume=0" for a, b in ranges)
        or "anull"
    )


class FrameWriter:
    """An ffmpeg encoding raw RGB24 frames fed on its stdin into a deterministic H.264 MP4, with
    the original's first audio stream (re-encoded to AAC, muted over `mute` ranges) if any.
    x264 runs `threads` threads: its output depends on that count (so the caller pins and
    records it) but not on timing, as x264 is deterministic unless told --non-deterministic.

    Use as a context manager; write() each frame, then the `with` closes and checks the run.
    """

    def __init__(
        self, target: Path, width: int, height: int, fps: float, *, audio_from: Path | None,
        mute: list[tuple[float, float]], timeout: float | None = None, threads: int = 1,
    ):  # fmt: skip
        self.timeout = _settings().MEDIA_TOOL_TIMEOUT_SECONDS if timeout is None else timeout
        self.target = Path(target)
        rate = f"{fps:.6f}".rstrip("0").rstrip(".")
        audio = (
            [*_input(audio_from), "-map", "0:v:0", "-map", "1:a:0?", "-af", mute_filter(mute),
             "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-flags:a", "+bitexact"]
            if audio_from else ["-map", "0:v:0"]
        )  # fmt: skip
        self.argv = _ffmpeg(
            "-threads", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-r", rate, "-i", "pipe:0", *audio,
            "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads", str(threads),
            # x264 writes its version into an SEI message: drop SEI so another x264 build
            # changes no bytes that are not pictures.
            "-bsf:v", "filter_units=remove_types=6",
            "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
            "-map_chapters", "-1", "-movflags", "+faststart", str(self.target),
        )  # fmt: skip
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._deadline = time.monotonic() + self.timeout
        self.proc = _spawn(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            timeout=self.timeout * (threads + 1), log=self._log,
        )  # fmt: skip
        _big_pipe(self.proc.stdin)

    def write(self, frame: bytes) -> None:
        if time.monotonic() > self._deadline:
            raise MediaError(
                f"ffmpeg could not encode the video: timed out after {self.timeout:g} s"
            )
        try:
            cast(IO[bytes], self.proc.stdin).write(frame)
        except BrokenPipeError:
            self.proc.wait()
            raise MediaError(
                _reason("ffmpeg could not encode the video", _log_text(self._log), self.argv)
            ) from None

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                _kill_group(self.proc)
                return
            with contextlib.suppress(BrokenPipeError):
                cast(IO[bytes], self.proc.stdin).close()
            try:
                rc = self.proc.wait(timeout=max(1.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)
                raise MediaError(
                    f"ffmpeg could not encode the video: timed out after {self.timeout:g} s"
                ) from None
            if rc:
                raise MediaError(
                    _reason(
                        _exit_what("ffmpeg could not encode the video", rc),
                        _log_text(self._log),
                        self.argv,
                    )
                )
        finally:
            self._log.close()

    def output(self) -> Output:
        return _output(self.target, "video/mp4", self.argv)


def video_frame_hash(path: Path, *, timeout: float | None = None) -> str:
    """SHA-256 over the decoded frames of the video stream (ffmpeg's hash muxer): the same
    pictures give the same hash whatever container or muxer wrote them."""
    argv = _ffmpeg(*_input(path), "-map", "0:v:0", "-f", "hash", "-hash", "sha256", "-")
    out = _run(argv, timeout, what="ffmpeg could not hash the frames").decode().strip()
    algo, _, value = out.rpartition("=")
    if algo.upper() != "SHA256" or len(value) != 64:
        raise MediaError("ffmpeg gave no frame hash")
    return value
