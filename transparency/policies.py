"""Who may see and change the goals dashboard."""

from django.contrib.auth.models import AnonymousUser

from portal.models import User
from portal.policies import is_verified_staff
from portal.roles import AgencyKind, has_capability

MANAGE_GOALS = "transparency.manage_goals"


def can_manage_goals(user: User | AnonymousUser) -> bool:
    """Supervisors and agency admins of a police agency: list, set, change and retire goals."""
    return (
        is_verified_staff(user)
        and has_capability(user, MANAGE_GOALS)
        and isinstance(user, User)
        and user.agency is not None
        and user.agency.kind == AgencyKind.POLICE
    )
