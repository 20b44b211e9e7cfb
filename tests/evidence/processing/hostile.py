"""A corpus of hostile uploads, generated on the fly (nothing binary is committed).

Each entry is a file an attacker or a broken device could send, with the final states the
pipeline may leave it in. Files that try to make ffmpeg or Pillow read something else point at
`canary`, a file outside the upload whose contents must never show up anywhere, and whose
access time must not move.
"""

import io
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from evidence import samples

READY, UNPLAYABLE, REJECTED = "ready", "unplayable", "rejected"


@dataclass(frozen=True)
class Hostile:
    name: str
    path: Path
    expect: frozenset[str]  # the final states it may end in
    why: str


def _ffmpeg(*args: str) -> None:
    subprocess.run(  # noqa: S603 - a fixed argument list for a generated test file
        [shutil.which("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=300,
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _zlib_of_zeros(total: int) -> bytes:
    """zlib data inflating to `total` zero bytes, built without holding them in memory."""
    packer = zlib.compressobj(9)
    block = b"\x00" * (1 << 20)
    out = io.BytesIO()
    left = total
    while left:
        piece = block[: min(left, len(block))]
        out.write(packer.compress(piece))
        left -= len(piece)
    out.write(packer.flush())
    return out.getvalue()


def _jpeg(size=(320, 240), exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG", exif=exif or Image.Exif())
    return buffer.getvalue()


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def _mp4(directory: Path, name: str, *args: str, faststart=True) -> Path:
    target = directory / name
    flags = ["-movflags", "+faststart"] if faststart else []
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1",
        "-c:v", "libx264", "-preset", "ultrafast", *args, *flags, str(target),
    )  # fmt: skip
    return target


def _patch_box(data: bytes, box: bytes, patch) -> bytes:
    at = data.find(box)
    if at < 4:
        raise RuntimeError(f"no {box!r} box")
    return patch(bytearray(data), at - 4)


def _moov_past_eof(data: bytes) -> bytes:
    def patch(buf: bytearray, start: int) -> bytes:
        buf[start : start + 4] = struct.pack(">I", 0x7FFFFFF0)  # moov "size" far past the end
        return bytes(buf)

    return _patch_box(data, b"moov", patch)


def _endless_duration(data: bytes) -> bytes:
    """The mvhd (version 0) says timescale 1 and a duration of 2^32-1 seconds (136 years)."""

    def patch(buf: bytearray, start: int) -> bytes:
        # size(4) type(4) version/flags(4) created(4) modified(4) timescale(4) duration(4)
        buf[start + 20 : start + 28] = struct.pack(">II", 1, 0xFFFFFFFF)
        return bytes(buf)

    return _patch_box(data, b"mvhd", patch)


def _garbage_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "\x00" * 3 + "A" * 20_000
    exif[ExifTags.Base.Model] = "\ud7ff" * 10 + "\x01\x02"
    exif[ExifTags.Base.ImageDescription] = "<script>alert(1)</script>" * 400
    exif[ExifTags.Base.Orientation] = 65535
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.DateTimeOriginal: "9999:99:99 99:99:99",
        ExifTags.Base.OffsetTimeOriginal: "+99:99",
        ExifTags.Base.DateTimeDigitized: "not a date at all",
        ExifTags.Base.SubsecTimeOriginal: "x" * 500,
        ExifTags.Base.UserComment: b"\xff" * 10_000,
    }
    return exif


def _gps_nonsense() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "Q",
        ExifTags.GPS.GPSLatitude: (
            IFDRational(999, 1),
            IFDRational(1, 0),
            IFDRational(4294967295, 1),
        ),
        ExifTags.GPS.GPSLongitudeRef: "\x00",
        ExifTags.GPS.GPSLongitude: (IFDRational(720, 1), IFDRational(0, 0), IFDRational(0, 1)),
        ExifTags.GPS.GPSDateStamp: "0000:00:00",
        ExifTags.GPS.GPSTimeStamp: (IFDRational(99, 1), IFDRational(1, 0), IFDRational(0, 1)),
    }
    return exif


def _looping_tiff() -> bytes:
    """A little-endian TIFF whose first IFD names itself as the next one (an endless chain)."""
    entries = [
        (256, 3, 1, 1),  # ImageWidth 1
        (257, 3, 1, 1),  # ImageLength 1
        (258, 3, 1, 8),  # BitsPerSample
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 8),  # StripOffsets -> the header (any byte will do)
        (277, 3, 1, 1),  # SamplesPerPixel
        (279, 4, 1, 1),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 8)  # next IFD: this one again
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def corpus(directory: Path, canary: Path) -> list[Hostile]:
    """Write the hostile files into `directory`; `canary` is what they try to read."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    jpeg = _jpeg()
    png = io.BytesIO()
    Image.new("RGB", (320, 240), (0, 90, 0)).save(png, "PNG")
    png = png.getvalue()
    plain_mp4 = _mp4(d, "plain.mp4").read_bytes()
    items = [
        Hostile("empty", _write(d, "empty.mp4", b""), frozenset({REJECTED}), "0 bytes"),
        Hostile("one-byte", _write(d, "one.jpg", b"\xff"), frozenset({REJECTED}), "1 byte"),
        Hostile(
            "truncated-jpeg",
            _write(d, "cut.jpg", jpeg[: len(jpeg) // 3]),
            frozenset({UNPLAYABLE}),
            "a JPEG cut to a third",
        ),
        Hostile(
            "truncated-png",
            _write(d, "cut.png", png[: len(png) // 2]),
            frozenset({UNPLAYABLE}),
            "a PNG cut in half",
        ),
        Hostile(
            "truncated-mp4",
            samples.truncated_clip(d),
            frozenset({UNPLAYABLE}),
            "an MP4 cut before its index",
        ),
        Hostile(
            "jpeg-named-mp4",
            _write(d, "really-a-photo.mp4", jpeg),
            frozenset({READY}),
            "a photo with a video's extension: typed by content",
        ),
        Hostile(
            "polyglot-gif-js",
            _write(d, "poly.gif", b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(1)//\x00;"),
            frozenset({UNPLAYABLE}),
            "a GIF header that is also JavaScript",
        ),
        Hostile(
            "polyglot-jpeg-zip-html",
            _write(
                d,
                "poly.jpg",
                jpeg + b"<html><script>alert(1)</script></html>" + b"PK\x05\x06" + b"\x00" * 18,
            ),
            frozenset({READY}),
            "a JPEG with a page and a zip directory after its end",
        ),
        Hostile(
            "huge-declared-jpeg",
            _write(d, "huge.jpg", _huge_jpeg_header(jpeg)),
            frozenset({UNPLAYABLE}),
            "a JPEG header claiming 65500 x 65500 pixels",
        ),
        Hostile(
            "pixel-flood-png",
            samples.pixel_flood_png(d),
            frozenset({UNPLAYABLE}),
            "a tiny PNG claiming 100000 x 100000 pixels",
        ),
        Hostile(
            "decompression-bomb-png",
            _write(d, "bomb.png", _png(9000, 9000, _zlib_of_zeros(9000 * (9000 * 3 + 1)))),
            frozenset({UNPLAYABLE}),
            "243 MB of pixels in a ~250 KB PNG, over the pixel limit",
        ),
        Hostile(
            "moov-past-eof",
            _write(d, "moov.mp4", _moov_past_eof(plain_mp4)),
            # ffmpeg reads what is there: the whole index is, so it may well play.
            frozenset({READY, UNPLAYABLE}),
            "an MP4 whose index box claims 2 GB past the end",
        ),
        Hostile(
            "endless-duration",
            _write(d, "long.mp4", _endless_duration(plain_mp4)),
            frozenset({REJECTED, UNPLAYABLE}),
            "an MP4 whose header says it lasts 136 years",
        ),
        Hostile(
            "hls-etc-passwd",
            _write(
                d,
                "passwd.mp4",
                b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nfile:///etc/passwd\n"
                b"#EXT-X-ENDLIST\n",
            ),
            frozenset({REJECTED, UNPLAYABLE}),
            "an HLS playlist named .mp4 whose segment is /etc/passwd",
        ),
        Hostile(
            "hls-canary",
            _write(
                d,
                "canary.mov",
                f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nfile://{canary}\n"
                "#EXT-X-ENDLIST\n".encode(),
            ),
            frozenset({REJECTED, UNPLAYABLE}),
            "an HLS playlist whose segment is a local file",
        ),
        Hostile(
            "hls-subfile",
            _write(
                d,
                "subfile.mp4",
                f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n"
                f"subfile,,start,0,end,0,,:{canary}\n#EXT-X-ENDLIST\n".encode(),
            ),
            frozenset({REJECTED, UNPLAYABLE}),
            "an HLS playlist reaching a local file through the subfile protocol",
        ),
        Hostile(
            "hls-concat-protocol",
            _write(
                d,
                "concatproto.mp4",
                f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n"
                f"concat:{canary}|/etc/passwd\n#EXT-X-ENDLIST\n".encode(),
            ),
            frozenset({REJECTED, UNPLAYABLE}),
            "an HLS playlist reaching local files through the concat protocol",
        ),
        Hostile(
            "ffconcat-canary",
            _write(
                d,
                "list.mov",
                f"ffconcat version 1.0\nfile '{canary}'\nfile '/etc/passwd'\n".encode(),
            ),
            frozenset({REJECTED, UNPLAYABLE}),
            "an ffconcat script naming local files",
        ),
        Hostile(
            "svg-script",
            _write(
                d,
                "pic.jpg",
                b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
                b"<script>alert(document.domain)</script></svg>",
            ),
            frozenset({REJECTED}),
            "an SVG with a script, named .jpg",
        ),
        Hostile(
            "html",
            samples.html_named_mp4(d),
            frozenset({REJECTED}),
            "a web page named .mp4",
        ),
        Hostile(
            "exif-garbage",
            _write(d, "exif.jpg", _jpeg(exif=_garbage_exif())),
            frozenset({READY}),
            "a JPEG whose EXIF has huge and impossible values",
        ),
        Hostile(
            "gps-nonsense",
            _write(d, "gps.jpg", _jpeg(exif=_gps_nonsense())),
            frozenset({READY}),
            "a JPEG with a GPS IFD of impossible numbers and zero denominators",
        ),
        Hostile(
            "looping-tiff",
            _write(d, "loop.tif", _looping_tiff()),
            frozenset({READY, UNPLAYABLE}),
            "a TIFF whose IFD chain loops on itself",
        ),
        Hostile(
            "zip-named-jpg",
            _write(d, "photos.jpg", b"PK\x03\x04" + b"\x00" * 26 + b"PK\x05\x06" + b"\x00" * 18),
            frozenset({REJECTED}),
            "a zip archive named .jpg",
        ),
        Hostile(
            "elf-named-mov",
            _write(d, "run.mov", b"\x7fELF\x02\x01\x01" + b"\x00" * 57),
            frozenset({REJECTED}),
            "an executable header named .mov",
        ),
        Hostile(
            "ftyp-only",
            _write(d, "ftyp.mp4", plain_mp4[: plain_mp4.find(b"moov") - 4]),
            frozenset({UNPLAYABLE}),
            "an MP4 that stops after its file-type box",
        ),
        Hostile(
            "50k-frames",
            _many_frames(d),
            frozenset({READY}),
            "50,000 tiny frames at 1,000 fps",
        ),
    ]
    (d / "plain.mp4").unlink()
    return items


def _huge_jpeg_header(jpeg: bytes) -> bytes:
    """The same JPEG with its SOF0 frame header claiming 65500 x 65500."""
    at = jpeg.find(b"\xff\xc0")
    if at < 0:
        raise RuntimeError("no SOF0 marker")
    data = bytearray(jpeg)
    data[at + 5 : at + 9] = struct.pack(">HH", 65500, 65500)
    return bytes(data)


def _many_frames(directory: Path) -> Path:
    target = directory / "frames.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "color=c=blue:size=16x16:rate=1000", "-frames:v", "50000",
        "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(target),
    )  # fmt: skip
    return target
