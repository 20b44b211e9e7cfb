"""Materialising the monthly figures: every metric recomputed from recorded facts, idempotently.

A month's rows for an agency are replaced whole in one transaction, so running it again (the
beat job runs the current and the previous month every hour) gives the same rows, and a
reader never sees a half-written month.
"""

import datetime as dt
import zoneinfo

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from devices.models import Recording, Trigger
from portal.models import Agency, AuditEvent
from portal.roles import AgencyKind
from registry.models import FootageRequest
from submissions.models import Tip
from transparency.metrics import METRICS
from transparency.models import MonthlyFigure


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(*, agency: Agency, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as a half-open range of instants, in the agency's own time zone."""
    zone = zoneinfo.ZoneInfo(agency.time_zone)
    start = dt.datetime.combine(month_start(month), dt.time(), tzinfo=zone)
    end = dt.datetime.combine(month_add(month_start(month), 1), dt.time(), tzinfo=zone)
    return start, end


def current_month(*, agency: Agency, now: dt.datetime | None = None) -> dt.date:
    now = now or timezone.now()
    return month_start(now.astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date())


def published_agencies() -> list[Agency]:
    """The agencies with a transparency page: police agencies (a prosecuting office asks
    nothing of the community and wears no cameras)."""
    return list(Agency.objects.filter(kind=AgencyKind.POLICE).order_by("name"))


@transaction.atomic
def figures_materialise(*, agency: Agency, month: dt.date) -> int:
    """Recompute every metric of one agency and month and replace the stored rows."""
    month = month_start(month)
    start, end = month_range(agency=agency, month=month)
    now = timezone.now()
    rows = [
        MonthlyFigure(
            agency=agency,
            month=month,
            metric=m.name,
            dimension=dimension,
            value=value,
            basis=basis,
            computed_at=now,
        )
        for m in METRICS.values()
        for dimension, (value, basis) in m.compute(agency, start, end).items()
    ]
    MonthlyFigure.objects.filter(agency=agency, month=month).delete()
    MonthlyFigure.objects.bulk_create(rows)
    return len(rows)


def figures_materialise_recent(*, now: dt.datetime | None = None) -> int:
    """The beat job: the current and the previous month of every published agency."""
    written = 0
    for agency in published_agencies():
        this = current_month(agency=agency, now=now)
        for month in (month_add(this, -1), this):
            written += figures_materialise(agency=agency, month=month)
    return written


def first_fact_month(*, agency: Agency) -> dt.date:
    """The month of the agency's earliest recorded fact any metric reads (or its creation)."""
    candidates = [
        agency.created_at,
        AuditEvent.objects.filter(agency=agency).aggregate(m=Min("at"))["m"],
        FootageRequest.objects.filter(agency=agency).aggregate(m=Min("sent_at"))["m"],
        Recording.objects.filter(agency=agency).aggregate(m=Min("started_at"))["m"],
        Trigger.objects.filter(agency=agency).aggregate(m=Min("received_at"))["m"],
        Tip.objects.filter(agency=agency).aggregate(m=Min("received_at"))["m"],
    ]
    earliest = min(c for c in candidates if c is not None)
    return month_start(earliest.astimezone(zoneinfo.ZoneInfo(agency.time_zone)).date())


def figures_backfill(*, agency: Agency, now: dt.datetime | None = None) -> int:
    """Every month from the agency's first recorded fact to now (the management command)."""
    month, last = first_fact_month(agency=agency), current_month(agency=agency, now=now)
    written = 0
    while month <= last:
        written += figures_materialise(agency=agency, month=month)
        month = month_add(month, 1)
    return written
