"""Who may do what with evidence."""

from typing import TYPE_CHECKING

from evidence import sources
from portal.policies import is_verified_staff
from portal.roles import Cap, Role, grant, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from evidence.models import DeletionRequest, EvidenceItem
    from portal.models import User

VIEW_EVIDENCE = "evidence.view"
UPLOAD_EVIDENCE = "evidence.upload"

for _role in (Role.INVESTIGATOR, Role.SUPERVISOR):
    grant(_role, VIEW_EVIDENCE, UPLOAD_EVIDENCE)
grant(Role.DISPATCHER, VIEW_EVIDENCE)


def can_view_evidence(user: "User | AnonymousUser") -> bool:
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, VIEW_EVIDENCE)
    )


def can_upload_evidence(user: "User | AnonymousUser") -> bool:
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, UPLOAD_EVIDENCE)
    )


DELETE_EVIDENCE = "evidence.delete"
MANAGE_RETENTION = "evidence.manage_retention"

grant(Role.SUPERVISOR, DELETE_EVIDENCE, MANAGE_RETENTION)


def can_manage_retention(user: "User | AnonymousUser") -> bool:
    return can_view_evidence(user) and has_capability(user, MANAGE_RETENTION)


def can_request_deletion(user: "User | AnonymousUser") -> bool:
    return can_view_evidence(user) and has_capability(user, DELETE_EVIDENCE)


def can_approve_deletion(user: "User", request: "DeletionRequest") -> bool:
    """Two people: an approver with the capability who is not the requester."""
    return (
        can_request_deletion(user)
        and request.item.agency_id == user.agency_id
        and request.requested_by_id != user.pk
    )


def can_see_identifying_metadata(user: "User", item: "EvidenceItem") -> bool:
    """Whether `user` may see the file-derived time, place, device details and the original:
    the item's source decides (a tipster who chose not to share them, say)."""
    return sources.sees_identifying_metadata(user, item)


def metadata_sealed_at_source(item: "EvidenceItem") -> bool:
    """Whoever sent the item chose not to share what its files say."""
    return sources.sealed_at_source(item)
