"""A few months of tips, some actioned through the real services, for the goals tests."""

import datetime as dt
import uuid

from django.utils import timezone

from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import ReceiptStyle, Tip, TipCategory
from tests.evidence.cases_helpers import verified
from transparency import services
from transparency.models import Goal


def month(agency, back: int) -> dt.date:
    return services.month_add(services.current_month(agency=agency), -back)


def tips(agency, investigator, *, back: int, received: int, actioned: int) -> None:
    """`received` tips in the month `back` months ago, the first `actioned` marked actionable."""
    seed_categories(agency)
    category = TipCategory.objects.filter(agency=agency).first()
    start, _ = services.month_range(agency=agency, month=month(agency, back))
    for i in range(received):
        at = start + dt.timedelta(days=1 + i, hours=3)
        tip = Tip.objects.create(
            reference=f"T{uuid.uuid4().hex[:12]}",
            agency=agency,
            category=category,
            description="A tip for the goals tests.",
            occurred_at=at,
            receipt_hash=f"test:{uuid.uuid4().hex}",
            receipt_style=ReceiptStyle.DIGITS,
            received_at=min(at, timezone.now()),
        )
        if i < actioned:
            worker = verified(investigator)
            tip = tip_services.tip_assign(actor=worker, tip=tip, assignee=investigator)
            tip_services.tip_transition(actor=worker, tip=tip, to="actionable")


def goal_form(agency, **changes) -> dict:
    """A valid form body: tips actioned, baseline three months ago, period from two months ago."""
    body = {
        "title": "Act on more tips",
        "why": "Residents should see their tips lead somewhere.",
        "metric": "tips_actioned_percent",
        "direction": "higher",
        "target_value": "80",
        "period_start": f"{month(agency, 2):%Y-%m}",
        "period_end": f"{month(agency, -3):%Y-%m}",
        "baseline_start": f"{month(agency, 3):%Y-%m}",
        "baseline_end": f"{month(agency, 3):%Y-%m}",
        "public": "on",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def make_goal(agency, user, **changes) -> Goal:
    """A goal stored as the service would, for tests not about setting one."""
    fields = {
        "title": "A goal",
        "metric": "tips_actioned_percent",
        "direction": Goal.Direction.HIGHER,
        "target_value": 80.0,
        "period_start": month(agency, 2),
        "period_end": month(agency, -3),
        "baseline_start": month(agency, 3),
        "baseline_end": month(agency, 3),
        "baseline_value": 50.0,
        "baseline_basis": 6,
        "baseline_computed_at": timezone.now(),
        "public": False,
    }
    fields.update(changes)
    return Goal.objects.create(agency=agency, created_by=user, **fields)
