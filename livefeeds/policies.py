"""Who may watch live feeds, and who may cut a viewer off."""

from django.contrib.auth.models import AnonymousUser

from portal.models import User
from portal.policies import is_verified_staff
from portal.roles import Role, grant, has_capability

WATCH = "livefeeds.watch"
REVOKE = "livefeeds.revoke"

grant(Role.SUPERVISOR, WATCH, REVOKE)
grant(Role.DISPATCHER, WATCH)


def can_watch_live(user: User | AnonymousUser) -> bool:
    """Open a live view (with a reason and a case or incident number)."""
    return is_verified_staff(user) and has_capability(user, WATCH)


def can_revoke_views(user: User | AnonymousUser) -> bool:
    """See the agency's live views and end anyone's at once."""
    return is_verified_staff(user) and has_capability(user, REVOKE)


def can_see_live(user: User | AnonymousUser) -> bool:
    """The live page: watchers, and supervisors who oversee them."""
    return can_watch_live(user) or can_revoke_views(user)
