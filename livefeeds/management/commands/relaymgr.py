"""`manage.py relaymgr`: run the relay manager (livefeeds/relaymgr.py) until SIGTERM/SIGINT."""

import signal
import threading

from django.core.management.base import BaseCommand

from livefeeds.relaymgr import RelayManager


class Command(BaseCommand):
    help = "Pull each wanted CCTV camera into the relay (one ffmpeg -c copy each) while wanted."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=None, help="seconds between passes")

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("relaymgr: running", ending="\n")
        self.stdout.flush()
        RelayManager().run(stop, poll=options["poll"])
        self.stdout.write("relaymgr: stopped")
