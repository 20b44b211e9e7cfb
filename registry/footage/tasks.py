"""Footage request background work. Thin: the work is in registry.footage.services.

The task keeps the name it had as registry/requests_tasks.py: the beat schedule and any
message already queued name it so.
"""

from celery import shared_task

from registry.footage import services


@shared_task(name="registry.requests_tasks.footage_requests_sweep")
def footage_requests_sweep() -> dict:
    """Every 15 minutes: note arrived uploads, expire past deadlines, send due reminders once."""
    return services.footage_requests_sweep()
