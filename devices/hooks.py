"""What the body-camera app announces to apps above it (livefeeds), which subscribe in their
AppConfig.ready(): devices imports none of them."""

from collections.abc import Callable
from functools import partial

from django.db import transaction

from devices.models import Device

_recording_stopped: list[Callable[[Device], None]] = []


def on_recording_stopped(listener: Callable[[Device], None]) -> None:
    """Call `listener(device)` after a heartbeat says a recording camera stopped recording."""
    if listener not in _recording_stopped:
        _recording_stopped.append(listener)


def recording_stopped(device: Device) -> None:
    """Tell the listeners, once the heartbeat that says so is committed."""
    for listener in list(_recording_stopped):
        transaction.on_commit(partial(listener, device))
