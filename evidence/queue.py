"""Offering an item to the media workers.

By the task's registered name: the services that make items cannot import the tasks module,
which imports them. Never fails the caller: with the broker down, the stalled-items sweep
offers the item later.
"""

from portal import queueing

PROCESS_ITEM = "evidence.tasks.process_item"


def item_processing_queue(item_id) -> bool:
    """Offer the item to a media worker now; False (logged) when the broker is away."""
    return queueing.send_named(PROCESS_ITEM, str(item_id))
