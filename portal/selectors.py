"""Platform reads, already scoped to the person asking."""

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast

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


EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor_label",
    "actor_role",
    "actor_agency",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "reason",
    "case_ref",
    "request_id",
    "details",
    "prev_hash",
    "hash",
)


class AuditRow:
    """An audit row's exported columns as plain attributes, without a model instance (an
    export reads thousands a second): events_for_reader filters it as it does an AuditEvent.

    `at` is PostgreSQL's ISO 8601 text of the instant (UTC, to the microsecond, as
    datetime.isoformat writes it); `details` is parsed from `details_text` only when a reader
    filter looks at it, and `details_replaced` says a filter set it."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values

    def __copy__(self) -> "AuditRow":
        return AuditRow(self.__dict__.copy())

    @property
    def details(self) -> Any:
        if "_details" not in self.__dict__:
            self.__dict__["_details"] = json.loads(self.__dict__["details_text"])
        return self.__dict__["_details"]

    @details.setter
    def details(self, value: Any) -> None:
        self.__dict__["_details"] = value
        self.__dict__["details_replaced"] = True


# The exported columns as the database gives them to an AuditRow: the time as text in
# datetime.isoformat's form, the details as jsonb's text.
_EXPORT_VALUES: dict[str, Any] = {
    **{name: F(name) for name in EXPORT_COLUMNS},
    "at": Func(
        Func(F("at"), Value("UTC"), template="(%(expressions)s)", arg_joiner=" AT TIME ZONE "),
        Value('YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        function="to_char",
        output_field=TextField(),
    ),
    "details_text": Cast("details", TextField()),
}
del _EXPORT_VALUES["details"]


def audit_rows_for_export(
    *, actor: User, filters: AuditFilters, chunk: int = 2000
) -> Iterable[list[AuditRow]]:
    """audit_events_for as `actor` may read it (audit_events_readable), in chunks of plain
    rows, from a server-side cursor: memory stays one chunk's however many rows match."""
    names = list(_EXPORT_VALUES)
    rows = (
        audit_events_for(actor=actor, filters=filters)
        .annotate(**{f"x_{n}": e for n, e in _EXPORT_VALUES.items()})
        .values_list(*[f"x_{n}" for n in names])
    )
    batch: list[AuditRow] = []
    for values in rows.iterator(chunk_size=chunk):
        batch.append(AuditRow(dict(zip(names, values, strict=True))))
        if len(batch) == chunk:
            yield events_for_reader(actor=actor, events=batch)
            batch = []
    if batch:
        yield events_for_reader(actor=actor, events=batch)


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
