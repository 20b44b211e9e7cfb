"""The audit log names its targets by type strings ("evidence.evidenceitem", ...). Custody
recorded before evidence/ was split into packages must still be found after: the strings are a
contract with every row already written, so they are spelled out here, not derived."""

import pytest
from django.urls import reverse

from evidence.cases.selectors import case_activity
from evidence.disclosure.selectors import disclosure_log
from evidence.models import (
    Case,
    DeletionRequest,
    EvidenceItem,
    RetentionCategory,
    Share,
    ShareLink,
    SigningKey,
    Upload,
    UploadGrant,
)
from evidence.selectors import custody_of
from portal.audit import audit_record
from portal.roles import AgencyKind
from tests.evidence.cases_helpers import make_case, make_share
from tests.factories import AgencyFactory, stored_item

pytestmark = pytest.mark.django_db

RECORDED_BEFORE_THE_SPLIT = {
    EvidenceItem: "evidence.evidenceitem",
    Case: "evidence.case",
    Share: "evidence.share",
    ShareLink: "evidence.sharelink",
    Upload: "evidence.upload",
    UploadGrant: "evidence.uploadgrant",
    DeletionRequest: "evidence.deletionrequest",
    RetentionCategory: "evidence.retentioncategory",
    SigningKey: "evidence.signingkey",
}


@pytest.mark.parametrize("model", RECORDED_BEFORE_THE_SPLIT, ids=lambda m: m.__name__)
def test_every_model_keeps_the_target_type_its_rows_were_written_with(model):
    assert model._meta.label_lower == RECORDED_BEFORE_THE_SPLIT[model]
    assert model._meta.db_table == RECORDED_BEFORE_THE_SPLIT[model].replace(".", "_")


def test_custody_written_with_the_old_strings_shows_on_the_item_case_and_share(
    police, make_staff, signed_in
):
    lead = make_staff()
    item = stored_item(agency=police)
    case = make_case(lead=lead, items=[item])
    office = AgencyFactory(kind=AgencyKind.PROSECUTION)
    share = make_share(case=case, by=lead, office=office)
    # Rows as code before the split wrote them: the target named by its literal type string.
    viewed = audit_record(
        action="evidence.viewed",
        actor=lead,
        target=("evidence.evidenceitem", str(item.pk)),
        details={"via": "web"},
    )
    case_viewed = audit_record(
        action="case.viewed", actor=lead, target=("evidence.case", str(case.pk))
    )
    share_viewed = audit_record(
        action="share.viewed", actor=lead, target=("evidence.share", str(share.pk))
    )

    assert viewed in custody_of(item=item)
    assert {viewed, case_viewed} <= set(case_activity(case=case))
    assert share_viewed in disclosure_log(case=case)
    page = signed_in(lead).get(reverse("evidence:custody_report", args=[item.pk]))
    assert page.status_code == 200 and viewed.hash in page.content.decode()
