"""The "Redact faces" action on the item page, in Chromium on a phone and on a laptop: choose a
solid fill, start it, watch the job page refresh itself until the worker is done, and see the
redacted copy and its hashes, with no console errors (and so no CSP violations)."""

import pytest
from playwright.sync_api import expect

from evidence import services as evidence_services
from evidence.models import EvidenceItem, Redaction
from tests.e2e.conftest import fits_the_width
from tests.e2e.test_evidence_upload_browser import _sign_in
from tests.evidence.redaction.clips import make_clip
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def face_item(police, tmp_path):
    """A processed (playable) short clip with a face in every frame."""
    clip = make_clip(tmp_path, frames=12)
    item = stored_item(
        agency=police, content=clip.path.read_bytes(), state=EvidenceItem.State.RECEIVED
    )
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    return item


def test_staff_start_a_redaction_and_see_its_result(
    live_server, sized_page, celery_worker, make_staff, face_item
):
    page, base = sized_page, live_server.url
    _sign_in(page, base, make_staff())
    page.goto(f"{base}/staff/evidence/{face_item.pk}/")
    page.locator("#redact summary").click()
    page.get_by_label("A solid box", exact=False).check()
    fits_the_width(page)
    page.get_by_role("button", name="Redact faces").click()
    job = Redaction.objects.get(item=face_item)
    expect(page).to_have_url(f"{base}/staff/evidence/{face_item.pk}/redactions/{job.pk}/")
    # The page reloads itself every 2 s while the job runs; the worker finishes it.
    expect(page.locator("#redaction-state")).to_have_text("Done", timeout=120_000)
    job.refresh_from_db()
    assert job.fill == "solid" and job.output is not None
    expect(page.get_by_text(job.output.sha256)).to_be_visible()
    expect(page.get_by_text(job.output.frame_sha256)).to_be_visible()
    expect(page.get_by_role("link", name=job.output.name)).to_be_visible()
    fits_the_width(page)
    page.get_by_role("link", name="Back to the item").click()
    expect(page.locator("#redact")).to_contain_text("Done")
