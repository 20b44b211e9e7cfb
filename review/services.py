"""Drawing the monthly review samples and recording findings.

The draw is a pure function of the seed and the month's facts (`sample_draw`): each kind's ids
are sorted, then `random.Random(f"{seed}:{kind}").sample(...)` picks up to `per_kind` of them.
The seed is SHA-256 over the agency, the month and the head hash of the agency's first audit
checkpoint signed after the month ended (published at /audit/checkpoints/<agency>/), so nobody
could know it while the month's facts were being made, and anyone can recompute it.
"""

import datetime as dt
import hashlib
import random
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from evidence.models import Derivative
from portal.audit import audit_record
from portal.audit_actions import ACCESS_DENIED
from portal.models import Agency, AuditCheckpoint, AuditEvent, User
from portal.roles import AgencyKind
from review import audit_actions as actions
from review.kinds import KINDS
from review.models import Finding, Outcome, ReviewSample, SampledItem
from review.policies import can_review_items
from review.selectors import redacted_copy_of, sampled_item_get_for

SEED_NAMESPACE = "canvass.review-sample"


class SampleExists(ValueError):
    """The month was drawn already: a sample is drawn once."""


# --- months ----------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(*, agency: Agency, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as a half-open range of instants in the agency's time zone."""
    zone = zoneinfo.ZoneInfo(agency.time_zone)
    start = dt.datetime.combine(month_start(month), dt.time(), tzinfo=zone)
    end = dt.datetime.combine(month_add(month_start(month), 1), dt.time(), tzinfo=zone)
    return start, end


def previous_month(*, agency: Agency, now: dt.datetime | None = None) -> dt.date:
    local = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date()
    return month_add(month_start(local), -1)


# --- the seed and the draw -------------------------------------------------------------------


def seed_derive(*, agency: Agency, month: dt.date) -> tuple[str, dict[str, Any]]:
    """The month's seed and what it stands on: the agency's first audit checkpoint signed after
    the month ended (else its newest; else the chain's head now)."""
    month = month_start(month)
    _start, end = month_range(agency=agency, month=month)
    checkpoints = AuditCheckpoint.objects.filter(agency=agency)
    checkpoint = (
        checkpoints.filter(signed_at__gte=end).order_by("signed_at").first()
        or checkpoints.order_by("-signed_at").first()
    )
    basis: dict[str, Any]
    if checkpoint is not None:
        basis = {
            "source": "audit_checkpoint",
            "checkpoint_day": checkpoint.day.isoformat(),
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
        }
    else:
        head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first() or {
            "seq": 0,
            "hash": "0" * 64,
        }
        basis = {"source": "audit_head", "seq": head["seq"], "head_hash": head["hash"]}
    text = f"{SEED_NAMESPACE}|{agency.slug}|{month:%Y-%m}|{basis['head_hash']}"
    basis["formula"] = f"sha256('{SEED_NAMESPACE}|<agency slug>|<YYYY-MM>|<head_hash>')"
    return hashlib.sha256(text.encode()).hexdigest(), basis


def sample_draw(
    *, seed: str, populations: dict[str, list[str]], per_kind: int
) -> dict[str, list[str]]:
    """The draw itself: the same seed and populations always give the same ids, in order."""
    drawn: dict[str, list[str]] = {}
    for kind in sorted(populations):
        ids = sorted(set(populations[kind]))
        # A published, reproducible draw, not a secret: random.Random is the point.
        rng = random.Random(f"{seed}:{kind}")  # noqa: S311
        drawn[kind] = rng.sample(ids, min(per_kind, len(ids)))
    return drawn


def populations_of(*, agency: Agency, month: dt.date) -> dict[str, list[str]]:
    start, end = month_range(agency=agency, month=month)
    return {name: kind.population(agency, start, end) for name, kind in KINDS.items()}


def _valid_seed(seed: str) -> str:
    seed = seed.strip().lower()
    if len(seed) != 64 or any(c not in "0123456789abcdef" for c in seed):
        raise ValidationError("A seed is 64 hexadecimal digits.")
    return seed


@transaction.atomic
def review_sample_create(
    *,
    agency: Agency,
    month: dt.date,
    seed: str = "",
    drawn_by_label: str = "review_sample",
    now: dt.datetime | None = None,
) -> ReviewSample:
    """Draw and record the month's sample (once), and audit its seed and every item drawn."""
    if agency.kind != AgencyKind.POLICE:
        raise ValidationError("Only a police agency has a community review panel.")
    month = month_start(month)
    now = now or timezone.now()
    if month >= month_add(
        month_start(now.astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date()), 1
    ):
        raise ValidationError("A month in the future cannot be sampled.")
    if ReviewSample.objects.filter(agency=agency, month=month).exists():
        raise SampleExists(f"The sample of {month:%Y-%m} was drawn already.")
    if seed:
        seed, basis = _valid_seed(seed), {"source": "given"}
    else:
        seed, basis = seed_derive(agency=agency, month=month)
    per_kind = int(settings.REVIEW_SAMPLE_PER_KIND)
    drawn = sample_draw(
        seed=seed, populations=populations_of(agency=agency, month=month), per_kind=per_kind
    )
    try:
        with transaction.atomic():
            sample = ReviewSample.objects.create(
                agency=agency,
                month=month,
                seed=seed,
                seed_basis=basis,
                per_kind=per_kind,
                drawn_at=now,
                drawn_by_label=drawn_by_label,
                access_until=now + dt.timedelta(days=int(settings.REVIEW_ACCESS_DAYS)),
            )
    except IntegrityError as exc:  # drawn by a concurrent run
        raise SampleExists(f"The sample of {month:%Y-%m} was drawn already.") from exc
    SampledItem.objects.bulk_create(
        SampledItem(sample=sample, kind=kind, object_id=object_id, position=i)
        for kind, ids in drawn.items()
        for i, object_id in enumerate(ids)
    )
    audit_record(
        action=actions.SAMPLE_DRAWN.name,
        actor_label=drawn_by_label,
        agency=agency,
        target=sample,
        details={
            "month": f"{month:%Y-%m}",
            "seed": seed,
            "seed_basis": basis,
            "per_kind": per_kind,
            "items": drawn,
            "access_until": sample.access_until.isoformat(),
        },
    )
    return sample


