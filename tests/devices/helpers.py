"""Calling the device API as a body camera would, for tests."""

import datetime as dt
import hashlib
import json
import uuid

from django.test import Client
from django.utils import timezone

from tests.devices.factories import DeviceFactory, credential_for


class Camera:
    """A device of the agency with its credential, calling the API as the device would."""

    def __init__(self, agency, **fields):
        self.device = DeviceFactory(agency=agency, **fields)
        self.token = credential_for(self.device)
        self.client = Client()

    @classmethod
    def of(cls, device, token):
        """A device made elsewhere, calling with `token`."""
        camera = cls.__new__(cls)
        camera.device, camera.token, camera.client = device, token, Client()
        return camera

    def headers(self, token=None):
        return {"Authorization": f"Device {token or self.token}"}

    def post(self, url, body=None, *, token=None, content_type="application/json"):
        data = json.dumps(body) if isinstance(body, dict | list) else body
        return self.client.generic(
            "POST",
            url,
            data or b"",
            content_type=content_type,
            headers=self.headers(token),
            CONTENT_TYPE=content_type,  # the test client drops it when the body is empty
        )

    def get(self, url, *, token=None):
        return self.client.get(url, headers=self.headers(token))


def beat(state="idle", location=None, **extra):
    body = {
        "state": state,
        "battery_percent": 81,
        "storage_free_bytes": 12_000_000_000,
        "firmware": "11.2.6",
        "device_time": timezone.now().isoformat(),
        **extra,
    }
    if location is not None:
        body["location"] = location
    return body


def manifest(*, data=b"recording bytes", recording_id=None, **changes):
    stopped = timezone.now() - dt.timedelta(minutes=5)
    started = stopped - dt.timedelta(minutes=3)
    trigger = started + dt.timedelta(seconds=30)
    body = {
        "recording_id": recording_id or f"REC-{uuid.uuid4().hex[:8]}",
        "started_at": started.isoformat(),
        "stopped_at": stopped.isoformat(),
        "pre_event_seconds": 30,
        "pre_event_audio": False,
        "trigger_on": {
            "source": "holster",
            "at": trigger.isoformat(),
            "location": {"lat": 40.7128, "lon": -74.006},
        },
        "trigger_off": {"source": "button", "at": stopped.isoformat(), "location": None},
        "bookmarks": [{"at": (trigger + dt.timedelta(seconds=20)).isoformat(), "label": "suspect"}],
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "filename": "clip.avi",
        "media_type": "video/mp4",
        "device_clock": {"sent_at": (timezone.now() + dt.timedelta(seconds=4)).isoformat()},
        "cad_event_id": "CAD-2026-0042",
    }
    body.update(changes)
    return body


def recorded_item(agency, *, started_at, fixes=(), pre_event_seconds=30, **item_fields):
    """A body-camera item whose recording started (pre-event buffer included) at `started_at`,
    with its GPS track: `fixes` are (seconds after started_at, lat, lon, accuracy_m) rows."""
    from django.contrib.gis.geos import Point

    from devices.models import Recording, TrackPoint
    from evidence.models import Source
    from tests.devices.factories import DeviceFactory
    from tests.factories import stored_item

    item = stored_item(agency=agency, source=Source.BODYCAM, **item_fields)
    last = max((f[0] for f in fixes), default=0)
    recording = Recording.objects.create(
        agency=agency,
        device=DeviceFactory(agency=agency),
        device_recording_id=f"REC-{uuid.uuid4().hex[:8]}",
        started_at=started_at,
        stopped_at=started_at + dt.timedelta(seconds=max(last, 0)),
        pre_event_seconds=pre_event_seconds,
        trigger_on_source="holster",
        trigger_on_at=started_at + dt.timedelta(seconds=pre_event_seconds),
        device_sha256=item.sha256,
        status=Recording.Status.COMPLETE,
        item=item,
    )
    item.source_ref = str(recording.pk)
    item.save(update_fields=["source_ref"])
    TrackPoint.objects.bulk_create(
        TrackPoint(
            recording=recording,
            t=started_at + dt.timedelta(seconds=seconds),
            point=Point(lon, lat, srid=4326),
            accuracy_m=accuracy,
        )
        for seconds, lat, lon, accuracy in fixes
    )
    return item
