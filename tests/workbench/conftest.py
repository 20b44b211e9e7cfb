"""A police agency's day, made through the real services, with another agency beside it."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from evidence import services as evidence_services
from evidence.disclosure import services as share_services
from portal.roles import Role
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import TipCategory, TipStatus
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.factories import stored_item
from tests.registry.cameras import owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search


def make_tip(agency, **fields):
    category = TipCategory.objects.filter(agency=agency).first()
    defaults = {"description": "Bikes behind the station.", "occurred_at": timezone.now()}
    return tip_services.tip_create(agency=agency, category=category, **(defaults | fields)).tip


@dataclass
class Day:
    investigator: object
    supervisor: object
    other_investigator: object
    prosecutor: object
    new_tips: list
    my_tip: object
    items_today: list
    request: object
    case: object
    share: object
    deletion: object


def make_day(*, police, other_police, prosecution, make_staff, extra: int = 0) -> Day:
    """Everything each card counts, once in `police` and once in `other_police`."""
    for agency in (police, other_police):
        seed_categories(agency)
    inv = verified(make_staff(Role.INVESTIGATOR))
    boss = verified(make_staff(Role.SUPERVISOR))
    asker = verified(make_staff(Role.SUPERVISOR))
    far = verified(make_staff(Role.INVESTIGATOR, agency=other_police))
    prosecutor = verified(make_staff(Role.PROSECUTOR, agency=prosecution))
    new_tips = [make_tip(police, description=f"new tip {i}") for i in range(2 + extra)]
    make_tip(other_police, description="elsewhere tip")
    my_tip = make_tip(police, description="mine")
    tip_services.tip_assign(actor=inv, tip=my_tip, assignee=inv)
    my_tip.refresh_from_db()
    now = timezone.now()
    items_today = [
        stored_item(agency=police, original_filename=f"today{i}.mp4", received_at=now)
        for i in range(2 + extra)
    ]
    old = stored_item(
        agency=police, original_filename="old.mp4", received_at=now - dt.timedelta(days=2)
    )
    stored_item(agency=other_police, original_filename="elsewhere.mp4", received_at=now)
    shop = owner(role="business")
    cams = [camera_facing_incident(shop, name=f"Shop {i}") for i in range(1 + extra)]
    request = ask(inv, search(inv), cams, deadline=now + dt.timedelta(hours=20))
    case = make_case(lead=inv, number="RPD-1")
    make_case(lead=far, number="EPD-1")
    share = make_share(
        case=make_case(lead=inv, number="RPD-2", items=[old]), by=inv, office=prosecution
    )
    share_services.share_acknowledge(actor=prosecutor, share=share)
    for i in range(extra):
        make_case(lead=inv, number=f"RPD-X{i}")
    deletion = evidence_services.deletion_request(
        actor=asker, item=items_today[0], reason="Duplicate upload"
    )
    return Day(
        investigator=inv,
        supervisor=boss,
        other_investigator=far,
        prosecutor=prosecutor,
        new_tips=new_tips,
        my_tip=my_tip,
        items_today=items_today,
        request=request,
        case=case,
        share=share,
        deletion=deletion,
    )


@pytest.fixture
def day(police, other_police, prosecution, make_staff):
    return make_day(
        police=police, other_police=other_police, prosecution=prosecution, make_staff=make_staff
    )


__all__ = ["Day", "TipStatus", "make_day", "make_tip"]
