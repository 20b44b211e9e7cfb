"""Live-feed background work."""

from celery import shared_task

from livefeeds.services import views_close_expired


@shared_task(name="livefeeds.tasks.close_expired_views")
def close_expired_views() -> int:
    """Close and audit the live views whose time ran out without a renewal."""
    return views_close_expired()
