"""The relay (nginx with nginx-rtmp): its config rendered from the settings, and the calls
Django makes to it (drop a publisher at once).

Traps this config answers (see the spike, /work/shared/livefeeds.md): nginx-rtmp resolves
hls_path and its access_log against the working directory, not the prefix, so every path is
absolute; its default access log writes the publish URL's query (the stream key) and the http
log the viewer token in the path, so neither is logged; every *_temp_path stays in the prefix;
one worker holds all RTMP state; `daemon` is left to the command line (`-g 'daemon off;'`).
"""

import logging
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings

log = logging.getLogger(__name__)

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
APPS = ("live", "cam")
CONTROL_TIMEOUT = 2.0


@dataclass(frozen=True)
class RelayConfig:
    """What the config is made from: the settings, or a test's free ports and prefix."""

    prefix: Path
    rtmp_port: int
    http_port: int
    django_url: str
    secret: str
    playlist_seconds: int = 60
    update_seconds: int = 10
    # nginx-rtmp's /control (drop a publisher) and /stat: a server of their own, on 127.0.0.1
    # only, never the port browsers reach (0: none).
    control_port: int = 0
    # bench/live.py only: the same files without auth_request, from this host, to measure
    # what the check costs. Never from the settings.
    open_twin: bool = False

    @classmethod
    def from_settings(cls) -> "RelayConfig":
        return cls(
            prefix=Path(settings.RELAY_DIR),
            rtmp_port=settings.RELAY_RTMP_PORT,
            http_port=settings.RELAY_HTTP_PORT,
            django_url=settings.RELAY_DJANGO_URL.rstrip("/"),
            secret=settings.RELAY_SECRET,
            playlist_seconds=settings.RELAY_HLS_PLAYLIST_SECONDS,
            update_seconds=settings.RELAY_UPDATE_SECONDS,
            control_port=settings.RELAY_CONTROL_PORT,
        )

    def hls_dir(self, app: str) -> Path:
        return self.prefix / "hls" / app


def _callback(config: RelayConfig, event: str) -> str:
    return f"{config.django_url}/relay/rtmp/{event}?{urlencode({'secret': config.secret})}"


def _application(config: RelayConfig, app: str) -> str:
    hooks = "\n".join(
        f"            {event} {_callback(config, event)};"
        for event in ("on_publish", "on_publish_done", "on_update")
    )
    return f"""        application {app} {{
            live on;
            # Nobody plays RTMP from here: browsers get HLS, gated per request.
            deny play all;
            drop_idle_publisher 10s;
{hooks}
            hls on;
            hls_path {config.hls_dir(app)};
            hls_nested on;
            # A fragment closes at the first keyframe at least hls_fragment after it opened:
            # 1s made a camera's first fragment (and any GOP a hair under 1 s) two GOPs long,
            # which the first playlist waited for (bench/cctv_live.py). Segments are one GOP;
            # hls_max_fragment keeps the old 10 s before nginx cuts a long GOP mid-way.
            hls_fragment 500ms;
            hls_max_fragment 10s;
            hls_playlist_length {config.playlist_seconds}s;
            hls_fragment_naming system;
        }}"""


def _open_twin(config: RelayConfig) -> str:
    if not config.open_twin:
        return ""
    apps = "|".join(APPS)
    return f"""
        location ~ ^/open-hls/(?<oapp>{apps})/(?<ostream>[A-Za-z0-9_-]+)/(?<ofile>[A-Za-z0-9_-]+\\.(?:m3u8|ts))$ {{
            allow 127.0.0.1; deny all;
            types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
            add_header Cache-Control no-store always;
            alias {config.prefix}/hls/$oapp/$ostream/$ofile;
        }}"""


def _control_server(config: RelayConfig) -> str:
    if not config.control_port:
        return ""
    return f"""
    server {{
        # The relay's controls, for Django on this host: drop a publisher, read the state.
        listen 127.0.0.1:{config.control_port};
        location /control/ {{ allow 127.0.0.1; deny all; rtmp_control all; }}
        location = /stat {{ allow 127.0.0.1; deny all; rtmp_stat all; }}
        location / {{ return 404; }}
    }}"""


