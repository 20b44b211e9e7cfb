"""Evidence reads, scoped to the person asking: other agencies' items do not exist for them."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from evidence.models import Derivative, EvidenceItem, ValueSource
from evidence.policies import (
    can_see_identifying_metadata,
    can_upload_evidence,
    can_view_evidence,
)
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


# What a file says about itself that may point at the person who made it: read from the file,
# not claimed by the uploader or stamped by us on arrival.
_FILE_DERIVED = (ValueSource.DEVICE_METADATA, ValueSource.FILE_METADATA)
# Technical facts that identify nobody; everything else in `metadata` (make, model, ...) may.
_PLAIN_METADATA = (
    "format", "duration", "width", "height", "rotation", "video_codec", "audio_codec", "streams",
)  # fmt: skip
# Custody details that repeat the file's name, time or place.
_IDENTIFYING_DETAILS = ("client_filename", "name", "old", "new", "old_source")


@dataclass(frozen=True)
class ItemFacts:
    """The item's facts as this viewer may see them (see policies.can_see_identifying_metadata)."""

    identifying_hidden: bool
    capture_time: dt.datetime | None
    capture_time_source: str
    capture_time_confidence: str
    location: object
    location_source: str
    metadata: dict
    original_filename: str
    provenance_details: dict
    original_downloadable: bool

    def get_capture_time_source_display(self) -> str:
        return ValueSource(self.capture_time_source).label if self.capture_time_source else ""

    def get_location_source_display(self) -> str:
        return ValueSource(self.location_source).label if self.location_source else ""


def item_facts_for(*, actor, item: EvidenceItem) -> ItemFacts:
    """What `actor` may see of the item: all of it, or only what identifies no one.

    When the metadata is not theirs to see, file-derived capture time and place, device
    details, the uploader's file name, the C2PA signer and the original itself are withheld;
    the derivatives, which never carry file metadata, stay viewable.
    """
    if can_see_identifying_metadata(actor, item):
        return ItemFacts(
            identifying_hidden=False,
            capture_time=item.capture_time,
            capture_time_source=item.capture_time_source,
            capture_time_confidence=item.capture_time_confidence,
            location=item.location,
            location_source=item.location_source,
            metadata=item.metadata,
            original_filename=item.original_filename,
            provenance_details=item.provenance_details,
            original_downloadable=True,
        )
    time_hidden = item.capture_time_source in _FILE_DERIVED
    place_hidden = item.location_source in _FILE_DERIVED
    provenance = {
        k: v
        for k, v in item.provenance_details.items()
        if k not in ("signer", "claim_generator", "title")
    }
    return ItemFacts(
        identifying_hidden=True,
        capture_time=None if time_hidden else item.capture_time,
        capture_time_source="" if time_hidden else item.capture_time_source,
        capture_time_confidence="" if time_hidden else item.capture_time_confidence,
        location=None if place_hidden else item.location,
        location_source="" if place_hidden else item.location_source,
        metadata={k: v for k, v in item.metadata.items() if k in _PLAIN_METADATA},
        original_filename="",
        provenance_details=provenance,
        original_downloadable=False,
    )


def custody_details_for(*, actor, item: EvidenceItem, details: dict) -> dict:
    """A custody event's details, without the file's name, time or place for those not to see them."""
    if can_see_identifying_metadata(actor, item):
        return details
    return {k: v for k, v in details.items() if k not in _IDENTIFYING_DETAILS}
