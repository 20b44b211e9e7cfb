"""Who may do what with evidence."""

from portal.policies import is_verified_staff
from portal.roles import Cap, Role, grant, has_capability

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
