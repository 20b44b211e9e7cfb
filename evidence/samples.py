"""Synthetic media for the demo and the tests, made on the spot with the real ffmpeg and Pillow.

Only trusted, generated sources go through ffmpeg here (lavfi test patterns), by way of
portal/media.py (the one module that runs ffmpeg); untrusted input is never handled here.

Small and short by default so a test pays well under a second for each; the parameters make
bigger ones for benchmarks. Each function writes into `directory` and returns the file's path.
"""

import io
import struct
import zlib
from pathlib import Path

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from portal import media


def _picture(size: str, rate: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]


def _tone(sample_rate: int = 48000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={sample_rate}"]


def iso6709(lat: float, lon: float, altitude: float | None = None) -> str:
    """A position the way phones write it: "+40.7580-073.9855/" (altitude optional)."""
    text = f"{lat:+08.4f}{lon:+09.4f}"
    return text + (f"{altitude:+08.3f}" if altitude is not None else "") + "/"


def phone_clip_mov(
    directory: Path,
    *,
    seconds: float = 3,
    size: str = "640x360",
    rate: int = 30,
    lat: float = 40.7580,
    lon: float = -73.9855,
    creation_time: str = "2026-03-14T15:09:26Z",
    make: str = "Apple",
    model: str = "iPhone 15",
    audio: bool = True,
    name: str = "phone.mov",
) -> Path:
    """A QuickTime H.264/AAC clip tagged like an iPhone's: position, time, make and model.

    `use_metadata_tags` makes the mov muxer write Apple's `mdta` keys; ffmpeg still writes the
    plain `location` as a ©xyz atom, which ffprobe reads back as `location` (and `location-eng`).
    One keyframe a second, as phones do. `audio=False` makes a silent clip (no audio stream).
    """
    target = Path(directory) / name
    tags = {
        "location": iso6709(lat, lon),
        "com.apple.quicktime.location.ISO6709": iso6709(lat, lon, 10.0),
        "creation_time": creation_time,
        "com.apple.quicktime.make": make,
        "com.apple.quicktime.model": model,
    }
    metadata = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
    sound = [*_tone(), "-c:a", "aac"] if audio else []
    media.synthesize(
        *_picture(size, rate), *sound, "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(rate),
        "-movflags", "use_metadata_tags", *metadata, str(target),
    )  # fmt: skip
    return target


def hevc_or_mpeg4_clip(directory: Path, *, seconds: float = 2, size: str = "320x240") -> Path:
    """A clip no browser plays and HLS cannot copy: MPEG-4 Part 2 video and MP3 in AVI."""
    target = Path(directory) / "camera.avi"
    media.synthesize(
        *_picture(size, 25), *_tone(44100), "-t", str(seconds),
        "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", str(target),
    )  # fmt: skip
    return target


def rotated_clip(directory: Path, *, seconds: float = 1, size: str = "640x360") -> Path:
    """An H.264 clip shot "upright on a phone": stored landscape, displayed turned 90° clockwise.

    ffmpeg 5.1 has no -display_rotation; its `rotate` stream tag still sets the display matrix
    on a stream copy, but with the sign flipped from the old meaning: rotate=270 gives the
    matrix an iPhone writes (ffprobe: "rotation": -90).
    """
    plain = phone_clip_mov(directory, seconds=seconds, size=size, name="unrotated.mov")
    target = Path(directory) / "rotated.mov"
    media.synthesize("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=270", str(target))
    plain.unlink()
    return target


def audio_clip(directory: Path, *, seconds: float = 2) -> Path:
    """A voice-memo-like MP3 (not AAC, so the audio proxy has real work to do)."""
    target = Path(directory) / "memo.mp3"
    media.synthesize(*_tone(44100), "-t", str(seconds), "-c:a", "libmp3lame", str(target))
    return target


def truncated_clip(directory: Path, *, keep: float = 0.3) -> Path:
    """The first 30% of a real MP4 whose index (moov) was written last, so it is cut off."""
    whole = Path(directory) / "whole.mp4"
    media.synthesize(
        *_picture("320x240", 25), *_tone(), "-t", "2",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(whole),
    )  # fmt: skip
    data = whole.read_bytes()
    if data.rfind(b"moov") <= len(data) * keep:
        raise RuntimeError("expected the moov atom at the end of the file")
    target = Path(directory) / "truncated.mp4"
    target.write_bytes(data[: int(len(data) * keep)])
    whole.unlink()
    return target


def html_named_mp4(directory: Path) -> Path:
    """A web page saved under a video's name."""
    target = Path(directory) / "clip.mp4"
    target.write_text(
        "\n  <!DOCTYPE html>\n<html><head><title>x</title></head>"
        "<body><script>alert(document.cookie)</script></body></html>\n"
    )
    return target


def _rationals(*values: float) -> tuple:
    return tuple(IFDRational(round(v * 10000), 10000) for v in values)


def _dms(value: float) -> tuple:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return _rationals(degrees, minutes, seconds)


def photo_with_exif_gps(
    directory: Path,
    *,
    lat: float = 40.7580,
    lon: float = -73.9855,
    taken: str = "2026:03:14 15:09:26",
    offset: str | None = "-04:00",
    make: str = "Apple",
    model: str = "iPhone 15",
    orientation: int = 1,
    size: tuple[int, int] = (800, 600),
    name: str = "photo.jpg",
) -> Path:
    """A JPEG with the EXIF a phone writes: make, model, orientation, times and a GPS IFD."""
    image = Image.new("RGB", size, (20, 120, 200))
    # A bright block in the top-left corner shows which way up a derivative came out.
    image.paste((255, 255, 0), (0, 0, size[0] // 4, size[1] // 4))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    exif[ExifTags.Base.Orientation] = orientation
    exif_ifd = {ExifTags.Base.DateTimeOriginal: taken}
    if offset:
        exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    exif[ExifTags.IFD.Exif] = exif_ifd
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
        ExifTags.GPS.GPSLatitude: _dms(lat),
        ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W",
        ExifTags.GPS.GPSLongitude: _dms(lon),
    }
    target = Path(directory) / name
    image.save(target, "JPEG", exif=exif, quality=90)
    return target


def pixel_flood_png(directory: Path, *, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny PNG whose header claims an enormous picture (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 64)
    target = Path(directory) / "flood.png"
    buffer = io.BytesIO()
    buffer.write(b"\x89PNG\r\n\x1a\n")
    buffer.write(chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    target.write_bytes(buffer.getvalue())
    return target


def network_playlist(directory: Path, url: str) -> Path:
    """An HLS playlist, named like a video, whose only segment is a network address."""
    target = Path(directory) / "playlist.mp4"
    target.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{url}\n#EXT-X-ENDLIST\n")
    return target


def network_concat(directory: Path, url: str) -> Path:
    """An ffconcat script, named like a video, that points at a network address."""
    target = Path(directory) / "concat.mov"
    target.write_text(f"ffconcat version 1.0\nfile '{url}'\n")
    return target
