"""Cases and shares made through the real services, for tests."""

import itertools

from evidence.cases import services as case_services
from evidence.disclosure import services as share_services
from portal.roles import Role
from tests.factories import stored_item

_numbers = itertools.count(1)


def verified(user):
    """Services check policies that need a passed second factor, as a signed-in request would."""
    user.is_verified = lambda: True
    return user


def make_case(*, lead, items=(), number=None, **fields):
    case = case_services.case_create(
        actor=verified(lead),
        number=number or f"24-{next(_numbers):05d}",
        title="Burglary",
        **fields,
    )
    for item in items:
        case_services.case_item_add(actor=lead, case=case, item=item)
    return case


def make_share(*, case, by, office, **fields):
    return share_services.share_create(
        actor=verified(by), case=case, recipient_agency=office, **fields
    )


def case_with_items(*, make_staff, police, n=2):
    lead = verified(make_staff(role=Role.INVESTIGATOR))
    items = [
        stored_item(
            agency=police, content=f"original {i} ".encode() * 50, original_filename=f"clip{i}.mp4"
        )
        for i in range(n)
    ]
    return lead, make_case(lead=lead, items=items), items
