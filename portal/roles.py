"""Roles and the one capability map every app checks against.

Apps add their own capabilities with `grant(...)` in their AppConfig.ready(); nothing
outside this module compares `user.role` to a literal.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AgencyKind(models.TextChoices):
    POLICE = "police", _("Police agency")
    PROSECUTION = "prosecution", _("Prosecuting office")


class Role(models.TextChoices):
    OFFICER = "officer", _("Patrol officer")
    INVESTIGATOR = "investigator", _("Investigator")
    SUPERVISOR = "supervisor", _("Supervisor")
    DISPATCHER = "dispatcher", _("Dispatcher")
    AGENCY_ADMIN = "agency_admin", _("Agency admin")
    AUDITOR = "auditor", _("Auditor")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    # A member of the agency's community review panel: sees only the monthly review samples.
    COMMUNITY_REVIEWER = "community_reviewer", _("Community reviewer")
    RESIDENT = "resident", _("Resident")
    BUSINESS = "business", _("Business")


PUBLIC_ROLES = frozenset({Role.RESIDENT, Role.BUSINESS})
STAFF_ROLES = frozenset(set(Role) - PUBLIC_ROLES)

# Which kind of agency each staff role can belong to. Auditors and admins exist in both.
ROLE_AGENCY_KINDS: dict[str, set[str]] = {
    Role.OFFICER: {AgencyKind.POLICE},
    Role.INVESTIGATOR: {AgencyKind.POLICE},
    Role.SUPERVISOR: {AgencyKind.POLICE},
    Role.DISPATCHER: {AgencyKind.POLICE},
    Role.AGENCY_ADMIN: {AgencyKind.POLICE, AgencyKind.PROSECUTION},
    Role.AUDITOR: {AgencyKind.POLICE, AgencyKind.PROSECUTION},
    Role.PROSECUTOR: {AgencyKind.PROSECUTION},
    Role.COMMUNITY_REVIEWER: {AgencyKind.POLICE},
}


class Cap:
    """Named capabilities. Apps may add their own strings through `grant`."""

    STAFF_AREA = "portal.staff_area"
    POLICE_AREA = "portal.police_area"
    VIEW_AUDIT_LOG = "portal.view_audit_log"
    EXPORT_AUDIT_LOG = "portal.export_audit_log"
    MANAGE_USERS = "portal.manage_users"
    UNLOCK_ACCOUNTS = "portal.unlock_accounts"


_CAPABILITIES: dict[str, set[str]] = {
    # Wears a body camera; sees their own devices and recordings (devices/ grants those).
    Role.OFFICER: {Cap.STAFF_AREA, Cap.POLICE_AREA},
    Role.INVESTIGATOR: {Cap.STAFF_AREA, Cap.POLICE_AREA},
    Role.SUPERVISOR: {Cap.STAFF_AREA, Cap.POLICE_AREA},
    Role.DISPATCHER: {Cap.STAFF_AREA, Cap.POLICE_AREA},
    Role.AGENCY_ADMIN: {
        Cap.STAFF_AREA,
        Cap.VIEW_AUDIT_LOG,
        Cap.MANAGE_USERS,
        Cap.UNLOCK_ACCOUNTS,
    },
    Role.AUDITOR: {Cap.STAFF_AREA, Cap.VIEW_AUDIT_LOG, Cap.EXPORT_AUDIT_LOG},
    Role.PROSECUTOR: {Cap.STAFF_AREA},
    # Signs in to the staff area for the review pages only (review/ grants what they need).
    Role.COMMUNITY_REVIEWER: {Cap.STAFF_AREA},
    Role.RESIDENT: set(),
    Role.BUSINESS: set(),
}


def grant(role: str, *capabilities: str) -> None:
    """Give `role` more capabilities; called by apps when they load."""
    _CAPABILITIES[Role(role)].update(capabilities)


def capabilities_of(role: str) -> frozenset[str]:
    return frozenset(_CAPABILITIES.get(role, ()))


def has_capability(user, capability: str) -> bool:
    """True when an active user's role carries `capability` (police-only ones need a police agency)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if capability not in _CAPABILITIES.get(user.role, ()):
        return False
    if capability == Cap.POLICE_AREA:
        return user.agency is not None and user.agency.kind == AgencyKind.POLICE
    return True
