"""Who may do what with tips."""

from typing import TYPE_CHECKING

from portal.policies import is_verified_staff
from portal.roles import AgencyKind, Cap, Role, grant, has_capability
from submissions.models import Tip

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from evidence.models import EvidenceItem
    from portal.models import User

VIEW_TIPS = "submissions.view_tips"
WORK_TIPS = "submissions.work_tips"

for _role in (Role.INVESTIGATOR, Role.SUPERVISOR):
    grant(_role, VIEW_TIPS, WORK_TIPS)
grant(Role.DISPATCHER, VIEW_TIPS)
MANAGE_TIP_TEMPLATES = "submissions.manage_tip_templates"
grant(Role.SUPERVISOR, MANAGE_TIP_TEMPLATES)
grant(Role.AGENCY_ADMIN, MANAGE_TIP_TEMPLATES)

REVIEWER_ROLES = (Role.INVESTIGATOR, Role.SUPERVISOR)


def can_view_tips(user: "User | AnonymousUser") -> bool:
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, VIEW_TIPS)
    )


def can_work_tips(user: "User | AnonymousUser") -> bool:
    """Triage, assign, prioritise, write notes and questions."""
    return can_view_tips(user) and has_capability(user, WORK_TIPS)


def can_manage_tip_templates(user: "User | AnonymousUser") -> bool:
    """Supervisors and agency admins keep the question templates and the conversation period."""
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, MANAGE_TIP_TEMPLATES)
    )


def sees_identifying_metadata(user: "User", tip: "Tip") -> bool:
    """Whether `user` may see time and place stored in the tip's files (originals and full copies).

    The assigned investigator always may; other colleagues only when the tipster chose to share.
    """
    if not can_view_tips(user) or user.agency_id != tip.agency_id:
        return False
    return tip.share_file_metadata or (
        tip.assigned_to_id is not None and tip.assigned_to_id == user.pk
    )


def sees_tip_item_identifying_metadata(user: "User", item: "EvidenceItem") -> bool:
    """The evidence store's metadata policy for items sent with a tip (registered in apps.py)."""

    tip = (
        Tip.objects.filter(agency_id=item.agency_id, reference=item.source_ref)
        .only("agency_id", "share_file_metadata", "assigned_to_id")
        .first()
    )
    # An item claiming to come from a tip that does not exist is treated as not shared.
    if tip is None:
        return False
    if tip.share_file_metadata and _reaches_items_only_through_shares(user):
        # The evidence store asks only once the prosecutor may view the item through a share:
        # the tipster agreed to share what the files say, so the office sees it too.
        return True
    return sees_identifying_metadata(user, tip)


def tip_item_sealed(item: "EvidenceItem") -> bool:
    """The tipster did not share file details for this item (registered in apps.py)."""
    from submissions.models import Tip

    shared = (
        Tip.objects.filter(agency_id=item.agency_id, reference=item.source_ref)
        .values_list("share_file_metadata", flat=True)
        .first()
    )
    return shared is not True


def _reaches_items_only_through_shares(user: "User") -> bool:
    agency = getattr(user, "agency", None)
    return agency is not None and agency.kind == AgencyKind.PROSECUTION
