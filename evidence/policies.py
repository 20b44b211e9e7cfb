"""Who may do what with evidence."""

from collections.abc import Callable

from portal.policies import is_verified_staff
from portal.roles import AgencyKind, Cap, Role, grant, has_capability

VIEW_EVIDENCE = "evidence.view"
UPLOAD_EVIDENCE = "evidence.upload"

for _role in (Role.INVESTIGATOR, Role.SUPERVISOR):
    grant(_role, VIEW_EVIDENCE, UPLOAD_EVIDENCE)
grant(Role.DISPATCHER, VIEW_EVIDENCE)


def can_view_evidence(user) -> bool:
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, VIEW_EVIDENCE)
    )


def can_upload_evidence(user) -> bool:
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, UPLOAD_EVIDENCE)
    )


# Cases, shares with prosecuting offices, retention.
MANAGE_CASES = "evidence.manage_cases"
SEE_ALL_CASES = "evidence.see_all_cases"
SHARE_CASES = "evidence.share_cases"
DELETE_EVIDENCE = "evidence.delete"
MANAGE_RETENTION = "evidence.manage_retention"
VIEW_SHARED = "evidence.view_shared"

grant(Role.INVESTIGATOR, MANAGE_CASES, SHARE_CASES)
grant(Role.SUPERVISOR, MANAGE_CASES, SHARE_CASES, SEE_ALL_CASES, DELETE_EVIDENCE, MANAGE_RETENTION)
grant(Role.PROSECUTOR, VIEW_SHARED)


def can_manage_cases(user) -> bool:
    return can_view_evidence(user) and has_capability(user, MANAGE_CASES)


def can_see_all_cases(user) -> bool:
    return can_view_evidence(user) and has_capability(user, SEE_ALL_CASES)


def can_view_case(user, case) -> bool:
    """Supervisors see every case of their agency; other staff only the cases they work on."""
    if not can_view_evidence(user) or case.agency_id != user.agency_id:
        return False
    if can_see_all_cases(user) or case.lead_id == user.pk:
        return True
    return case.memberships.filter(user=user).exists()


def can_edit_case(user, case) -> bool:
    return can_manage_cases(user) and can_view_case(user, case)


def can_share_case(user, case) -> bool:
    return can_edit_case(user, case) and has_capability(user, SHARE_CASES)


def can_manage_retention(user) -> bool:
    return can_view_evidence(user) and has_capability(user, MANAGE_RETENTION)


def can_request_deletion(user) -> bool:
    return can_view_evidence(user) and has_capability(user, DELETE_EVIDENCE)


def can_approve_deletion(user, request) -> bool:
    """Two people: an approver with the capability who is not the requester."""
    return (
        can_request_deletion(user)
        and request.item.agency_id == user.agency_id
        and request.requested_by_id != user.pk
    )


def can_view_shared(user) -> bool:
    """Prosecutors of a prosecuting office, past both factors."""
    return (
        is_verified_staff(user)
        and has_capability(user, VIEW_SHARED)
        and user.agency is not None
        and user.agency.kind == AgencyKind.PROSECUTION
    )


def can_download_share(user, share) -> bool:
    return can_view_shared(user) and share.level == share.Level.DOWNLOAD


def can_reshare(user, share) -> bool:
    """Resharing hands out downloads: only where the share allows both."""
    return can_download_share(user, share) and share.reshare_allowed


# source -> fn(user, item) -> bool. Apps that bring evidence in decide, per item, who may see
# what the file itself says about where, when and on what device it was made (e.g. a tipster
# who chose not to share it). Evidence depends on no app, so they register here.
_METADATA_POLICIES: dict[str, Callable] = {}


def register_metadata_policy(source: str, fn: Callable) -> Callable:
    """Let `fn(user, item) -> bool` decide who sees identifying metadata of `source` items."""
    _METADATA_POLICIES[source] = fn
    return fn


def can_see_identifying_metadata(user, item) -> bool:
    """Whether `user` may see the file-derived time, place, device details and the original.

    Without a policy for the item's source, anyone who may view the item may.
    """
    policy = _METADATA_POLICIES.get(item.source)
    return True if policy is None else bool(policy(user, item))


# source -> fn(item) -> bool: True when whoever sent the item chose not to share what its
# files say (e.g. a tipster who said no). Such details are then withheld even where the
# metadata policy is not asked: the audit log's outputs and the item's received row.
_SEALED_AT_SOURCE: dict[str, Callable] = {}


def register_sealed_at_source(source: str, fn: Callable) -> Callable:
    _SEALED_AT_SOURCE[source] = fn
    return fn


def metadata_sealed_at_source(item) -> bool:
    fn = _SEALED_AT_SOURCE.get(item.source)
    return False if fn is None else bool(fn(item))
