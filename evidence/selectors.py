"""Evidence reads, scoped to the person asking: other agencies' items do not exist for them."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from evidence.models import Derivative, EvidenceItem
from evidence.policies import can_upload_evidence, can_view_evidence
from portal.models import AuditEvent

ITEM_TARGET_TYPE = EvidenceItem._meta.label_lower


@dataclass(frozen=True)
class ItemFilters:
    source: str = ""
    state: str = ""
    media_kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def items_for(*, actor, filters: ItemFilters | None = None) -> QuerySet[EvidenceItem]:
    """The items of the actor's agency, newest first, filtered."""
    if not can_view_evidence(actor):
        raise PermissionDenied
    items = EvidenceItem.objects.filter(agency_id=actor.agency_id).select_related("agency")
    f = filters or ItemFilters()
    if f.source:
        items = items.filter(source=f.source)
    if f.state:
        items = items.filter(state=f.state)
    if f.media_kind:
        items = items.filter(media_kind=f.media_kind)
    if f.date_from:
        items = items.filter(received_at__date__gte=f.date_from)
    if f.date_to:
        items = items.filter(received_at__date__lte=f.date_to)
    return items.order_by("-received_at")


def items_from_source(*, source: str, refs: list[str]) -> QuerySet[EvidenceItem]:
    """Items that arrived through one intake flow for the given source refs (unscoped).

    For the app that owns the flow (a footage request's answers, a tip's files), which scopes
    its own refs to the asker before calling this.
    """
    return EvidenceItem.objects.filter(source=source, source_ref__in=refs).order_by("received_at")


def item_get_for(*, actor, id, write: bool = False) -> EvidenceItem:
    """One item by id: 404 for anyone outside its agency, 403 for a reader asking to write."""
    try:
        item = items_for(actor=actor).get(pk=id)
    except (EvidenceItem.DoesNotExist, ValueError, PermissionDenied) as exc:
        raise Http404("No such evidence item.") from exc
    if write and not can_upload_evidence(actor):
        raise PermissionDenied
    return item


def derivative_get_for(*, actor, item_id, name: str) -> Derivative:
    """A derivative of an item the actor may see, by its file name."""
    item = item_get_for(actor=actor, id=item_id)
    try:
        return item.derivatives.get(name=name)
    except Derivative.DoesNotExist as exc:
        raise Http404("No such file.") from exc


def custody_of(*, item: EvidenceItem) -> QuerySet[AuditEvent]:
    """The item's chain of custody: every audit event whose target is the item, oldest first."""
    return AuditEvent.objects.filter(target_type=ITEM_TARGET_TYPE, target_id=str(item.pk)).order_by(
        "seq"
    )
