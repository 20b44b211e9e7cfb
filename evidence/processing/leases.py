"""Claim leases of the media pipeline: renewed while a run lives, released when it fails.

`pipeline._claim` takes a lease of MEDIA_CLAIM_LEASE_SECONDS on the item; inside
`claims_renewed()` (the Celery task) a thread renews it until the run returns. A worker killed
mid-run stops renewing, its lease runs out, and the sweep (`pipeline.requeue_stalled`) offers the
item again.
"""

import datetime as dt
import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from evidence.models import EvidenceItem

log = logging.getLogger(__name__)
State = EvidenceItem.State


def lease_length() -> dt.timedelta:
    return dt.timedelta(seconds=settings.MEDIA_CLAIM_LEASE_SECONDS)


class _LeaseKeeper:
    """Renews one run's claim from a thread every third of the lease, until the run ends.

    Each renewal is a compare-and-set on the expiry this run last wrote, so a run that lost its
    claim (its lease ran out and another run took the item) never extends the new owner's.
    """

    def __init__(self):
        self.item_id = None
        self.expires = None
        self._stop = threading.Event()
        self._thread = None

    def take(self, item_id, expires: dt.datetime) -> None:
        self.item_id, self.expires = item_id, expires
        self._thread = threading.Thread(target=self._renew, name="claim-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        try:
            while not self._stop.wait(settings.MEDIA_CLAIM_LEASE_SECONDS / 3):
                expires = timezone.now() + lease_length()
                try:
                    renewed = EvidenceItem.objects.filter(
                        pk=self.item_id, state=State.PROCESSING, lease_expires_at=self.expires
                    ).update(lease_expires_at=expires)
                except DatabaseError:
                    # The database is restarting: try again next time; the lease has slack.
                    log.warning("item %s: could not renew its claim", self.item_id)
                    connection.close()
                    continue
                if not renewed:
                    log.warning("item %s: this run lost its claim", self.item_id)
                    return
                self.expires = expires
        finally:
            connection.close()  # this thread's own connection

    def end(self, *, failed: bool) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        if failed:
            # Hand the item back as `received`, so the task's own retry claims it at once, and
            # mark it offered (as the sweep does): a run that failed is not a dead worker, and
            # the sweep queueing a second run beside the retry would spend its attempts twice.
            offered_until = timezone.now() + dt.timedelta(
                seconds=settings.MEDIA_REQUEUE_RECEIVED_AFTER_SECONDS
            )
            EvidenceItem.objects.filter(
                pk=self.item_id, state=State.PROCESSING, lease_expires_at=self.expires
            ).update(state=State.RECEIVED, lease_expires_at=offered_until)


_keepers = threading.local()


def taken(item_id, expires: dt.datetime) -> None:
    keeper = getattr(_keepers, "current", None)
    if keeper is not None:
        keeper.take(item_id, expires)


@contextmanager
def claims_renewed():
    """Around one run (the task): keeps the claim it makes renewed until the run returns."""
    keeper = _keepers.current = _LeaseKeeper()
    try:
        yield
    except BaseException:
        keeper.end(failed=True)
        raise
    else:
        keeper.end(failed=False)
    finally:
        _keepers.current = None
