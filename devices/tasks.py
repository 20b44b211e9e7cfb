"""Body-camera jobs: thin, the work is in services."""

from celery import shared_task

from devices.services.heartbeat import locations_forget_stale


@shared_task
def forget_stale_locations() -> int:
    """Every minute: a camera not heard from lately keeps no place on the operations map."""
    return locations_forget_stale()
