"""Platform reads, already scoped to the person asking."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from portal.audit import events_for_reader
from portal.audit_labels import actions_in_group
from portal.models import AuditEvent, User
from portal.policies import can_use_admin, can_view_audit_log
from portal.timefields import day_start


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def audit_events_for(*, actor: User, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The audit events `actor` may read (their agency's, or all for a superuser), filtered."""
    if not can_view_audit_log(actor):
        raise PermissionDenied
    events = AuditEvent.objects.all()
    if not actor.is_superuser:
        events = events.filter(agency=actor.agency_id)
    f = filters or AuditFilters()
    if f.actor:
        events = events.filter(actor_label__icontains=f.actor)
    if f.action.startswith("group:"):
        events = events.filter(action__in=actions_in_group(f.action.removeprefix("group:")))
    elif f.action:
        events = events.filter(action=f.action)
    if f.target_type:
        events = events.filter(target_type=f.target_type)
    if f.target_id:
        events = events.filter(target_id=f.target_id)
    # Days are the reader's agency's days, as a range on the indexed `at`.
    zone = actor.agency.time_zone if actor.agency else "UTC"
    if f.date_from:
        events = events.filter(at__gte=day_start(f.date_from, zone))
    if f.date_to:
        events = events.filter(at__lt=day_start(f.date_to + dt.timedelta(days=1), zone))
    return events.order_by("-seq")


def audit_events_readable(*, actor: User, events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """A page (or chunk) of audit_events_for as `actor` may read it: details other apps
    withhold from this reader (e.g. a tip file's name) are replaced, on output only."""
    return events_for_reader(actor=actor, events=events)


def recent_sign_ins_of(*, user: User, limit: int = 5) -> QuerySet[AuditEvent]:
    """A user's own recent sign-in events (success and failure), newest first."""
    mine = Q(actor=user) | Q(target_type=User._meta.label_lower, target_id=str(user.pk))
    return AuditEvent.objects.filter(mine, action__startswith="auth.").order_by("-seq")[:limit]


def users_for(*, actor: User) -> QuerySet[User]:
    """The accounts `actor` may manage: their agency's staff, or everyone for a superuser."""
    if not can_use_admin(actor):
        return User.objects.none()
    users = User.objects.select_related("agency")
    if actor.is_superuser:
        return users
    return users.filter(agency=actor.agency_id)
