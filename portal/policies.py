"""Who may do what on the platform: small pure functions over the capability map."""

from typing import TYPE_CHECKING

from portal.roles import Cap, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User


def needs_second_factor(user: "User") -> bool:
    """Staff and prosecutors always; public users only once they enrolled a device."""
    from django_otp import user_has_device

    return user.is_staff_member or bool(user_has_device(user, confirmed=True))


def _passed_second_factor(user: "User | AnonymousUser") -> bool:
    # django-otp's middleware adds is_verified() to request users; others have not passed.
    return bool(getattr(user, "is_verified", lambda: False)())


def is_verified_staff(user: "User | AnonymousUser") -> bool:
    return (
        # has_capability refuses anonymous users too; checking first tells mypy this is a User.
        user.is_authenticated
        and has_capability(user, Cap.STAFF_AREA)
        and user.is_staff_member
        and _passed_second_factor(user)
    )


def can_enter_staff_area(user: "User | AnonymousUser") -> bool:
    return is_verified_staff(user)


def can_view_audit_log(user: "User | AnonymousUser") -> bool:
    return is_verified_staff(user) and has_capability(user, Cap.VIEW_AUDIT_LOG)


def can_export_audit_log(user: "User | AnonymousUser") -> bool:
    return is_verified_staff(user) and has_capability(user, Cap.EXPORT_AUDIT_LOG)


def can_use_admin(user: "User | AnonymousUser") -> bool:
    if getattr(user, "is_superuser", False):
        return user.is_active and _passed_second_factor(user)
    return is_verified_staff(user) and has_capability(user, Cap.MANAGE_USERS)


def can_manage_user(actor: "User", target: "User") -> bool:
    """Agency admins manage the staff of their own agency (not themselves); superusers anyone."""
    if not can_use_admin(actor):
        return False
    if actor.is_superuser:
        return True
    return target.agency_id == actor.agency_id and target.pk != actor.pk


def can_unlock_user(actor: "User", target: "User") -> bool:
    return can_manage_user(actor, target) and (
        actor.is_superuser or has_capability(actor, Cap.UNLOCK_ACCOUNTS)
    )
