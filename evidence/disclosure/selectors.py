"""Share reads: the shares of a case, what a prosecutor received, and the disclosure log."""

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from evidence.cases.selectors import case_get_for
from evidence.disclosure.policies import VIEW_SHARED, can_view_shared
from evidence.models import (
    Case,
    CaseItem,
    Derivative,
    EvidenceItem,
    Share,
    ShareLink,
)
from evidence.selectors import RELEASE_WITHHELD_REASON, custody_of, releasable_redaction
from portal.models import Agency, AuditEvent, User
from portal.roles import Role, capabilities_of


def custody_through_share(*, item: EvidenceItem, share: Share) -> list[AuditEvent]:
    """The item's custody as a share's recipient reads it: collection, processing, the agency's
    own handling and what happened under this share; other shares' events are left out."""
    own = str(share.pk)
    return [
        event
        for event in custody_of(item=item)
        if not isinstance(event.details, dict) or event.details.get("share", own) == own
    ]


SHARE_TARGET_TYPE = Share._meta.label_lower


def disclosure_log(*, case: Case) -> QuerySet[AuditEvent]:
    """Everything done with the case's shares: made, revoked, and each prosecutor's access."""
    share_ids = [str(pk) for pk in case.shares.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(target_type=SHARE_TARGET_TYPE, target_id__in=share_ids) | Q(details__share__in=share_ids)
    ).order_by("-seq")


def shares_of_case(*, case: Case) -> QuerySet[Share]:
    return case.shares.select_related("recipient_agency").prefetch_related("recipients")


def share_get_for(*, actor: User, id: UUID | str, write: bool = False) -> Share:
    """A share, seen from the sharing agency: through the case it belongs to."""
    try:
        share = Share.objects.select_related("case").get(pk=id)
    except (Share.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such share.") from exc
    case_get_for(actor=actor, id=share.case_id, write=write)
    return share


def prosecutors_of(office: Agency) -> QuerySet[User]:
    """The active users of a prosecuting office who may read what is shared with it."""
    roles = [role for role in Role if VIEW_SHARED in capabilities_of(role)]
    return User.objects.filter(agency=office, role__in=roles, is_active=True)


def shares_received(*, actor: User) -> QuerySet[Share]:
    """Live shares addressed to the actor: their office, to everyone there or to them by name."""
    if not can_view_shared(actor):
        raise PermissionDenied
    return (
        Share.objects.filter(
            recipient_agency=actor.agency_id,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .filter(Q(recipients=None) | Q(recipients=actor))
        .select_related("case", "case__agency")
        .distinct()
        .order_by("-created_at")
    )


def received_share_get_for(*, actor: User, id: UUID | str) -> Share:
    """A share the actor received and may still use: revoked or expired ones are 404 at once."""
    try:
        return shares_received(actor=actor).get(pk=id)
    except (Share.DoesNotExist, ValueError, ValidationError, PermissionDenied) as exc:
        raise Http404("No such share.") from exc


def shared_items(*, share: Share) -> QuerySet[EvidenceItem]:
    """What the share discloses, by capture time; deleted items drop out. Each has `.exhibit`,
    its exhibit number in the case (None once taken out of it)."""
    number = CaseItem.objects.filter(case=share.case_id, item=OuterRef("pk"))
    return (
        share.items.exclude(state=EvidenceItem.State.DELETED)
        .annotate(exhibit=Subquery(number.values("exhibit_number")[:1]))
        .order_by(F("capture_time").asc(nulls_last=True), "received_at")
    )


def shared_item_get_for(
    *, actor: User, share_id: UUID | str, item_id: UUID | str
) -> tuple[Share, EvidenceItem]:
    """An item through a live share addressed to the actor; anything else is 404."""
    share = received_share_get_for(actor=actor, id=share_id)
    try:
        return share, shared_items(share=share).get(pk=item_id)
    except (EvidenceItem.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such item in this share.") from exc


REDACTION_KINDS = (
    Derivative.Kind.REDACTED_VIDEO,
    Derivative.Kind.REDACTED_IMAGE,
    Derivative.Kind.REDACTION_RECIPE,
)


def shared_derivatives(*, share: Share, item: EvidenceItem) -> QuerySet[Derivative]:
    """The copies of an item its share's recipients may fetch. A redacted-only share: the
    releasable redacted copy alone (nothing of a withheld item). Otherwise the playable copies
    of the original and the releasable redacted copy; never a blurred copy or a recipe."""
    release = releasable_redaction(item=item)
    released = [release.output_id] if release is not None else []
    if share.require_redacted:
        return item.derivatives.filter(pk__in=released)
    return item.derivatives.exclude(Q(kind__in=REDACTION_KINDS) & ~Q(pk__in=released))


def release_of(*, item: EvidenceItem) -> dict[str, Any]:
    """What an item of a redacted-only share goes out as: its redacted copy's name and hashes
    and its recipe's hash, or `withheld` with the reason."""
    release = releasable_redaction(item=item)
    if release is None or release.output is None or release.recipe is None:
        return {"withheld": True, "why": RELEASE_WITHHELD_REASON}
    return {
        "withheld": False,
        "name": release.output.name,
        "media_type": release.output.media_type,
        "size": release.output.size,
        "sha256": release.output.sha256,
        "frame_sha256": release.output.frame_sha256,
        "recipe_sha256": release.recipe.sha256,
    }


def shared_derivative_get_for(
    *, actor: User, share_id: UUID | str, item_id: UUID | str, name: str
) -> tuple[Share, Derivative]:
    share, item = shared_item_get_for(actor=actor, share_id=share_id, item_id=item_id)
    try:
        return share, shared_derivatives(share=share, item=item).get(name=name)
    except Derivative.DoesNotExist as exc:
        raise Http404("No such file.") from exc


def share_links_of(*, share: Share) -> QuerySet[ShareLink]:
    return share.links.all()
