"""Who may share a case with a prosecuting office, and what prosecutors may do with a share."""

from evidence.cases.policies import can_edit_case
from portal.policies import is_verified_staff
from portal.roles import AgencyKind, Role, grant, has_capability

SHARE_CASES = "evidence.share_cases"


VIEW_SHARED = "evidence.view_shared"


grant(Role.INVESTIGATOR, SHARE_CASES)
grant(Role.SUPERVISOR, SHARE_CASES)
grant(Role.PROSECUTOR, VIEW_SHARED)


def can_share_case(user, case) -> bool:
    return can_edit_case(user, case) and has_capability(user, SHARE_CASES)


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
