"""Evidence reads, scoped to the person asking: other agencies' items do not exist for them."""

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from evidence import sources
from evidence.models import (
    Case,
    CaseMember,
    DeletionRequest,
    Derivative,
    EvidenceItem,
    Redaction,
    RetentionCategory,
    Share,
    Source,
    ValueSource,
)
from evidence.policies import (
    can_see_identifying_metadata,
    can_upload_evidence,
    can_view_evidence,
    metadata_sealed_at_source,
)
from portal.models import AuditEvent, User
from portal.timefields import day_start

ITEM_TARGET_TYPE = EvidenceItem._meta.label_lower


@dataclass(frozen=True)
class ItemFilters:
    q: str = ""
    source: str = ""
    state: str = ""
    media_kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def items_for(*, actor: User, filters: ItemFilters | None = None) -> QuerySet[EvidenceItem]:
    """The items of the actor's agency, newest first, filtered."""
    if not can_view_evidence(actor):
        raise PermissionDenied
    items = EvidenceItem.objects.filter(agency=actor.agency_id).select_related("agency")
    f = filters or ItemFilters()
    if f.q.strip():
        items = items.filter(_item_search(f.q))
    if f.source:
        items = items.filter(source=f.source)
    if f.state:
        items = items.filter(state=f.state)
    if f.media_kind:
        items = items.filter(media_kind=f.media_kind)
    zone = actor.agency.time_zone if actor.agency else "UTC"  # dates are the agency's days
    if f.date_from:
        items = items.filter(received_at__gte=day_start(f.date_from, zone))
    if f.date_to:
        items = items.filter(received_at__lt=day_start(f.date_to + dt.timedelta(days=1), zone))
    return items.order_by("-received_at")


SEARCH_MAX_CHARS = 100


def _item_search(text: str) -> Q:
    """Items whose file name, source (in words) or source reference holds `text`.

    A file name is searched only where its source has no say over who sees it
    (SourceHooks.sees_identifying_metadata): otherwise a hit would tell a reader the name of
    a file the sender chose to withhold from them.
    """
    text = text.strip()[:SEARCH_MAX_CHARS]
    named_sources = [
        value for value, label in Source.choices if text.casefold() in label.casefold()
    ]
    return (
        Q(source_ref__icontains=text)
        | Q(source__in=named_sources)
        | (
            Q(original_filename__icontains=text)
            & ~Q(source__in=sources.sources_guarding_metadata())
        )
    )


def items_from_source(*, source: str, refs: list[str]) -> QuerySet[EvidenceItem]:
    """Items that arrived through one intake flow for the given source refs (unscoped).

    For the app that owns the flow (a footage request's answers, a tip's files), which scopes
    its own refs to the asker before calling this.
    """
    return EvidenceItem.objects.filter(source=source, source_ref__in=refs).order_by("received_at")


def item_get_for(*, actor: User, id: uuid.UUID | str, write: bool = False) -> EvidenceItem:
    """One item by id: 404 for anyone outside its agency, 403 for a reader asking to write."""
    try:
        item = items_for(actor=actor).get(pk=id)
    except (EvidenceItem.DoesNotExist, ValueError, PermissionDenied) as exc:
        raise Http404("No such evidence item.") from exc
    if write and not can_upload_evidence(actor):
        raise PermissionDenied
    return item


def derivative_get_for(*, actor: User, item_id: uuid.UUID | str, name: str) -> Derivative:
    """A derivative of an item the actor may see, by its file name."""
    item = item_get_for(actor=actor, id=item_id)
    try:
        return item.derivatives.get(name=name)
    except Derivative.DoesNotExist as exc:
        raise Http404("No such file.") from exc


def redaction_get_for(*, actor: User, item_id: uuid.UUID | str, id: uuid.UUID | str) -> Redaction:
    """One redaction job of an item the actor may see (404 otherwise)."""
    item = item_get_for(actor=actor, id=item_id)
    try:
        return item.redactions.select_related(
            "output", "recipe", "requested_by", "reviewed_by", "approved_by"
        ).get(pk=id)
    except (Redaction.DoesNotExist, ValueError) as exc:
        raise Http404("No such redaction.") from exc


def releasable_redaction(*, item: EvidenceItem) -> Redaction | None:
    """The redacted copy the item may be released as outside the agency: its latest finished
    redaction with a solid fill and an approver, whose copy and recipe still exist. A blurred
    copy is for internal use only (blurred faces can be re-identified): never released."""
    return (
        item.redactions.filter(
            state=Redaction.State.DONE,
            fill=Redaction.Fill.SOLID,
            approved_by__isnull=False,
            output__isnull=False,
            recipe__isnull=False,
        )
        .select_related("output", "recipe", "approved_by")
        .order_by("-finished_at", "-created_at")
        .first()
    )


