"""The one seam between the evidence store and the apps that feed it (tips, footage requests,
body cameras, live feeds).

Evidence imports none of those apps. Each registers one `SourceHooks` in its AppConfig.ready(),
saying what the store should ask it about items of its source: what to do when one arrives,
what it links to a case, which items it filed under a case number before the case existed, who
may see what the files say about where and when they were made, the path an item's camera
took while it recorded, and what demo data it brings.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from evidence.models import Case, EvidenceItem
from portal.demo import register_seeder
from portal.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseLink:
    """One linked thing, as the case page shows it. Cameras carry a place for the map."""

    kind: str
    label: str
    url: str
    status: str
    created_at: dt.datetime | None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class SourceHooks:
    """What one source's app tells the store; every hook is optional.

    - item_received(item): runs in the transaction that creates the item, in a savepoint of
      its own: a hook that fails is logged and rolled back, and the evidence is kept.
    - item_hashed(item): runs when the media pipeline has stored the original and recorded its
      SHA-256 (`item.sha256`), in that transaction, in a savepoint of its own, like
      item_received: a source that was told the file's hash beforehand compares it here.
    - case_links(*, actor, case) -> list[CaseLink]: scoped to the actor by the app itself.
    - case_items(*, case) -> items: evidence filed under the case's number before it existed;
      the store keeps only the case agency's undeleted ones.
    - sees_identifying_metadata(user, item) -> bool: who sees the file-derived time, place and
      device of an item (without it, anyone who may view the item).
    - sealed_at_source(item) -> bool: the sender chose not to share what its files say, so the
      audit log withholds the file's details too.
    - item_track(item) -> dict | None: the GPS track recorded with the item, as an RFC 7946
      FeatureCollection of one LineString whose properties carry, per position, `times`
      (RFC 3339), `video_seconds` (its time on the item's video, 0 being the first frame)
      and `accuracy_m`; None without one. The store scopes the item to its reader first.
    - item_camera(actor, item) -> dict | None: the fixed camera that recorded the item, for the case
      map: `label`, `lat`, `lon` and `cone` (its field of view, an RFC 7946 Polygon, or None);
      None when the source knows of none. The store scopes the item to its reader first.
    - demo_seeders: run by `seed_demo` in this order, after the platform's own data.
    """

    source: str
    item_received: Callable[[EvidenceItem], None] | None = None
    item_hashed: Callable[[EvidenceItem], None] | None = None
    case_links: Callable[..., list[CaseLink]] | None = None
    case_items: Callable[..., Iterable[EvidenceItem]] | None = None
    sees_identifying_metadata: Callable[[User, EvidenceItem], bool] | None = None
    sealed_at_source: Callable[[EvidenceItem], bool] | None = None
    item_track: Callable[[EvidenceItem], dict[str, Any] | None] | None = None
    item_camera: Callable[[User, EvidenceItem], dict[str, Any] | None] | None = None
    demo_seeders: tuple[Callable[..., None], ...] = field(default=())


# The key of an item's `metadata` under which its source's own account of it is kept
# (item_source_details_set); the media pipeline keeps it when it writes what the file says.
SOURCE_DETAILS_KEY = "source_details"

_SOURCES: dict[str, SourceHooks] = {}


def source_register(hooks: SourceHooks) -> SourceHooks | None:
    """Register (or replace) a source's hooks; returns the ones it replaced, if any."""
    previous = _SOURCES.get(hooks.source)
    _SOURCES[hooks.source] = hooks
    for seeder in hooks.demo_seeders:
        register_seeder(seeder)
    return previous


def source_unregister(source: str) -> SourceHooks | None:
    """Forget a source's hooks (tests that register a source of their own)."""
    return _SOURCES.pop(source, None)


def source_hooks(source: str) -> SourceHooks | None:
    return _SOURCES.get(source)


def item_received_tell(item: EvidenceItem) -> None:
    """Tell the item's source that it arrived; a failing hook never costs the evidence."""
    hooks = _SOURCES.get(item.source)
    if hooks is None or hooks.item_received is None:
        return
    try:
        with transaction.atomic():
            hooks.item_received(item)
    except Exception:  # noqa: BLE001 - the item must survive any hook's failure
        logger.exception("item-received hook of %s failed for item %s", item.source, item.pk)


def item_hashed_tell(item: EvidenceItem) -> None:
    """Tell the item's source that its SHA-256 is known; a failing hook never costs the evidence."""
    hooks = _SOURCES.get(item.source)
    if hooks is None or hooks.item_hashed is None:
        return
    try:
        with transaction.atomic():
            hooks.item_hashed(item)
    except Exception:  # noqa: BLE001 - the item must survive any hook's failure
        logger.exception("item-hashed hook of %s failed for item %s", item.source, item.pk)


def case_links_for(*, actor: User, case: Case) -> list[CaseLink]:
    """Every source's links for the case, as the actor may see them, oldest first."""
    links: list[CaseLink] = []
    for hooks in list(_SOURCES.values()):
        if hooks.case_links is not None:
            links.extend(hooks.case_links(actor=actor, case=case))
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(links, key=lambda link: link.created_at or far_past)


def items_filed_under(*, case: Case) -> list[EvidenceItem]:
    """The items every source filed under the case's number, in the case's agency only."""
    return [
        item
        for hooks in list(_SOURCES.values())
        if hooks.case_items is not None
        for item in hooks.case_items(case=case)
        if item.agency_id == case.agency_id and item.state != EvidenceItem.State.DELETED
    ]


def sees_identifying_metadata(user: User, item: EvidenceItem) -> bool:
    """The source's answer to who sees what an item's files say; yes without a policy."""
    hooks = _SOURCES.get(item.source)
    if hooks is None or hooks.sees_identifying_metadata is None:
        return True
    return bool(hooks.sees_identifying_metadata(user, item))


def sources_guarding_metadata() -> list[str]:
    """The sources whose apps decide who sees what an item's files say (and its file name)."""
    return [name for name, hooks in _SOURCES.items() if hooks.sees_identifying_metadata]


def sealed_at_source(item: EvidenceItem) -> bool:
    hooks = _SOURCES.get(item.source)
    if hooks is None or hooks.sealed_at_source is None:
        return False
    return bool(hooks.sealed_at_source(item))


def item_camera(actor: User, item: EvidenceItem) -> dict[str, Any] | None:
    """The fixed camera the item's source says recorded it (SourceHooks.item_camera), if any,
    and if the source lets `actor` see it (a registered camera is the registry's to show)."""
    hooks = _SOURCES.get(item.source)
    if hooks is None or hooks.item_camera is None:
        return None
    return hooks.item_camera(actor, item)


def item_track(item: EvidenceItem) -> dict[str, Any] | None:
    """The GPS track the item's source keeps for it (SourceHooks.item_track), if any."""
    hooks = _SOURCES.get(item.source)
    if hooks is None or hooks.item_track is None:
        return None
    return hooks.item_track(item)
