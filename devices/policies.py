"""Who may do what with body cameras."""

from django.contrib.auth.models import AnonymousUser

from devices.models import Device
from portal.models import User
from portal.policies import is_verified_staff
from portal.roles import Cap, Role, grant, has_capability

VIEW_DEVICES = "devices.view"
MANAGE_DEVICES = "devices.manage"
WEAR_DEVICES = "devices.wear"
OPERATE = "devices.operate"

grant(Role.SUPERVISOR, VIEW_DEVICES, MANAGE_DEVICES)
grant(Role.AGENCY_ADMIN, VIEW_DEVICES, MANAGE_DEVICES)
grant(Role.DISPATCHER, VIEW_DEVICES)
grant(Role.OFFICER, WEAR_DEVICES)
grant(Role.INVESTIGATOR, WEAR_DEVICES)
grant(Role.SUPERVISOR, WEAR_DEVICES)
grant(Role.SUPERVISOR, OPERATE)
grant(Role.DISPATCHER, OPERATE)
grant(Role.AGENCY_ADMIN, OPERATE)


def can_view_devices(user: User | AnonymousUser) -> bool:
    """The inventory, assignments and every officer's recordings of the agency."""
    return is_verified_staff(user) and has_capability(user, VIEW_DEVICES)


def can_manage_devices(user: User | AnonymousUser) -> bool:
    """Add devices, check them out and in, record training, issue and revoke credentials."""
    return can_view_devices(user) and has_capability(user, MANAGE_DEVICES)


def can_wear_devices(user: User) -> bool:
    """Officers who may be assigned a camera (training decides the rest)."""
    return (
        user.is_active
        and has_capability(user, Cap.POLICE_AREA)
        and has_capability(user, WEAR_DEVICES)
    )


def can_view_device(user: User | AnonymousUser, device: Device) -> bool:
    return can_view_devices(user) and device.agency_id == getattr(user, "agency_id", None)


def can_operate(user: User | AnonymousUser) -> bool:
    """The operations page: alerts, and where recording officers are, live; close alerts."""
    return can_view_devices(user) and has_capability(user, OPERATE)
