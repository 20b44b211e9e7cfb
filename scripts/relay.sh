#!/usr/bin/env bash
# The live relay in the foreground (the Procfile's `relay:` line): nginx + nginx-rtmp with the
# config rendered from Canvass's settings. As root (CI, containers) nginx would hand its workers
# to `nobody` and chown the HLS folders it makes to it, so the whole relay runs as nobody instead.
set -euo pipefail
cd "$(dirname "$0")/.."
conf=$(.venv/bin/python manage.py render_relay_conf)
prefix=$(dirname "$conf")
cmd=(nginx -p "$prefix/" -c "$conf" -e stderr -g 'daemon off;')
if [ "$(id -u)" = 0 ]; then
  chown -R nobody:nogroup "$prefix"
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups "${cmd[@]}"
fi
exec "${cmd[@]}"
