"""Who may do what in community review: reviewers review their agency's samples; agency
admins oversee them (the sample and the findings' summary, never an item's details)."""

from typing import TYPE_CHECKING

from portal.policies import is_verified_staff
from portal.roles import AgencyKind, has_capability

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User

REVIEW_ITEMS = "review.review_items"
OVERSEE_SAMPLES = "review.oversee_samples"


def _police(user: "User") -> bool:
    return user.agency is not None and user.agency.kind == AgencyKind.POLICE


def can_review_items(user: "User | AnonymousUser") -> bool:
    return (
        user.is_authenticated
        and is_verified_staff(user)
        and has_capability(user, REVIEW_ITEMS)
        and _police(user)
    )


def can_oversee_samples(user: "User | AnonymousUser") -> bool:
    return (
        user.is_authenticated
        and is_verified_staff(user)
        and has_capability(user, OVERSEE_SAMPLES)
        and _police(user)
    )


def can_see_samples(user: "User | AnonymousUser") -> bool:
    return can_review_items(user) or can_oversee_samples(user)
