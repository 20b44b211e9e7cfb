"""A simulated body-worn camera that talks to Canvass only over HTTP, as a real one would.

It heartbeats, records a synthetic clip with the time burned in and a GPS track of a short walk,
announces the recording (manifest with its own SHA-256), offloads it through tus, resumable
across a "reboot" (a new SimulatedCamera on the same state_dir), sends the track, and obeys and
acknowledges the commands heartbeat replies carry. No ORM here: what it knows of the server is
the device API (docs/device-api.md) and the provisioning JSON the staff page's QR code carries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse
from xml.sax.saxutils import escape

import requests
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader

from portal import media

API_PATH = "api/devices/v1/"
FIRMWARE = "sim-1.0"
# Where the walk starts when nobody says: the demo agency's patch (East 60s, Manhattan).
DEFAULT_START = (40.7580, -73.9610)
WALK_SPEED_M_S = 1.4
CLIP_SIZE = "640x360"
CLIP_RATE = 15
# The first font Debian's fonts-dejavu-core installs (scripts/setup.sh); fontconfig otherwise.
FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
TIMEOUT = 30
# What the device API (docs/device-api.md) says an upload offer defaults to.
UPLOAD_ENDPOINT = "/api/uploads/"
GRANT_HEADER = "Canvass-Upload-Grant"
# Bytes per tus PATCH: a recording goes in about PIECES pieces (a cut loses one at most), none
# smaller than MIN_CHUNK (a short clip over LTE) nor larger than MAX_CHUNK (a shift's recording
# at the dock). bench/devices.py uses the same choice.
MIN_CHUNK = 256 * 1024
MAX_CHUNK = 8 * 1024 * 1024
PIECES = 32


def chunk_size_for(size: int) -> int:
    """The PATCH size the camera uses for a file of `size` bytes (a multiple of MIN_CHUNK)."""
    return max(MIN_CHUNK, min(MAX_CHUNK, size // PIECES // MIN_CHUNK * MIN_CHUNK))


class DeviceApiError(Exception):
    """The server refused a call; `status` and `body` say how."""

    def __init__(self, status: int, body: str):
        super().__init__(f"device API answered {status}: {body[:300]}")
        self.status = status
        self.body = body


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_provisioning(text: str) -> dict:
    """The QR code's JSON {"api", "device", "token"}, given as the JSON itself or a file's path."""
    text = text.strip()
    if not text.startswith("{"):
        text = Path(text).read_text()
    data = json.loads(text)
    missing = {"api", "token"} - data.keys()
    if missing:
        raise ValueError(f"provisioning JSON lacks {', '.join(sorted(missing))}")
    return data


def api_base(url: str) -> str:
    """The device API's base URL from either the site's root or the API's own URL."""
    url = url if url.endswith("/") else url + "/"
    return url if "/api/devices/" in urlparse(url).path else urljoin(url, API_PATH)


@dataclass(frozen=True)
class Fix:
    """One GPS fix of the walk."""

    at: dt.datetime
    lat: float
    lon: float
    accuracy_m: float


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def walk(
    start: dt.datetime, seconds: int, origin: tuple[float, float] = DEFAULT_START
) -> list[Fix]:
    """A fix a second (seconds + 1 of them) along a gently curving walk from `origin`."""
    lat, lon = origin
    fixes = []
    for i in range(seconds + 1):
        heading = math.radians(40 + 30 * math.sin(i / 20))
        fixes.append(Fix(start + dt.timedelta(seconds=i), lat, lon, 4.0 + (i % 5) * 0.5))
        lat += WALK_SPEED_M_S * math.cos(heading) / 111_320
        lon += WALK_SPEED_M_S * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
    return fixes


def track_gpx(fixes: list[Fix], *, name: str) -> str:
    """GPX 1.1 of the fixes, the format most cameras' exports use."""
    points = "\n".join(
        f'      <trkpt lat="{f.lat:.7f}" lon="{f.lon:.7f}"><time>{rfc3339(f.at)}</time></trkpt>'
        for f in fixes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Canvass body-camera simulator"'
        ' xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"  <trk><name>{escape(name)}</name>\n    <trkseg>\n{points}\n    </trkseg>\n  </trk>\n"
        "</gpx>\n"
    )