RELEASE_WITHHELD_REASON = (
    "no approved redacted copy with a solid fill (a blurred copy is for internal use only)"
)


def release_plan(*, items: Iterable[EvidenceItem]) -> list[tuple[EvidenceItem, Redaction | None]]:
    """Each item with the redacted copy it goes out as under "redacted copies only" (None:
    withheld, for RELEASE_WITHHELD_REASON)."""
    return [(item, releasable_redaction(item=item)) for item in items]


def redactions_of(*, item: EvidenceItem) -> QuerySet[Redaction]:
    return item.redactions.select_related("output", "requested_by")[:10]


def custody_of(*, item: EvidenceItem) -> QuerySet[AuditEvent]:
    """The item's chain of custody: every audit event whose target is the item, oldest first."""
    return AuditEvent.objects.filter(target_type=ITEM_TARGET_TYPE, target_id=str(item.pk)).order_by(
        "seq"
    )


CUSTODY_TAIL = 3


@dataclass(frozen=True)
class CustodyTail:
    """An item's latest custody events (oldest first) and how many it has in all."""

    events: list[AuditEvent]
    total: int


def custody_tails_of_items(
    *, items: Iterable[EvidenceItem], last: int = CUSTODY_TAIL
) -> dict[str, CustodyTail]:
    """The latest `last` custody events of many items and each one's count, in one query (a
    case page's timeline): each item's id, as text, to its CustodyTail. The page's work stays
    the same however long an item's history grows; the rest is fetched on demand
    (custody_of, through the case's custody route)."""
    ids = [str(item.pk) for item in items]
    tails: dict[str, list[AuditEvent]] = {i: [] for i in ids}
    totals: dict[str, int] = dict.fromkeys(ids, 0)
    if not ids:
        return {}
    table = AuditEvent._meta.db_table
    # For each item (unnest), its count and its newest `last` rows (LATERAL ... LIMIT), on
    # the (target_type, target_id) index; an item with no rows yields none and keeps 0. Only
    # the columns a line in words reads (activity_in_words): the others (hashes, request id,
    # reason...) are deferred: 9 of 17 columns not read, converted or kept for 600 rows.
    events = AuditEvent.objects.raw(
        f"""
        SELECT e.id, e.seq, e.at, e.action, e.actor_label, e.target_type, e.target_id,
               e.outcome, e.details, c.total AS custody_total
        FROM unnest(%s::varchar[]) AS t(id)
        CROSS JOIN LATERAL (
            SELECT count(*) AS total FROM {table} WHERE target_type = %s AND target_id = t.id
        ) c
        CROSS JOIN LATERAL (
            SELECT * FROM {table} WHERE target_type = %s AND target_id = t.id
            ORDER BY seq DESC LIMIT %s
        ) e
        ORDER BY e.seq
        """,  # noqa: S608 - the table name is the model's, the values are parameters
        [ids, ITEM_TARGET_TYPE, ITEM_TARGET_TYPE, last],
    )
    for event in events:
        tails[event.target_id].append(event)
        totals[event.target_id] = getattr(event, "custody_total", 0)
    return {i: CustodyTail(events=tails[i], total=totals[i]) for i in ids}


# Cases


def open_cases_of(*, actor: User) -> QuerySet[Case]:
    """The open cases of the actor's agency that the actor leads or works (for their queue)."""
    if not can_view_evidence(actor):
        raise PermissionDenied
    # Two conditions the planner can answer from indexes (the lead's, the memberships'), not a
    # join with OR, which made it read every open case of the agency (119 ms at 100,000 cases).
    worked = CaseMember.objects.filter(user=actor).values("case_id")
    return (
        Case.objects.filter(agency=actor.agency_id, status=Case.Status.OPEN)
        .filter(Q(lead=actor) | Q(pk__in=worked))
        .select_related("lead")
        .order_by("-updated_at")
    )


# Shares, seen by the prosecuting office


def shares_acknowledged_for(*, actor: User, since: dt.datetime) -> QuerySet[Share]:
    """Shares of the agency's cases that the actor made, or of cases they lead, acknowledged by
    the prosecuting office since `since`, newest acknowledgement first."""
    if not can_view_evidence(actor):
        raise PermissionDenied
    return (
        Share.objects.filter(case__agency=actor.agency_id, acknowledged_at__gte=since)
        .filter(Q(created_by=actor) | Q(case__lead=actor))
        .select_related("case", "recipient_agency")
        .order_by("-acknowledged_at")
    )


# Retention


def retention_categories_for(*, actor: User) -> QuerySet[RetentionCategory]:
    if not can_view_evidence(actor):
        raise PermissionDenied
    return RetentionCategory.objects.filter(agency=actor.agency_id)


