"""Live-feed background work."""

from celery import shared_task

from livefeeds.clip_services import clips_requeue_late
from livefeeds.services import views_close_expired


@shared_task(name="livefeeds.tasks.close_expired_views")
def close_expired_views() -> int:
    """Close and audit the live views whose time ran out without a renewal."""
    return views_close_expired()


@shared_task(name="livefeeds.tasks.requeue_late_clips")
def requeue_late_clips() -> dict[str, int]:
    """Queue again the clips whose task never reported; give up on them after the cap."""
    return clips_requeue_late()