def sample_redraw(*, sample: ReviewSample) -> dict[str, list[str]]:
    """The draw again from the sample's recorded seed over the month's facts as they are now
    (the same as recorded unless a fact was deleted since)."""
    populations = populations_of(agency=sample.agency, month=sample.month)
    return sample_draw(seed=sample.seed, populations=populations, per_kind=sample.per_kind)


def sample_recorded(*, sample: ReviewSample) -> dict[str, list[str]]:
    """The ids the sample holds, per kind, in the order drawn (every registered kind present)."""
    recorded: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for kind, object_id in sample.items.order_by("kind", "position").values_list(
        "kind", "object_id"
    ):
        recorded.setdefault(kind, []).append(object_id)
    return recorded


def samples_draw_due(*, now: dt.datetime | None = None) -> list[ReviewSample]:
    """The beat job: the previous month of every police agency, where not drawn yet, once the
    agency's first checkpoint after that month is signed (at once where it takes none)."""
    made = []
    for agency in Agency.objects.filter(kind=AgencyKind.POLICE).order_by("pk"):
        month = previous_month(agency=agency, now=now)
        if ReviewSample.objects.filter(agency=agency, month=month).exists():
            continue
        _start, end = month_range(agency=agency, month=month)
        checkpoints = AuditCheckpoint.objects.filter(agency=agency)
        if checkpoints.exists() and not checkpoints.filter(signed_at__gte=end).exists():
            continue  # wait for the night's checkpoint after the month: the seed stands on it
        try:
            made.append(
                review_sample_create(agency=agency, month=month, drawn_by_label="beat", now=now)
            )
        except SampleExists:
            continue
    return made


# --- findings --------------------------------------------------------------------------------


@transaction.atomic
def finding_record(*, actor: User, item: SampledItem, outcome: str, text: str) -> Finding:
    """A reviewer's finding on an item they may open, once; audited with its outcome."""
    if not can_review_items(actor) or item.sample.agency_id != actor.agency_id:
        raise PermissionDenied
    if item.sample.access_until <= timezone.now():
        raise PermissionDenied
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": "Choose one of the outcomes."})
    max_chars = int(settings.REVIEW_FINDING_MAX_CHARS)
    if len(text) > max_chars:
        raise ValidationError({"text": f"At most {max_chars} characters."})
    if outcome != Outcome.WITHIN_POLICY and not text.strip():
        raise ValidationError({"text": "Say what the concern is."})
    if Finding.objects.filter(item=item, reviewer=actor).exists():
        raise ValidationError({"outcome": "You have recorded a finding on this item already."})
    finding = Finding.objects.create(
        item=item, reviewer=actor, outcome=outcome, text=text, recorded_at=timezone.now()
    )
    audit_record(
        action=actions.FINDING_RECORDED.name,
        actor=actor,
        target=item,
        details={
            "sample": item.sample_id,
            "kind": item.kind,
            "object_id": item.object_id,
            "outcome": outcome,
            "finding": finding.pk,
        },
    )
    return finding


def sampled_item_open(*, actor: User, item_id: int) -> SampledItem:
    """The reviewer's one way to an item: scoped (review.selectors.sampled_item_get_for) and
    audited, opened or refused."""
    try:
        item = sampled_item_get_for(actor=actor, item_id=item_id)
    except PermissionDenied:
        audit_record(
            action=ACCESS_DENIED.name,
            actor=actor,
            outcome=AuditEvent.Outcome.DENIED,
            target=("review.sampleditem", item_id),
            details={"why": "no review access, or the sample's access has ended"},
        )
        raise
    audit_record(
        action=actions.ITEM_OPENED.name,
        actor=actor,
        target=item,
        details={"sample": item.sample_id, "kind": item.kind, "object_id": item.object_id},
    )
    return item


def sample_view_record(*, actor: User, sample: ReviewSample) -> None:
    """Audit that a sample's page was read (its list of drawn items and the summary)."""
    audit_record(action=actions.SAMPLE_VIEWED.name, actor=actor, target=sample)


def sampled_redacted_copy_open(*, actor: User, item_id: int) -> Derivative:
    """The released redacted copy of a sampled recording, for a reviewer to play: scoped like
    the item's page (sampled_item_open, which audits the opening or the refusal) and recorded
    in the evidence item's custody. 404 when the recording has no releasable copy."""
    item = sampled_item_open(actor=actor, item_id=item_id)
    redaction = redacted_copy_of(item=item)
    if redaction is None or redaction.output is None:
        raise Http404("No redacted copy of this item may be played.")
    audit_record(
        action=actions.REDACTED_COPY_PLAYED.name,
        actor=actor,
        target=redaction.item,
        agency=item.sample.agency,
        details={
            "sample": item.sample_id,
            "sampled_item": item.pk,
            "redaction": str(redaction.pk),
            "sha256": redaction.output.sha256,
            "frame_sha256": redaction.output.frame_sha256,
            "recipe_sha256": redaction.recipe.sha256 if redaction.recipe else "",
        },
    )
    return redaction.output
