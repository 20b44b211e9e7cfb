"""Who may do what with evidence."""

from collections.abc import Callable

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


# source -> fn(user, item) -> bool. Apps that bring evidence in decide, per item, who may see
# what the file itself says about where, when and on what device it was made (e.g. a tipster
# who chose not to share it). Evidence depends on no app, so they register here.
_METADATA_POLICIES: dict[str, Callable] = {}


def register_metadata_policy(source: str, fn: Callable) -> Callable:
    """Let `fn(user, item) -> bool` decide who sees identifying metadata of `source` items."""
    _METADATA_POLICIES[source] = fn
    return fn


def can_see_identifying_metadata(user, item) -> bool:
    """Whether `user` may see the file-derived time, place, device details and the original.

    Without a policy for the item's source, anyone who may view the item may.
    """
    policy = _METADATA_POLICIES.get(item.source)
    return True if policy is None else bool(policy(user, item))
