"""Evidence background work. Thin: the work is in the pipeline and the services."""

import datetime as dt

from celery import Task, shared_task
from django.conf import settings

from evidence.custody.proof import checkpoint_sign_if_new
from evidence.intake import uploads
from evidence.processing import integrity, leases, pipeline, redaction
from evidence.services import retention_apply
from portal import queueing


class _ProcessItem(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Out of retries on an unexpected error (storage down, a bug): the item goes back to
        # `received` with the reason, and the stalled-items job offers it again later.
        # Only the error's class: its message can name hosts and paths (it is in the log).
        pipeline.release(args[0], why=type(exc).__name__)


@shared_task(
    name="evidence.tasks.process_item",
    base=_ProcessItem,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=4,
)
def process_item(item_id: str) -> str:
    """Store, hash, probe and make derivatives of one item. Safe to run again."""
    with leases.claims_renewed():
        return pipeline.process(item_id)


@shared_task(name="evidence.tasks.requeue_stalled_items")
def requeue_stalled_items() -> int:
    """Every MEDIA_SWEEP_SECONDS: queue items never queued, or whose worker's claim ran out."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    stalled = pipeline.requeue_stalled(
        received_for=dt.timedelta(seconds=settings.MEDIA_REQUEUE_RECEIVED_AFTER_SECONDS),
        processing_for=dt.timedelta(seconds=visibility + 600),
    )
    return sum(queueing.send(process_item, str(item_id)) for item_id in stalled)


@shared_task(name="evidence.tasks.expire_uploads")
def expire_uploads() -> int:
    """Every 15 minutes: drop unfinished uploads past their expiry and their staged bytes."""
    return uploads.uploads_expire()


@shared_task(name="evidence.tasks.verify_originals")
def verify_originals() -> int:
    """Weekly: re-hash originals not verified for EVIDENCE_VERIFY_EVERY_DAYS."""
    return len(integrity.originals_verify(older_than_days=settings.EVIDENCE_VERIFY_EVERY_DAYS))


@shared_task(name="evidence.tasks.apply_retention")
def apply_retention() -> int:
    """Nightly: delete items past retention (never in an open case or under legal hold) and report."""
    return sum(len(rows) for rows in retention_apply().values())


@shared_task(name="evidence.tasks.sign_custody_checkpoint")
def sign_custody_checkpoint() -> int:
    """Hourly: sign a checkpoint of the audit log's Merkle tree (custody proofs); its size."""
    return checkpoint_sign_if_new()


@shared_task(
    name="evidence.tasks.redact_item",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.MEDIA_TOOL_TIMEOUT_SECONDS,
)
def redact_item(redaction_id: str) -> str:
    """Make one face-redacted copy (evidence.processing.redaction); a redelivered job restarts."""
    return redaction.run(redaction_id)
