"""Registry background work. Thin: the work is in services."""

from celery import shared_task

from registry import services


@shared_task
def refresh_jurisdictions() -> int:
    """Nightly: re-file cameras under the agencies whose jurisdiction covers them (a superuser
    may have redrawn one in the admin); returns how many camera rows were rewritten."""
    return services.jurisdictions_refresh()
