#!/usr/bin/python3
"""A real RTSP camera for tests and demos: GStreamer's RTSP server with a burned-in clock.

Runs only under Debian's /usr/bin/python3, where python3-gi and gir1.2-gst-rtsp-server-1.0
live (scripts/setup.sh installs them in test mode); the project's virtualenv cannot load them.

    /usr/bin/python3 scripts/rtsp_test_camera.py --port 8554 [--codec h265] [--audio pcmu]
        [--user u --password p] [--path /stream] [--clock-code]
        [--size 1280x720 --bitrate 2000 --pattern snow]

It prints "READY rtsp://127.0.0.1:<port><path>" on stdout once it listens, and runs until
SIGTERM or SIGINT. H.264 (default) or H.265 video, 640x360 at 10 fps with a 1 s keyframe
interval (nginx cuts HLS segments at keyframes); optional G.711 u-law audio, as many cheap
cameras send. With --user/--password the server asks for HTTP basic authentication.

--clock-code replaces the test picture with the wall-clock time of each frame's capture, in
milliseconds since the epoch, drawn as 48 black or white 40-pixel blocks a program can read
back from the decoded video (bench/cctv_live.py measures glass to glass with it): 4 rows of 12
blocks from (40, 40), most significant bit first, white = 1; 44 bits of time then 4 bits of
the time's bit count mod 16 as a check. --size, --bitrate and --pattern (videotestsrc's)
shape the test picture, e.g. `snow`, which no encoder compresses, for a camera's bit rate.
"""

import argparse
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

FPS = 10
CODE_BITS, CODE_CHECK_BITS, CODE_COLUMNS, CODE_BLOCK = 44, 4, 12, 40


def _launch(
    codec: str, audio: str, *, size="640x360", bitrate=500, pattern="ball", clock_code=False
) -> str:
    width, height = size.split("x")
    if clock_code:
        video = (
            "appsrc name=clock is-live=true do-timestamp=true format=time max-buffers=2"
            f" leaky-type=downstream caps=video/x-raw,format=GRAY8,width={width},height={height}"
            f",framerate={FPS}/1 ! videoconvert"
        )
    else:
        video = (
            f"videotestsrc is-live=true pattern={pattern}"
            f" ! video/x-raw,width={width},height={height},framerate={FPS}/1"
            " ! clockoverlay time-format=%H:%M:%S halignment=left valignment=top"
            " ! videoconvert"
        )
    if codec == "h265":
        video += (
            f" ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={FPS}"
            " ! rtph265pay name=pay0 pt=96 config-interval=1"
        )
    else:
        video += (
            f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={FPS} bitrate={bitrate}"
            " ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    if audio == "pcmu":
        video += (
            " audiotestsrc is-live=true wave=sine freq=440 volume=0.2"
            " ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0"
        )
    return f"( {video} )"


def clock_frame(width: int, height: int, ms: int) -> bytes:
    """One GRAY8 picture with `ms` drawn as the blocks the module's docstring describes."""
    check = bin(ms).count("1") % (1 << CODE_CHECK_BITS)
    value = (ms % (1 << CODE_BITS)) << CODE_CHECK_BITS | check
    total = CODE_BITS + CODE_CHECK_BITS
    bits = [(value >> (total - 1 - i)) & 1 for i in range(total)]
    grey = bytes([128]) * width
    rows = [grey * CODE_BLOCK]  # the top margin
    for r in range(total // CODE_COLUMNS):
        line = bytes([128]) * CODE_BLOCK
        for c in range(CODE_COLUMNS):
            line += bytes([235 if bits[r * CODE_COLUMNS + c] else 16]) * CODE_BLOCK
        line += bytes([128]) * (width - len(line))
        rows.append(line * CODE_BLOCK)
    picture = b"".join(rows)
    return picture + grey * (height - len(picture) // width)


def _feed_clock(media, width: int, height: int) -> None:
    """Push a clock picture into the media's appsrc every frame interval until the media is
    let go (pictures pushed before it plays are refused or dropped by the leaky queue)."""
    source = media.get_element().get_by_name("clock")
    done = []
    media.connect("unprepared", lambda _media: done.append(True))

    def push() -> bool:
        if done:
            return False
        ms = int(time.time() * 1000)
        buffer = Gst.Buffer.new_wrapped(clock_frame(width, height, ms))
        buffer.duration = Gst.SECOND // FPS
        source.emit("push-buffer", buffer)
        return True

    GLib.timeout_add(1000 // FPS, push)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="/stream")
    parser.add_argument("--codec", choices=("h264", "h265"), default="h264")
    parser.add_argument("--audio", choices=("none", "pcmu"), default="none")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--clock-code", action="store_true")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--bitrate", type=int, default=500)
    parser.add_argument("--pattern", default="ball")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        _launch(
            args.codec,
            args.audio,
            size=args.size,
            bitrate=args.bitrate,
            pattern=args.pattern,
            clock_code=args.clock_code,
        )
    )
    factory.set_shared(True)
    if args.clock_code:
        width, height = (int(n) for n in args.size.split("x"))
        factory.connect("media-configure", lambda _f, media: _feed_clock(media, width, height))
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{args.port}{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