def _drawtext_escape(text: str) -> str:
    # Inside a quoted filter option only ' and \ are special; a label never needs either.
    return text.replace("\\", "").replace("'", "").replace(":", r"\:")


def clip_mp4(target: Path, *, start: dt.datetime, seconds: int, label: str) -> Path:
    """An H.264/AAC MP4 of a test pattern with the label and the UTC wall-clock time of each
    frame burned in (ffmpeg's `pts:gmtime` from the start), the way a body camera stamps video."""
    epoch = int(start.timestamp())
    clock = rf"%{{pts\:gmtime\:{epoch}\:%Y-%m-%d %H\\\:%M\\\:%S}} UTC"
    font = f"fontfile={FONT_FILE}" if FONT_FILE.exists() else "font=Mono"
    text = f"drawtext={font}:fontsize=22:fontcolor=white:box=1:boxcolor=black@0.6:x=10:y=h-th-10"
    stamp = f"{text}:text='{_drawtext_escape(label)}  {clock}'"
    media.synthesize(
        "-f", "lavfi", "-i", f"testsrc2=size={CLIP_SIZE}:rate={CLIP_RATE}",
        "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000",
        "-t", str(seconds), "-vf", stamp,
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(CLIP_RATE),
        "-c:a", "aac", "-metadata", f"creation_time={rfc3339(start)}",
        "-movflags", "+faststart", str(target),
    )  # fmt: skip
    return target


def live_publish(url: str, *, label: str) -> subprocess.Popen:
    """Push a live stream as a body camera does while it records: a test pattern with the
    label and the UTC wall clock burned in, H.264 with a keyframe every second (1 s GOP, so
    the relay's segments are 1 s) and AAC, over RTMP to `url` (…/live/<stream>?key=<key>)."""
    clock = r"%{gmtime\:%Y-%m-%d %H\\\:%M\\\:%S} UTC"
    font = f"fontfile={FONT_FILE}" if FONT_FILE.exists() else "font=Mono"
    text = f"drawtext={font}:fontsize=22:fontcolor=white:box=1:boxcolor=black@0.6:x=10:y=h-th-10"
    stamp = f"{text}:text='{_drawtext_escape(label)}  {clock}'"
    return media.synthesize_live(
        "-re", "-f", "lavfi", "-i", f"testsrc2=size={CLIP_SIZE}:rate={CLIP_RATE}",
        "-re", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000",
        "-vf", stamp,
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", str(CLIP_RATE), "-keyint_min", str(CLIP_RATE), "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-f", "flv", url,
    )  # fmt: skip


def live_url(base: str, stream: str, key: str) -> str:
    """rtmp://host:port/live + the camera's stream name and key (the key in the query)."""
    return f"{base.rstrip('/')}/{stream}?key={key}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def recording_files(
    folder: Path,
    *,
    recording_id: str,
    label: str,
    started: dt.datetime,
    fixes: list[Fix],
    pre_event_seconds: int,
    trigger: str,
    to_server: Callable[[dt.datetime], dt.datetime] = lambda moment: moment,
    cad_event_id: str = "",
) -> tuple[Path, Path, dict]:
    """What a camera keeps of one recording: its clip, its GPX track and its manifest (DEVICE
    API v1), with times as the device believes the server's clock reads (`to_server`) and its
    own clock beside them. Starts at `started`, stops at the last fix."""
    folder.mkdir(parents=True, exist_ok=True)
    stopped = fixes[-1].at
    seconds = round((stopped - started).total_seconds())
    trigger_on = started + dt.timedelta(seconds=pre_event_seconds)
    clip = clip_mp4(folder / "clip.mp4", start=started, seconds=seconds, label=label)
    track = folder / "track.gpx"
    track.write_text(track_gpx(fixes, name=recording_id))
    on_fix = fixes[min(pre_event_seconds, len(fixes) - 1)]
    manifest = {
        "recording_id": recording_id,
        "started_at": rfc3339(to_server(started)),
        "stopped_at": rfc3339(to_server(stopped)),
        "pre_event_seconds": pre_event_seconds,
        "pre_event_audio": False,
        "trigger_on": {
            "source": trigger,
            "at": rfc3339(to_server(trigger_on)),
            "location": {"lat": on_fix.lat, "lon": on_fix.lon},
        },
        "trigger_off": {
            "source": "button",
            "at": rfc3339(to_server(stopped)),
            "location": {"lat": fixes[-1].lat, "lon": fixes[-1].lon},
        },
        "bookmarks": [],
        "sha256": sha256_of(clip),
        "size": clip.stat().st_size,
        "filename": f"{recording_id}.mp4",
        "media_type": "video/mp4",
        "device_clock": {
            "started_at": rfc3339(started),
            "stopped_at": rfc3339(stopped),
            "trigger_on_at": rfc3339(trigger_on),
            "trigger_off_at": rfc3339(stopped),
        },
        "cad_event_id": cad_event_id,
    }
    return clip, track, manifest


