"""Who may open, edit and see cases."""

from typing import TYPE_CHECKING

from evidence.policies import VIEW_EVIDENCE, can_view_evidence
from portal.roles import Role, grant, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from evidence.models import Case
    from portal.models import User

MANAGE_CASES = "evidence.manage_cases"


SEE_ALL_CASES = "evidence.see_all_cases"


grant(Role.INVESTIGATOR, MANAGE_CASES)
grant(Role.SUPERVISOR, MANAGE_CASES, SEE_ALL_CASES)


def can_manage_cases(user: "User | AnonymousUser") -> bool:
    return can_view_evidence(user) and has_capability(user, MANAGE_CASES)


def can_see_all_cases(user: "User | AnonymousUser") -> bool:
    return can_view_evidence(user) and has_capability(user, SEE_ALL_CASES)


def can_view_case(user: "User", case: "Case") -> bool:
    """Supervisors see every case of their agency; other staff only the cases they work on."""
    if not can_view_evidence(user) or case.agency_id != user.agency_id:
        return False
    if can_see_all_cases(user) or case.lead_id == user.pk:
        return True
    return case.memberships.filter(user=user).exists()


def can_edit_case(user: "User", case: "Case") -> bool:
    return can_manage_cases(user) and can_view_case(user, case)


def can_file_into_case_by_role(user: "User", case: "Case") -> bool:
    """can_edit_case from the user's role and membership alone, without the session's second
    factor: for an upload grant, whose issuing session already passed it."""
    if not user.is_active or case.agency_id != user.agency_id:
        return False
    if not (has_capability(user, VIEW_EVIDENCE) and has_capability(user, MANAGE_CASES)):
        return False
    if has_capability(user, SEE_ALL_CASES) or case.lead_id == user.pk:
        return True
    return case.memberships.filter(user=user).exists()
