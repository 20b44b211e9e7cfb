"""scripts/setup.sh picks the PostGIS package that matches the PostgreSQL it uses or would install.

Each test runs `scripts/setup.sh packages` (print what would be installed, install nothing) with a
PATH holding only the ordinary tools it needs plus stand-ins for the Debian package tools
(apt-cache, dpkg-query, pg_lsclusters) that describe a Debian 12, Ubuntu 24.04 or Debian 13 machine.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ["bash", "env", "awk", "sed", "sort", "head", "tail", "grep", "dirname", "cat", "id"]

DPKG_QUERY = """#!/bin/bash
# Stand-in for dpkg-query -W [-f=FORMAT] NAME-OR-PATTERN: packages in $STUB_INSTALLED are installed.
name="${@: -1}"
found=1
for p in $STUB_INSTALLED; do
  if [[ "$name" == *"*"* ]]; then
    [[ "$p" == $name ]] && { echo "$p install ok installed"; found=0; }
  elif [ "$p" = "$name" ]; then
    printf 'install ok installed'; exit 0
  fi
done
[ $found = 0 ] || echo "dpkg-query: no packages found matching $name" >&2
exit $found
"""

APT_CACHE = """#!/bin/bash
# Stand-in for `apt-cache depends postgresql` on a machine whose default server is $STUB_PG_DEFAULT.
if [ "$1 $2" = "depends postgresql" ]; then
  printf 'postgresql\\n  Depends: postgresql-%s\\n  Suggests: postgresql-doc\\n' "$STUB_PG_DEFAULT"
fi
"""

PG_LSCLUSTERS = """#!/bin/bash
# Stand-in for pg_lsclusters -h: one line per "VERSION:PORT" in $STUB_CLUSTERS.
for c in $STUB_CLUSTERS; do
  v=${c%%:*}; port=${c##*:}
  echo "$v main $port online postgres /var/lib/postgresql/$v/main /var/log/postgresql/postgresql-$v-main.log"
done
"""


def _stub(bindir: Path, name: str, text: str) -> None:
    path = bindir / name
    path.write_text(text)
    path.chmod(0o755)


def run_packages(
    tmp_path,
    *,
    pg_default,
    installed=(),
    clusters=None,
    database_url=None,
):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in TOOLS:
        (bindir / tool).symlink_to(shutil.which(tool))
    # npm present, so the script does not add nodejs/npm (not what these tests are about).
    _stub(bindir, "npm", "#!/bin/bash\nexit 0\n")
    _stub(bindir, "dpkg-query", DPKG_QUERY)
    _stub(bindir, "apt-cache", APT_CACHE)
    if clusters is not None:  # pg_lsclusters exists only once postgresql-common is installed
        _stub(bindir, "pg_lsclusters", PG_LSCLUSTERS)
    env = {
        "PATH": str(bindir),
        "HOME": str(tmp_path),
        "STUB_PG_DEFAULT": pg_default,
        "STUB_INSTALLED": " ".join(installed),
        "STUB_CLUSTERS": " ".join(clusters or ()),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    done = subprocess.run(
        [str(bindir / "bash"), str(ROOT / "scripts" / "setup.sh"), "packages"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


BASE = [
    "postgresql-common",
    "gdal-bin",
    "ffmpeg",
    "fonts-dejavu-core",  # the simulator burns the time into its video with it
    "redis-server",
    "python3-venv",
    "curl",
    "gettext",
    "nginx",  # the live relay, with its RTMP module
    "libnginx-mod-rtmp",
    # the RTSP camera: the tests' cameras and `make run`'s demo CCTV camera (Procfile democam)
    "gir1.2-gst-rtsp-server-1.0",
    "gstreamer1.0-rtsp",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-x",
    "gstreamer1.0-tools",
    "python3-gi",
]


@pytest.mark.parametrize(
    ("system", "pg_default"),
    [("Debian 12", "15"), ("Ubuntu 24.04", "16"), ("Debian 13", "17")],
)
def test_a_fresh_machine_gets_postgis_for_the_postgresql_its_apt_would_install(
    tmp_path, system, pg_default
):
    packages = run_packages(tmp_path, pg_default=pg_default)
    assert packages == BASE + [f"postgresql-{pg_default}", f"postgresql-{pg_default}-postgis-3"]


def test_an_existing_cluster_wins_over_the_default_version(tmp_path):
    # PostgreSQL 16 already serves port 5432; apt's default has moved on to 17.
    packages = run_packages(
        tmp_path,
        pg_default="17",
        installed=["postgresql-common", "postgresql-16"],
        clusters=["17:5433", "16:5432"],
    )
    assert "postgresql-16-postgis-3" in packages
    assert not [p for p in packages if p.startswith("postgresql-17")]
    assert "postgresql-16" not in packages  # already installed


def test_an_installed_server_without_a_cluster_decides_the_version(tmp_path):
    packages = run_packages(
        tmp_path,
        pg_default="17",
        installed=["postgresql-common", "postgresql-15", "postgresql-15-postgis-3-scripts"],
        clusters=[],
    )
    assert "postgresql-15-postgis-3" in packages
    assert not [p for p in packages if p.startswith("postgresql-17")]


def test_nothing_is_printed_when_everything_is_installed(tmp_path):
    installed = BASE + ["postgresql-16", "postgresql-16-postgis-3"]
    assert run_packages(tmp_path, pg_default="16", installed=installed, clusters=["16:5432"]) == []


def test_a_remote_database_needs_no_postgresql_server(tmp_path):
    packages = run_packages(
        tmp_path, pg_default="16", database_url="postgis://canvass@db.example:5432/canvass"
    )
    assert packages == BASE


def test_the_demo_camera_runs_in_make_run_from_the_procfile_on_loopback():
    """`make run` starts the demo CCTV camera and tells the relay (and seed_demo) about it."""
    procfile = (ROOT / "Procfile").read_text()
    [line] = [x for x in procfile.splitlines() if x.startswith("democam:")]
    assert "/usr/bin/python3 scripts/rtsp_test_camera.py --port 8554" in line
    makefile = (ROOT / "Makefile").read_text()
    assert "DEMO_CAMERA := rtsp://127.0.0.1:8554/stream" in makefile
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "RELAY_DEMO_CAMERA=$(DEMO_CAMERA) $(PY) manage.py seed_demo" in run
    assert "RELAY_DEMO_CAMERA=$(DEMO_CAMERA) .venv/bin/honcho start" in run
