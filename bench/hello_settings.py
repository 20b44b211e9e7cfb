"""bench/tips.py's peer: Canvass's settings and middleware, with a hello-world URLconf."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.hello_urls"
