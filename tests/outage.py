"""Redis out of reach, in this process: the settings and Celery's broker point at a closed port."""

import contextlib
import socket

from portal.celery import app


def closed_port() -> int:
    """A port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _drop_broker_connections() -> None:
    # Celery caches its connection pool and producer pool: new ones are built from conf.
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def redis_unreachable(settings):
    """Within: REDIS_URL and the Celery broker URL lead nowhere; restored after."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    saved_redis, saved_broker = settings.REDIS_URL, app.conf.broker_url
    settings.REDIS_URL = url
    app.conf.broker_url = url
    _drop_broker_connections()
    try:
        yield url
    finally:
        settings.REDIS_URL = saved_redis
        app.conf.broker_url = saved_broker
        _drop_broker_connections()
