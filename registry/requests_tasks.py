"""Footage request background work. Thin: the work is in requests_services."""

from celery import shared_task

from registry import requests_services


@shared_task
def footage_requests_sweep() -> dict:
    """Every 15 minutes: note arrived uploads, expire past deadlines, send due reminders once."""
    return requests_services.footage_requests_sweep()
