"""Who may share a case with a prosecuting office, and what prosecutors may do with a share."""

from typing import TYPE_CHECKING

from evidence.cases.policies import can_edit_case
from portal.policies import is_verified_staff
from portal.roles import AgencyKind, Role, grant, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from evidence.models import Case, Share
    from portal.models import User

SHARE_CASES = "evidence.share_cases"


VIEW_SHARED = "evidence.view_shared"


grant(Role.INVESTIGATOR, SHARE_CASES)
grant(Role.SUPERVISOR, SHARE_CASES)
grant(Role.PROSECUTOR, VIEW_SHARED)


def can_share_case(user: "User", case: "Case") -> bool:
    return can_edit_case(user, case) and has_capability(user, SHARE_CASES)


def can_view_shared(user: "User | AnonymousUser") -> bool:
    """Prosecutors of a prosecuting office, past both factors."""
    return (
        # is_verified_staff refuses anonymous users too; checking first tells mypy this is a User.
        user.is_authenticated
        and is_verified_staff(user)
        and has_capability(user, VIEW_SHARED)
        and user.agency is not None
        and user.agency.kind == AgencyKind.PROSECUTION
    )


def can_download_share(user: "User", share: "Share") -> bool:
    return can_view_shared(user) and share.level == share.Level.DOWNLOAD


def can_reshare(user: "User", share: "Share") -> bool:
    """Resharing hands out downloads: only where the share allows both."""
    return can_download_share(user, share) and share.reshare_allowed
