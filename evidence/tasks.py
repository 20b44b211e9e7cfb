"""Evidence background work. Thin: the work is in the pipeline and the services."""

from celery import shared_task

from evidence import integrity, pipeline, uploads


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=3)
def process_item(item_id: str) -> str:
    """Store, hash, probe and make derivatives of one item. Safe to run again."""
    return pipeline.process(item_id)


@shared_task
def expire_uploads() -> int:
    """Every 15 minutes: drop unfinished uploads past their expiry and their staged bytes."""
    return uploads.uploads_expire()


@shared_task
def verify_originals() -> int:
    """Weekly: re-hash originals not verified for EVIDENCE_VERIFY_EVERY_DAYS."""
    from django.conf import settings

    return len(integrity.originals_verify(older_than_days=settings.EVIDENCE_VERIFY_EVERY_DAYS))
