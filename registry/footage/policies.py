"""Who may ask owners for footage, see the requests, and approve long windows."""

from typing import TYPE_CHECKING

from portal.policies import is_verified_staff
from portal.roles import Cap, Role, grant, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User
    from registry.models import FootageRequest

REQUEST_FOOTAGE = "registry.request_footage"
APPROVE_FOOTAGE_REQUESTS = "registry.approve_footage_requests"

for _role in (Role.INVESTIGATOR, Role.SUPERVISOR):
    grant(_role, REQUEST_FOOTAGE)
grant(Role.SUPERVISOR, APPROVE_FOOTAGE_REQUESTS)


def can_request_footage(user: "User | AnonymousUser") -> bool:
    """Investigators and supervisors of a police agency, past the second factor."""
    return (
        is_verified_staff(user)
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, REQUEST_FOOTAGE)
    )


def can_view_footage_requests(user: "User | AnonymousUser") -> bool:
    return can_request_footage(user)


def can_approve_footage_request(user: "User", request: "FootageRequest") -> bool:
    """A supervisor of the same agency who did not ask for it (two people for a long window)."""
    return (
        can_request_footage(user)
        and has_capability(user, APPROVE_FOOTAGE_REQUESTS)
        and request.agency_id == user.agency_id
        and request.requested_by_id != user.pk
        and request.status == request.Status.AWAITING_APPROVAL
    )