def deletion_requests_for(*, actor: User) -> QuerySet[DeletionRequest]:
    if not can_view_evidence(actor):
        raise PermissionDenied
    return DeletionRequest.objects.filter(item__agency=actor.agency_id).select_related(
        "item", "requested_by", "decided_by"
    )


def deletion_request_get_for(*, actor: User, id: uuid.UUID | str) -> DeletionRequest:
    try:
        return deletion_requests_for(actor=actor).get(pk=id)
    except (DeletionRequest.DoesNotExist, ValueError, ValidationError, PermissionDenied) as exc:
        raise Http404("No such deletion request.") from exc


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
    capture_time_tag: str
    location: Point | None
    location_source: str
    metadata: dict[str, Any]
    original_filename: str
    provenance_details: dict[str, Any]
    original_downloadable: bool

    def get_capture_time_source_display(self) -> str:
        return ValueSource(self.capture_time_source).label if self.capture_time_source else ""

    def get_location_source_display(self) -> str:
        return ValueSource(self.location_source).label if self.location_source else ""


def item_facts_for(*, actor: User, item: EvidenceItem) -> ItemFacts:
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
            capture_time_tag=item.capture_time_tag,
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
        capture_time_tag="" if time_hidden else item.capture_time_tag,
        location=None if place_hidden else item.location,
        location_source="" if place_hidden else item.location_source,
        metadata={k: v for k, v in item.metadata.items() if k in _PLAIN_METADATA},
        original_filename="",
        provenance_details=provenance,
        original_downloadable=False,
    )


def item_camera_for(*, actor: User, item: EvidenceItem) -> dict[str, Any] | None:
    """The fixed camera that recorded an item already scoped to `actor` (SourceHooks.item_camera);
    None without one, and for whom the item's identifying metadata is withheld (the camera
    says where it was made)."""
    if not can_see_identifying_metadata(actor, item):
        return None
    return sources.item_camera(actor, item)


def item_track_for(*, actor: User, item: EvidenceItem) -> dict[str, Any] | None:
    """The GPS track recorded with an item already scoped to `actor` (SourceHooks.item_track),
    as GeoJSON; None without one, and for whom what the item's files say about where it was
    made is withheld (the track says where it was made, second by second)."""
    if not can_see_identifying_metadata(actor, item):
        return None
    return sources.item_track(item)


def custody_details_for(
    *, actor: User, item: EvidenceItem, details: dict[str, Any]
) -> dict[str, Any]:
    """A custody event's details, without the file's name, time or place for those not to see them."""
    if can_see_identifying_metadata(actor, item):
        return details
    return {k: v for k, v in details.items() if k not in _IDENTIFYING_DETAILS}


WITHHELD_FILE_DETAILS = "(withheld: tipster did not share file details)"


def audit_details_for_reader(*, actor: User, events: list[AuditEvent]) -> None:
    """The audit log's filter for item rows (registered in apps.py): where the sender did not
    share file details and `actor` may not see them, the file's name, time and place in the
    details are replaced, as custody_details_for leaves them out of the item's own pages."""
    ids = set()
    for event in events:
        try:
            ids.add(str(uuid.UUID(event.target_id)))
        except ValueError:
            continue
    # Only items of a source that guards its files' details can be hidden (a source without
    # that policy shows them to all); the chunk's ids go as one array, not thousands of
    # parameters (an export's chunk of 2,000 rows spent most of its time building them).
    guarding = sources.sources_guarding_metadata()
    if not ids or not guarding:
        return
    items = EvidenceItem.objects.filter(
        pk__in=RawSQL("SELECT unnest(%s::uuid[])", (sorted(ids),)), source__in=guarding
    ).only("id", "agency_id", "source", "source_ref")
    hidden = {
        str(item.pk)
        for item in items
        if metadata_sealed_at_source(item) and not can_see_identifying_metadata(actor, item)
    }
    for event in events:
        if event.target_id in hidden and isinstance(event.details, dict):
            event.details = {
                k: WITHHELD_FILE_DETAILS if k in _IDENTIFYING_DETAILS else v
                for k, v in event.details.items()
            }


def items_with_facts(*, actor: User, items: Iterable[EvidenceItem]) -> list[EvidenceItem]:
    """Items with `.facts` (item_facts_for), as a timeline by the capture time this viewer may
    see (unknown last), so the order itself does not reveal a withheld time."""
    # `.facts` is set on the instances for the templates; the model class does not declare it.
    annotated: list[Any] = list(items)
    for item in annotated:
        item.facts = item_facts_for(actor=actor, item=item)
    timeline: list[Any] = sorted(
        annotated,
        key=lambda i: (
            i.facts.capture_time is None,
            i.facts.capture_time or i.received_at,
            i.received_at,
        ),
    )
    return timeline