def render(config: RelayConfig) -> str:
    """nginx.conf for `nginx -p <prefix> -c <prefix>/nginx.conf -e stderr -g 'daemon off;'`."""
    prefix = config.prefix
    django = urlsplit(config.django_url)
    # Kept-alive connections to Django: a segment's check then opens no TCP connection.
    auth = f"http://canvass/relay/auth/hls?{urlencode({'secret': config.secret})}"
    applications = "\n".join(_application(config, app) for app in APPS)
    apps = "|".join(APPS)
    return f"""# Rendered by `manage.py render_relay_conf` from Canvass's settings; edits are overwritten.
# Run: nginx -p {prefix} -c {prefix}/nginx.conf -e stderr -g 'daemon off;'
load_module {RTMP_MODULE};
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 1024; }}

rtmp {{
    # Never the query: a publish URL carries the camera's stream key in it.
    log_format nokeys '$remote_addr [$time_local] $command "$app" "$name" $bytes_received $bytes_sent ($session_readable_time)';
    server {{
        listen 127.0.0.1:{config.rtmp_port};
        chunk_size 4096;
        access_log {prefix}/logs/rtmp-access.log nokeys;
        notify_method post;
        notify_update_timeout {config.update_seconds}s;
        notify_update_strict on;
{applications}
    }}
}}

http {{
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    # The viewer token sits in the HLS path: the log keeps the path with the token masked.
    map $uri $masked_uri {{
        "~^/hls/[^/]+/(?<rest>.*)$" "/hls/-/$rest";
        default $uri;
    }}
    log_format masked '$remote_addr [$time_local] "$request_method $masked_uri" $status $body_bytes_sent $request_time';
    access_log {prefix}/logs/http-access.log masked;
    server_tokens off;
    upstream canvass {{
        server {django.netloc};
        keepalive 8;
    }}
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{config.http_port};
        location ~ ^/hls/(?<tok>[A-Za-z0-9_-]+)/(?<happ>{apps})/(?<hstream>[A-Za-z0-9_-]+)/(?<hfile>[A-Za-z0-9_-]+\\.(?:m3u8|ts))$ {{
            # nginx matched the decoded, normalised path; Django is asked about the raw one.
            # Both must be the same file: a raw URI with %2F or dot segments (a token of one
            # feed walking to another's files) is refused before anyone is asked.
            if ($request_uri !~ "^/hls/[A-Za-z0-9_-]+/({apps})/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+\\.(m3u8|ts)$") {{
                return 403;
            }}
            auth_request /_auth_hls;
            types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
            add_header Cache-Control no-store always;
            alias {prefix}/hls/$happ/$hstream/$hfile;
        }}
        location /hls/ {{ return 403; }}{_open_twin(config)}
        location = /_auth_hls {{
            internal;
            proxy_pass {auth};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host {django.netloc};
            proxy_set_header X-Original-URI $request_uri;
            proxy_connect_timeout 2s;
            proxy_read_timeout 5s;
        }}
        # Not here: /control and /stat have their own loopback server (below).
        location /control {{ return 404; }}
        location = /stat {{ return 404; }}
        # Everything else is Canvass itself, so the viewer page and its HLS share one origin.
        location / {{
            proxy_pass {config.django_url};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}{_control_server(config)}
}}
"""


def write(config: RelayConfig) -> Path:
    """Write nginx.conf into the prefix with the folders it names; returns its path."""
    for folder in ("logs", "temp", "hls/live", "hls/cam"):
        (config.prefix / folder).mkdir(parents=True, exist_ok=True)
    target = config.prefix / "nginx.conf"
    scratch = target.with_suffix(".tmp")
    scratch.unlink(missing_ok=True)
    # Made 0600 from the start: it holds the callback secret.
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(render(config))
    os.replace(scratch, target)
    return target


def spawn(config: RelayConfig, *, output: IO[bytes] | int | None = None) -> subprocess.Popen:
    """Write the config and start nginx on it in the foreground (tests and benches; production
    runs scripts/relay.sh). As root, nginx would hand its workers to `nobody` and chown the HLS
    folders it makes to it: the whole relay runs as nobody instead, owning its prefix."""
    conf = write(config)
    argv = ["nginx", "-p", f"{config.prefix}/", "-c", str(conf), "-e", "stderr"]
    argv += ["-g", "daemon off;"]
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in [config.prefix, *config.prefix.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        argv = [
            "setpriv",
            f"--reuid={nobody.pw_uid}",
            f"--regid={nobody.pw_gid}",
            "--clear-groups",
            *argv,
        ]
    return subprocess.Popen(  # noqa: S603 - an argument list we built; no shell
        argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output
    )


def drop_publisher(app: str, stream: str) -> bool:
    """Cut a publisher off now (nginx-rtmp's /control/drop); on_update would take up to
    RELAY_UPDATE_SECONDS. Whether the relay answered; a relay that is down has nobody to cut."""
    url = f"http://127.0.0.1:{settings.RELAY_CONTROL_PORT}/control/drop/publisher"
    try:
        response = requests.get(url, params={"app": app, "name": stream}, timeout=CONTROL_TIMEOUT)
    except requests.RequestException as exc:
        log.warning("relay drop of %s/%s not sent (%s)", app, stream, exc)
        return False
    return response.status_code == 200
