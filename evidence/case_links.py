"""What other apps link to a case (tips, footage requests, cameras near it), without evidence
importing them: each app registers a provider when it loads, and the case page asks them all.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


Provider = Callable[..., list[CaseLink]]
_PROVIDERS: list[Provider] = []


def register_case_link_provider(fn: Provider) -> Provider:
    """Add `fn(*, actor, case) -> list[CaseLink]`; apps call this in AppConfig.ready()."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)
    return fn


def unregister_case_link_provider(fn: Provider) -> None:
    if fn in _PROVIDERS:
        _PROVIDERS.remove(fn)


def case_links_for(*, actor, case) -> list[CaseLink]:
    """Every provider's links for the case, as the actor may see them, oldest first.

    The providers scope their own answers to the actor (they own those records).
    """
    links: list[CaseLink] = []
    for provider in _PROVIDERS:
        links.extend(provider(actor=actor, case=case))
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(links, key=lambda link: link.created_at or far_past)


ItemFinder = Callable[..., Iterable]
_ITEM_FINDERS: list[ItemFinder] = []


def register_case_item_finder(fn: ItemFinder) -> ItemFinder:
    """Add `fn(*, case) -> items`: evidence another app filed under the case's number before
    the case existed (a tip's files, a footage request's answers); they join it when it opens."""
    if fn not in _ITEM_FINDERS:
        _ITEM_FINDERS.append(fn)
    return fn


def items_filed_under(*, case) -> list:
    """The items every finder knows under the case's number, in the case's agency only."""
    from evidence.models import EvidenceItem

    return [
        item
        for finder in _ITEM_FINDERS
        for item in finder(case=case)
        if item.agency_id == case.agency_id and item.state != EvidenceItem.State.DELETED
    ]
