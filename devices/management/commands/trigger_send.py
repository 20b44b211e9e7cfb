"""`manage.py trigger_send`: play a trigger source (a TASER hub, a holster sensor, a gunshot
detector) against a running Canvass: one signed delivery to the trigger webhook, over HTTP."""

import datetime as dt
import json
import time
import uuid

import requests
from django.core.management.base import BaseCommand, CommandError

from devices import webhooks

PATH = "/api/devices/v1/triggers/"


class Command(BaseCommand):
    help = "Send one signed activation trigger to Canvass's trigger webhook, as a source would."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Canvass's address")
        parser.add_argument("--source", required=True, help="the trigger source's id")
        parser.add_argument("--secret", required=True, help="the source's webhook secret")
        parser.add_argument("--type", default="taser_armed", help="taser_armed, gunshot, …")
        parser.add_argument("--device", default="", help="the body camera's serial")
        parser.add_argument("--unit", default="", help="or the unit's call sign")
        parser.add_argument("--lat", type=float)
        parser.add_argument("--lon", type=float)

    def handle(self, *args, **options):
        body: dict = {
            "type": options["type"],
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "device": options["device"],
            "unit": options["unit"],
            "event_id": uuid.uuid4().hex[:12],
        }
        if options["lat"] is not None and options["lon"] is not None:
            body["location"] = {"lat": options["lat"], "lon": options["lon"]}
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            webhooks.SOURCE_HEADER: options["source"],
            webhooks.TIMESTAMP_HEADER: stamp,
            webhooks.NONCE_HEADER: uuid.uuid4().hex,
            webhooks.SIGNATURE_HEADER: webhooks.signature_of(options["secret"], stamp, raw),
        }
        try:
            response = requests.post(
                options["url"].rstrip("/") + PATH, data=raw, headers=headers, timeout=10
            )
        except requests.RequestException as error:
            raise CommandError(f"Canvass did not answer: {error}") from error
        if response.status_code != 201:
            raise CommandError(f"{response.status_code}: {response.text}")
        reply = response.json()
        self.stdout.write(
            f"trigger {reply['trigger']}: alert {reply['alert'] or 'off'}, "
            f"{reply['commands']} camera(s) told to record"
        )
