"""Who has notifications: every signed-in person; staff once they passed their second factor."""

from typing import TYPE_CHECKING

from portal.policies import is_verified_staff

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User


def can_use_notifications(user: "User | AnonymousUser") -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return is_verified_staff(user) if user.is_staff_member else True
