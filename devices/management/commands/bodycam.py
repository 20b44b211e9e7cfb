"""`manage.py bodycam`: a simulated body camera against a running Canvass, over HTTP only."""

import hashlib
import tempfile
import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devices.auth import stream_key_for
from devices.simulator import DeviceApiError, SimulatedCamera, parse_provisioning


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 < number < 1:
        raise ValueError("between 0 and 1")
    return number


class Command(BaseCommand):
    help = (
        "Run a simulated body camera against Canvass's device API: heartbeats, a recording "
        "with the time burned in and a GPS track, offloaded through tus (optionally cut and "
        "resumed by a fresh client), and the commands the server sends."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--provisioning",
            required=True,
            metavar="FILE_OR_JSON",
            help='the QR code\'s JSON {"api": ..., "device": ..., "token": ...}, or its file',
        )
        parser.add_argument("--state-dir", help="the camera's storage (kept across runs)")
        parser.add_argument("--heartbeats", type=int, default=1, metavar="N")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between beats")
        parser.add_argument("--record", type=int, metavar="SECONDS", help="record this long")
        parser.add_argument(
            "--cut-at",
            type=_fraction,
            metavar="FRACTION",
            help="cut the offload once this fraction is sent, then resume from a fresh client",
        )
        parser.add_argument(
            "--obey", action="store_true", help="record when a heartbeat reply says start_recording"
        )
        parser.add_argument("--serial", default="SIM-0001", help="burned into the video")
        parser.add_argument(
            "--alert", metavar="TYPE", help="press an alert button first: sos, watch_me, …"
        )
        parser.add_argument(
            "--live",
            metavar="RTMP_URL",
            help="while recording (--record), push a live stream with the clock burned in to "
            "the relay's body-camera application, e.g. rtmp://127.0.0.1:19350/live",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="after the heartbeats, long-poll this long for a command (with --obey: act)",
        )

    def handle(self, *args, **options):
        try:
            provisioning = parse_provisioning(options["provisioning"])
        except (OSError, ValueError) as error:
            raise CommandError(f"provisioning: {error}") from error
        state_dir = Path(options["state_dir"] or self._default_state_dir(provisioning))
        camera = self._boot(provisioning, state_dir, options)
        try:
            self._run(camera, provisioning, state_dir, options)
        except DeviceApiError as error:
            raise CommandError(str(error)) from error

    @staticmethod
    def _default_state_dir(provisioning: dict) -> Path:
        name = provisioning.get("device") or hashlib.sha256(provisioning["token"].encode())
        name = name if isinstance(name, str) else name.hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "canvass-bodycam" / name

    @staticmethod
    def _boot(provisioning, state_dir, options) -> SimulatedCamera:
        return SimulatedCamera.from_provisioning(provisioning, state_dir, serial=options["serial"])

    def _run(self, camera, provisioning, state_dir, options):
        for recording_id in camera.pending():
            self.stdout.write(f"finishing the offload of {recording_id} from before the reboot")
            self._finish(camera, recording_id)
        seconds = options["record"] or 6
        if options["alert"]:
            reply = camera.raise_alert(options["alert"])
            self.stdout.write(f"alert {options['alert']}: {reply['alert'] or 'no alert (off)'}")
        for beat in range(options["heartbeats"]):
            if beat:
                time.sleep(options["interval"])
            reply = camera.heartbeat()
            commands = reply.get("commands", [])
            self.stdout.write(
                f"heartbeat: server time {reply['server_time']}, {len(commands)} command(s)"
            )
            if options["obey"] and commands:
                for recording_id in camera.obey(reply, seconds=seconds):
                    self.stdout.write(f"recorded {recording_id} on command")
                    self._offload(camera, provisioning, state_dir, options, recording_id)
            elif commands:
                self.stdout.write("  (not obeyed: run with --obey)")
        if options["wait"]:
            reply = camera.wait_commands(options["wait"])
            commands = reply.get("commands", [])
            self.stdout.write(f"long-poll: {len(commands)} command(s)")
            if options["obey"]:
                for recording_id in camera.obey(reply, seconds=seconds):
                    self.stdout.write(f"recorded {recording_id} on command")
                    self._offload(camera, provisioning, state_dir, options, recording_id)
        if options["live"] and options["record"]:
            stream = uuid.UUID(provisioning["device"]).hex
            code = camera.go_live(
                options["live"], stream, stream_key_for(provisioning["token"]), seconds
            )
            self.stdout.write(f"live for {seconds} s to {options['live']} (push exit {code})")
        if options["record"]:
            recording_id = camera.record(seconds)
            self.stdout.write(f"recorded {recording_id} ({seconds} s)")
            self._offload(camera, provisioning, state_dir, options, recording_id)

    def _offload(self, camera, provisioning, state_dir, options, recording_id):
        reply = camera.announce(recording_id)
        self.stdout.write(f"announced as {reply['id']} ({reply['status']})")
        if options["cut_at"] and not camera.offload(recording_id, cut_at=options["cut_at"]):
            sent = camera.state()["recordings"][recording_id].get("sent_bytes", 0)
            self.stdout.write(f"offload cut after {sent} bytes; rebooting the camera")
            camera = self._boot(provisioning, state_dir, options)
        self._finish(camera, recording_id)

    def _finish(self, camera, recording_id):
        camera.offload(recording_id)
        points = camera.send_track(recording_id)
        status = camera.recording(recording_id)["status"]
        self.stdout.write(f"offloaded {recording_id}: {status}, track of {points} point(s)")
