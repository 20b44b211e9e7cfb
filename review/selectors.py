"""What the review pages read, scoped to the actor: a reviewer or admin sees their own
agency's samples only; a reviewer opens only items drawn into them, and only until the
sample's access ends."""

import uuid
from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise

from devices.models import Recording
from evidence.models import Redaction
from evidence.selectors import releasable_redaction
from portal.models import User
from review.kinds import KINDS, Fact, kind_label
from review.models import Finding, Outcome, ReviewSample, SampledItem
from review.policies import can_review_items, can_see_samples


def samples_for(*, actor: User) -> QuerySet[ReviewSample]:
    if not can_see_samples(actor):
        return ReviewSample.objects.none()
    return (
        ReviewSample.objects.filter(agency=actor.agency)
        .select_related("agency")
        .annotate(n_items=Count("items", distinct=True))
    )


def sample_get_for(*, actor: User, sample_id: int) -> ReviewSample:
    """A sample of the actor's agency for a reviewer or an admin; 404 for anyone else."""
    sample = samples_for(actor=actor).filter(pk=sample_id).first()
    if sample is None:
        raise Http404("No such sample.")
    return sample


def sampled_item_get_for(*, actor: User, item_id: int) -> SampledItem:
    """An item of a sample of the actor's agency. 404 when it is not in one of the agency's
    samples (or the actor sees no samples); 403 for an admin (who oversees the sample, not
    the items) and once the sample's access has ended."""
    if not can_see_samples(actor):
        raise Http404("No such item.")
    item = (
        SampledItem.objects.select_related("sample", "sample__agency")
        .filter(pk=item_id, sample__agency=actor.agency)
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    if not can_review_items(actor) or access_ended(item.sample):
        raise PermissionDenied
    return item


def access_ended(sample: ReviewSample) -> bool:
    return sample.access_until <= timezone.now()


def item_facts(*, item: SampledItem) -> list[Fact] | None:
    """The metadata a reviewer may see of the item (None: the fact is gone)."""
    kind = KINDS.get(item.kind)
    if kind is None:
        return None
    return kind.facts(item.sample.agency, item.object_id)


RECORDING_KIND = "bodycam_recording"


def redacted_copy_of(*, item: SampledItem) -> Redaction | None:
    """The redacted copy a reviewer may play of a sampled body-camera recording: its item's
    releasable one (solid fill, approved), never a blurred copy and never the original."""
    if item.kind != RECORDING_KIND:
        return None
    recording = (
        Recording.objects.filter(agency=item.sample.agency, pk=item.object_id)
        .select_related("item")
        .first()
        if _uuid_like(item.object_id)
        else None
    )
    # An item flagged "do not disclose" leaves the agency in no form, a redacted copy included.
    if recording is None or recording.item is None or recording.item.do_not_disclose:
        return None
    return releasable_redaction(item=recording.item)


def _uuid_like(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def finding_of(*, actor: User, item: SampledItem) -> Finding | None:
    return Finding.objects.filter(item=item, reviewer=actor).first()


@dataclass(frozen=True)
class KindSummary:
    kind: str
    label: str | Promise
    items: int
    findings: dict[str, int]  # outcome -> count, every outcome present


def findings_summary(*, sample: ReviewSample) -> list[KindSummary]:
    """Per kind: how many items were drawn and how many findings of each outcome."""
    items = Counter(sample.items.values_list("kind", flat=True))
    counts = Counter(
        Finding.objects.filter(item__sample=sample).values_list("item__kind", "outcome")
    )
    kinds = list(KINDS) + sorted(k for k in items if k not in KINDS)
    return [
        KindSummary(
            kind=k,
            label=kind_label(k),
            items=items.get(k, 0),
            findings={o: counts.get((k, o), 0) for o in Outcome.values},
        )
        for k in kinds
    ]


@dataclass(frozen=True)
class Row:
    item: SampledItem
    label: str | Promise
    mine: Finding | None


def sample_rows(*, actor: User, sample: ReviewSample) -> list[Row]:
    """The sample's items in the order drawn, with the reviewer's own finding on each."""
    mine = {f.item_id: f for f in Finding.objects.filter(item__sample=sample, reviewer_id=actor.pk)}
    order = {k: i for i, k in enumerate(KINDS)}
    items = sorted(sample.items.all(), key=lambda i: (order.get(i.kind, len(order)), i.position))
    return [Row(item=i, label=kind_label(i.kind), mine=mine.get(i.pk)) for i in items]
