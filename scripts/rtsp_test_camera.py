#!/usr/bin/python3
"""A real RTSP camera for tests and demos: GStreamer's RTSP server with a burned-in clock.

Runs only under Debian's /usr/bin/python3, where python3-gi and gir1.2-gst-rtsp-server-1.0
live (scripts/setup.sh installs them in test mode); the project's virtualenv cannot load them.

    /usr/bin/python3 scripts/rtsp_test_camera.py --port 8554 [--codec h265] [--audio pcmu]
        [--user u --password p] [--path /stream]

It prints "READY rtsp://127.0.0.1:<port><path>" on stdout once it listens, and runs until
SIGTERM or SIGINT. H.264 (default) or H.265 video, 640x360 at 10 fps with a 1 s keyframe
interval (nginx cuts HLS segments at keyframes); optional G.711 u-law audio, as many cheap
cameras send. With --user/--password the server asks for HTTP basic authentication.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

FPS = 10


def _launch(codec: str, audio: str) -> str:
    video = (
        f"videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate={FPS}/1"
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
            f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={FPS} bitrate=500"
            " ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    if audio == "pcmu":
        video += (
            " audiotestsrc is-live=true wave=sine freq=440 volume=0.2"
            " ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0"
        )
    return f"( {video} )"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="/stream")
    parser.add_argument("--codec", choices=("h264", "h265"), default="h264")
    parser.add_argument("--audio", choices=("none", "pcmu"), default="none")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(_launch(args.codec, args.audio))
    factory.set_shared(True)
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
