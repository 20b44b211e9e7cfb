"""Who may do what in the camera registry: small pure functions over the capability map."""

from typing import TYPE_CHECKING

from portal.policies import is_verified_staff
from portal.roles import PUBLIC_ROLES, Cap, Role, grant, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User

SEARCH_CAMERAS = "registry.search_cameras"

for _role in (Role.INVESTIGATOR, Role.SUPERVISOR):
    grant(_role, SEARCH_CAMERAS)


def can_own_cameras(user: "User | AnonymousUser") -> bool:
    """Residents and businesses with a confirmed email register cameras."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in PUBLIC_ROLES
        and user.email_verified_at is not None
    )


def can_search_cameras(user: "User | AnonymousUser") -> bool:
    """Investigators and supervisors of a police agency (past the second factor)."""
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, SEARCH_CAMERAS)
    )


def can_view_camera_map(user: "User | AnonymousUser") -> bool:
    return can_search_cameras(user)