class SimulatedCamera:
    """One camera: its credential, its clock and its storage (`state_dir`, which survives a
    reboot: the recordings, their tus URLs and upload grants)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        state_dir: Path | str,
        *,
        serial: str = "SIM-0001",
        clock_skew_seconds: float = 0.0,
        origin: tuple[float, float] = DEFAULT_START,
        chunk_size: int | None = None,
    ):
        self.api = api_base(base_url)
        self.token = token
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.serial = serial
        self.clock_skew = dt.timedelta(seconds=clock_skew_seconds)
        self.origin = origin
        self.chunk_size = chunk_size
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Device {token}"
        # What the device believes the server's clock is ahead of its own, from heartbeats.
        self.offset = dt.timedelta(0)
        self.battery = 96

    @classmethod
    def from_provisioning(cls, provisioning: dict, state_dir: Path | str, **kwargs):
        return cls(provisioning["api"], provisioning["token"], state_dir, **kwargs)

    # --- the clock and the state on "disk" ------------------------------------------------

    def device_now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.clock_skew

    def server_time(self, device_time: dt.datetime) -> dt.datetime:
        return device_time + self.offset

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def state(self) -> dict:
        if not self._state_file.exists():
            return {"recordings": {}}
        return json.loads(self._state_file.read_text())

    def _save(self, state: dict) -> None:
        # Written aside then renamed: a "power cut" mid-write leaves the old state whole.
        scratch = self._state_file.with_suffix(".tmp")
        scratch.write_text(json.dumps(state, indent=2))
        os.replace(scratch, self._state_file)

    def _update(self, recording_id: str, **fields) -> dict:
        state = self.state()
        state["recordings"].setdefault(recording_id, {}).update(fields)
        self._save(state)
        return state["recordings"][recording_id]

    # --- the device API --------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, urljoin(self.api, path), timeout=TIMEOUT, **kwargs)
        if response.status_code >= 400:
            raise DeviceApiError(response.status_code, response.text)
        return response

    def heartbeat(self, state: str = "idle", fix: Fix | None = None) -> dict:
        """Say how the camera is; the location goes only while recording. Returns the reply."""
        sent = self.device_now()
        body: dict = {
            "state": state,
            "battery_percent": self.battery,
            "storage_free_bytes": 48 * 1024**3,
            "firmware": FIRMWARE,
            "device_time": rfc3339(sent),
        }
        if state == "recording" and fix is not None:
            body["location"] = {
                "lat": fix.lat,
                "lon": fix.lon,
                "accuracy_m": fix.accuracy_m,
                "at": rfc3339(fix.at),
            }
        reply = self._call("POST", "heartbeat", json=body).json()
        received = self.device_now()
        server = dt.datetime.fromisoformat(reply["server_time"].replace("Z", "+00:00"))
        self.offset = server - (sent + (received - sent) / 2)
        self.battery = max(5, self.battery - 1)
        return reply

    def ack(self, command_id: str, outcome: str = "") -> None:
        self._call(
            "POST", f"commands/{command_id}/ack", json={"outcome": outcome} if outcome else {}
        )

    def wait_commands(self, seconds: float) -> dict:
        """Long-poll: returns as soon as the server has a command, or after `seconds`."""
        response = self.session.get(
            urljoin(self.api, "commands"), params={"wait": seconds}, timeout=seconds + TIMEOUT
        )
        if response.status_code >= 400:
            raise DeviceApiError(response.status_code, response.text)
        return response.json()

    def raise_alert(self, kind: str, fix: Fix | None = None) -> dict:
        """The camera's own alert button (SOS, Watch Me) or sensor (gunshot)."""
        body: dict = {"type": kind, "at": rfc3339(self.device_now())}
        if fix is not None:
            body["location"] = {"lat": fix.lat, "lon": fix.lon}
        return self._call("POST", "alerts", json=body).json()

    def within(self, command: dict) -> bool:
        """A conditional command applies only within radius_m of its place (our own GPS)."""
        near, radius = command.get("near"), command.get("radius_m")
        if not near or radius is None:
            return True
        return metres_between(self.origin, (near["lat"], near["lon"])) <= radius

    def obey(self, reply: dict, *, seconds: int = 6) -> list[str]:
        """Carry out and acknowledge the commands of a heartbeat or long-poll reply; returns
        the recording ids started by a start_recording command."""
        started = []
        for command in reply.get("commands", []):
            state = self.state()  # read again: a recording made on the way changed it
            handled = state.setdefault("handled_commands", [])
            if command["id"] in handled:  # handed over again: its acknowledgement was lost
                self.ack(command["id"], "shown")
                continue
            handled.append(command["id"])
            self._save(state)
            if command["kind"] != "start_recording":
                self.ack(command["id"], "shown")
                continue
            if not self.within(command):
                self.ack(command["id"], "out_of_range")
                continue
            self.ack(command["id"], "started")
            started.append(self.record(seconds, trigger=command.get("trigger") or "remote"))
        return started

    # --- recording ---------------------------------------------------------------------------

    def record(self, seconds: int, *, trigger: str = "button", cad_event_id: str = "") -> str:
        """A recording that has just ended: its clip, its track and its manifest, kept in
        state_dir. Heartbeats `recording` with the last fix on the way. Returns its id."""
        seconds = max(1, int(seconds))
        stopped = self.device_now()
        started = stopped - dt.timedelta(seconds=seconds)
        pre_event = min(30, seconds // 3)
        fixes = walk(started, seconds, self.origin)
        self.heartbeat("recording", fixes[-1])
        recording_id = f"{self.serial}-{started.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        clip, track, manifest = recording_files(
            self.state_dir / recording_id,
            recording_id=recording_id,
            label=self.serial,
            started=started,
            fixes=fixes,
            pre_event_seconds=pre_event,
            trigger=trigger,
            to_server=self.server_time,
            cad_event_id=cad_event_id,
        )
        self._update(
            recording_id, clip=str(clip), track=str(track), manifest=manifest, points=len(fixes)
        )
        self.heartbeat("idle")
        return recording_id

    def go_live(
        self, rtmp_base: str, stream: str, key: str, seconds: float, *, interval: float = 2.0
    ) -> int:
        """Record for `seconds` while pushing the live stream to the relay, heartbeating
        `recording` every `interval` seconds, then say `idle` (which ends the stream) and stop
        the push. Returns the push's exit code (non-zero when the relay refused or cut it)."""
        fix = walk(self.device_now(), 1, self.origin)[-1]
        self.heartbeat("recording", fix)
        proc = live_publish(live_url(rtmp_base, stream, key), label=self.serial)
        end = time.monotonic() + seconds
        try:
            while proc.poll() is None and (left := end - time.monotonic()) > 0:
                time.sleep(min(interval, left))
                self.heartbeat("recording", fix)
        finally:
            self.heartbeat("idle")
            code = media.live_stop(proc)
        return code

    # --- offload -----------------------------------------------------------------------------

    def announce(self, recording_id: str) -> dict:
        """Send the manifest (idempotent); keeps the server's id and any fresh upload grant."""
        kept = self.state()["recordings"][recording_id]
        manifest = {**kept["manifest"], "device_clock": {**kept["manifest"]["device_clock"]}}
        manifest["device_clock"]["sent_at"] = rfc3339(self.device_now())
        reply = self._call("POST", "recordings", json=manifest).json()
        fields: dict = {"server_id": reply["id"], "status": reply["status"]}
        upload = reply.get("upload")
        if upload and upload["value"] != kept.get("grant", {}).get("value"):
            fields["grant"] = upload
            fields["tus_url"] = None  # an upload belongs to its grant: a new grant starts anew
        self._update(recording_id, **fields)
        return reply

    def _uploader(self, recording_id: str) -> Uploader:
        kept = self.state()["recordings"][recording_id]
        grant = kept["grant"]
        endpoint = urljoin(self.api, grant.get("endpoint", UPLOAD_ENDPOINT))
        client = TusClient(endpoint, headers={grant.get("header", GRANT_HEADER): grant["value"]})
        # A fresh client with a kept URL asks the server where to go on (HEAD), as tus says.
        return Uploader(
            file_path=kept["clip"],
            client=client,
            url=kept.get("tus_url") or None,
            chunk_size=self.chunk_size or chunk_size_for(os.path.getsize(kept["clip"])),
            metadata={"filename": kept["manifest"]["filename"], "filetype": "video/mp4"},
        )

    def offload(self, recording_id: str, *, cut_at: float | None = None) -> bool:
        """Send the clip through tus, from where the server says it stands. With `cut_at`, stop
        once that fraction is sent (the "power cut"); returns whether the clip is all there."""
        kept = self.state()["recordings"][recording_id]
        if kept.get("status") == "complete":
            return True
        if not kept.get("grant"):
            self.announce(recording_id)
        try:
            uploader = self._uploader(recording_id)
        except TusCommunicationError:
            # The kept upload is gone (grant expired or revoked): ask again and start over.
            self._update(recording_id, grant=None, tus_url=None)
            self.announce(recording_id)
            uploader = self._uploader(recording_id)
        size = uploader.get_file_size()
        if uploader.url is None:
            uploader.set_url(uploader.create_url())
            uploader.offset = 0
        self._update(recording_id, tus_url=uploader.url, status="transferring")
        stop_at = size if cut_at is None else int(size * cut_at)
        while uploader.offset < size and (cut_at is None or uploader.offset < stop_at):
            uploader.upload_chunk()
            self._update(recording_id, sent_bytes=uploader.offset)
        done = uploader.offset >= size
        if done:
            self._update(recording_id, status="complete")
        return done

    def send_track(self, recording_id: str) -> int:
        """Post the recording's GPX track; returns the points the server stored."""
        kept = self.state()["recordings"][recording_id]
        if kept.get("track_points") is not None:
            return kept["track_points"]
        if not kept.get("server_id"):
            self.announce(recording_id)
            kept = self.state()["recordings"][recording_id]
        reply = self._call(
            "POST",
            f"recordings/{kept['server_id']}/track",
            data=Path(kept["track"]).read_bytes(),
            headers={"Content-Type": "application/gpx+xml"},
        ).json()
        self._update(recording_id, track_points=reply["points"])
        return reply["points"]

    def recording(self, recording_id: str) -> dict:
        """The server's view of one of our recordings."""
        server_id = self.state()["recordings"][recording_id]["server_id"]
        return self._call("GET", f"recordings/{server_id}").json()

    def pending(self) -> list[str]:
        """Recordings not yet fully offloaded (clip or track), oldest first."""
        return [
            rid
            for rid, kept in self.state()["recordings"].items()
            if kept.get("status") != "complete" or kept.get("track_points") is None
        ]
