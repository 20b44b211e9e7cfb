"""Tips and cases: a tip's files join the case whose number the tip carries, whichever comes
first (the number, the file or the case), and the case page lists the tip."""

import pytest

from evidence.cases import services as case_services
from evidence.models import CaseItem, EvidenceItem, UploadGrant
from evidence.sources import case_links_for
from portal.models import AuditEvent
from portal.roles import Role
from submissions import services
from submissions.models import Tip
from tests.evidence.helpers import upload_bytes
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = pytest.mark.django_db(transaction=True)
NUMBER = "RPD-2026-0500"


@pytest.fixture
def investigator(make_staff, tips_agency):
    user = make_staff(Role.INVESTIGATOR, agency=tips_agency)
    user.is_verified = lambda: True  # past the second factor, as django-otp marks it
    return user


def _tip_with_a_file(tips_agency) -> tuple[Tip, EvidenceItem]:
    created = send_tip(tipster_client(), tips_agency).json()
    tip = Tip.objects.get(reference=created["tip"])
    grant = UploadGrant.objects.get(source_ref=tip.reference)
    return tip, upload_bytes(grant, b"\x00\x00\x00\x18ftypmp42", filename="van.mp4")


def test_giving_a_tip_a_case_number_files_its_items_into_that_case(tips_agency, investigator):
    case = case_services.case_create(actor=investigator, number=NUMBER, title="Van")
    tip, item = _tip_with_a_file(tips_agency)
    assert not CaseItem.objects.filter(item=item).exists()

    services.tip_update(actor=investigator, tip=tip, case_number=NUMBER)

    assert list(case.items.all()) == [item]
    added = AuditEvent.objects.get(action="case.item_added", target_id=str(item.pk))
    assert added.actor_label == f"tip {tip.reference}"


def test_a_file_added_to_a_numbered_tip_joins_the_case_as_it_arrives(tips_agency, investigator):
    case = case_services.case_create(actor=investigator, number=NUMBER, title="Van")
    tip, first = _tip_with_a_file(tips_agency)
    services.tip_update(actor=investigator, tip=tip, case_number=NUMBER)
    grant = UploadGrant.objects.filter(source_ref=tip.reference).first()
    second = upload_bytes(grant, b"\xff\xd8\xff\xe0 more", filename="b.jpg")
    assert set(case.items.all()) == {first, second}


def test_a_case_opened_after_the_tip_got_its_number_takes_the_tips_files(tips_agency, investigator):
    tip, item = _tip_with_a_file(tips_agency)
    services.tip_update(actor=investigator, tip=tip, case_number=NUMBER)

    case = case_services.case_create(actor=investigator, number=NUMBER, title="Van")

    assert list(case.items.all()) == [item]


def test_the_case_page_lists_the_tip_and_the_lookup_is_audited(tips_agency, investigator):
    case = case_services.case_create(actor=investigator, number=NUMBER, title="Van")
    tip, _ = _tip_with_a_file(tips_agency)
    services.tip_update(actor=investigator, tip=tip, case_number=NUMBER)

    links = case_links_for(actor=investigator, case=case)

    assert [(link.kind, link.url) for link in links] == [("tip", f"/staff/tips/{tip.reference}/")]
    lookup = AuditEvent.objects.filter(action="tip.case_lookup", actor=investigator).latest("seq")
    assert lookup.case_ref == NUMBER and lookup.details["rows"] == 1


def test_another_agencys_case_with_the_same_number_gets_nothing(
    tips_agency, investigator, other_police, make_staff
):
    tip, item = _tip_with_a_file(tips_agency)
    services.tip_update(actor=investigator, tip=tip, case_number=NUMBER)
    stranger = make_staff(Role.INVESTIGATOR, agency=other_police)
    stranger.is_verified = lambda: True

    elsewhere = case_services.case_create(actor=stranger, number=NUMBER, title="Other")

    assert not elsewhere.items.exists()
    assert case_links_for(actor=stranger, case=elsewhere) == []
