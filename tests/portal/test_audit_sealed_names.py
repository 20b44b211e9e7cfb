"""A tip file's name, hidden everywhere else when the tipster did not share file details, is
withheld from the audit log's page, API and CSV export too (on output: the hash-chained rows
stay as stored), and new received rows for such files do not write the name at all."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence import services as evidence_services
from evidence.intake.uploads import upload_append, upload_create
from evidence.models import EvidenceItem, UploadGrant
from portal.audit import audit_record, verify_chain
from portal.models import AuditEvent
from portal.roles import Role
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import TipCategory

pytestmark = pytest.mark.django_db

SEALED_NAME = "IMG_0042 at 14 Maple St.mov"
SHARED_NAME = "porch camera 7 Elm Rd.mov"
WITHHELD = "(withheld: tipster did not share file details)"


def _tip_item(agency, *, share: bool, filename: str) -> EvidenceItem:
    """A tip with one file sent through the real upload services."""
    seed_categories(agency)
    tip = tip_services.tip_create(
        agency=agency,
        category=TipCategory.objects.filter(agency=agency).first(),
        description="The van again, filmed from my window.",
        occurred_at=timezone.now() - dt.timedelta(days=1),
        share_file_metadata=share,
    ).tip
    grant = UploadGrant.objects.get(source_ref=tip.reference)
    body = b"\x00\x00\x00\x18ftypqt   tip bytes " * 20
    upload = upload_create(
        grant=grant, length=len(body), metadata={"filename": filename, "filetype": "video/mp4"}
    )
    upload_append(
        grant=grant, upload_id=upload.id, offset=0, body=io.BytesIO(body), body_length=len(body)
    )
    return EvidenceItem.objects.get(upload=upload)


@pytest.fixture
def world(make_staff, police):
    sealed = _tip_item(police, share=False, filename=SEALED_NAME)
    shared = _tip_item(police, share=True, filename=SHARED_NAME)
    # A row as the code before this change wrote it: it stays in the chain as it is.
    audit_record(
        action="evidence.received",
        actor_label="legacy row",
        target=sealed,
        agency=police,
        details={"client_filename": SEALED_NAME, "size": sealed.size},
    )
    supervisor = make_staff(role=Role.SUPERVISOR)
    supervisor.is_verified = lambda: True
    for item in (sealed, shared):
        evidence_services.download_url_issue(actor=supervisor, item=item)
    return {
        "sealed": sealed,
        "shared": shared,
        "auditor": make_staff(role=Role.AUDITOR),
        "admin": make_staff(role=Role.AGENCY_ADMIN),
    }


def test_new_received_rows_of_sealed_tips_do_not_write_the_name(world):
    first_legacy = AuditEvent.objects.get(actor_label="legacy row").seq
    sealed = AuditEvent.objects.get(
        action="evidence.received",
        target_id=str(world["sealed"].pk),
        seq__lt=first_legacy,
    )
    assert SEALED_NAME not in str(sealed.details)
    assert sealed.details["client_filename_withheld"] is True
    assert sealed.details["upload"] == str(world["sealed"].upload_id)
    shared = AuditEvent.objects.get(action="evidence.received", target_id=str(world["shared"].pk))
    assert shared.details["client_filename"] == SHARED_NAME
    # The item itself keeps its name, guarded by the metadata policy.
    assert world["sealed"].original_filename == SEALED_NAME


@pytest.mark.parametrize("reader", ["auditor", "admin"])
def test_page_api_and_csv_withhold_the_sealed_name(world, reader, signed_in):
    client = signed_in(world[reader])
    page = client.get(reverse("portal:audit_log"), {"target_id": str(world["sealed"].pk)})
    api = client.get(reverse("api-audit-events"), {"target_id": str(world["sealed"].pk)})
    outputs = {"page": page.content.decode(), "api": api.content.decode()}
    if reader == "auditor":
        export = client.get(reverse("portal:audit_export"))
        outputs["csv"] = b"".join(export.streaming_content).decode()
        rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
        assert any(r["target_id"] == str(world["sealed"].pk) for r in rows)
    for name, text in outputs.items():
        assert SEALED_NAME not in text, name
        assert "Maple" not in text, name
    assert "withheld: tipster did not share file details" in outputs["page"]
    details = [e["details"] for e in api.json()["results"]]
    assert {"client_filename": WITHHELD, "size": world["sealed"].size} in details
    assert any(d.get("name") == WITHHELD for d in details)
    # Where the tipster shared, the name is shown as before.
    shared = client.get(reverse("api-audit-events"), {"target_id": str(world["shared"].pk)})
    assert SHARED_NAME in shared.content.decode()
    # Output only: the stored rows and their chain are untouched.
    stored = AuditEvent.objects.get(actor_label="legacy row")
    assert stored.details["client_filename"] == SEALED_NAME
    assert verify_chain().ok
