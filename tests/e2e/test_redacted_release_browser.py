"""Released redacted copies in Chromium, on a phone and a laptop: a prosecutor opening a
redacted-only share plays the redacted copy and downloads it, and cannot open the original or
its playable copies by guessing their URLs; a community reviewer plays the redacted copy of a
sampled body-camera recording. Real pipeline (the redaction job and the media pipeline run
here), real pages, no console errors (so no CSP violations)."""

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from devices.models import Recording
from evidence import services as evidence_services
from evidence.models import Derivative, EvidenceItem, Share
from portal.roles import Role
from review import services as review_services
from tests.e2e.conftest import fits_the_width, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in, _watch_for_trouble
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.evidence.redaction.clips import make_clip
from tests.evidence.redaction.released import redacted
from tests.factories import stored_item
from tests.review.helpers import make_facts, this_month

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def released(police, make_staff, tmp_path):
    """A processed 1.2 s clip with a face, and its approved solid-fill redacted copy."""
    clip = make_clip(tmp_path, frames=30)
    item = stored_item(
        agency=police, content=clip.path.read_bytes(), state=EvidenceItem.State.RECEIVED
    )
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    lead = verified(make_staff(role=Role.INVESTIGATOR))
    job = redacted(item, by=lead, approved_by=verified(make_staff(role=Role.SUPERVISOR)))
    return lead, item, job


def _play(page, selector: str) -> str:
    video = page.locator(selector)
    expect(video).to_be_visible()
    wait_until(page, f"() => document.querySelector('{selector}').readyState >= 1", timeout=30_000)
    page.evaluate(
        f"() => {{ const v = document.querySelector('{selector}'); v.muted = true; v.play(); }}"
    )
    wait_until(
        page, f"() => document.querySelector('{selector}').currentTime > 0.3", timeout=30_000
    )
    return page.evaluate(f"document.querySelector('{selector}').currentSrc")


def test_a_prosecutor_plays_the_redacted_copy_and_cannot_open_the_original(
    live_server, sized_page, make_staff, prosecution, released
):
    page, base = sized_page, live_server.url
    lead, item, job = released
    case = make_case(lead=lead, items=[item])
    share = make_share(
        case=case, by=lead, office=prosecution, level=Share.Level.DOWNLOAD, require_redacted=True
    )
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    trouble = _watch_for_trouble(page, base)
    _sign_in(page, base, prosecutor)
    page.goto(f"{base}/staff/evidence/shared/{share.pk}/")
    expect(page.locator("#share-copies")).to_contain_text("Redacted copies only")
    fits_the_width(page)
    page.get_by_role("link", name="clip.mp4").click()
    played = _play(page, "video#redacted-player")
    assert played.endswith(f"/media/{job.output.name}")
    expect(page.get_by_text(job.output.frame_sha256)).to_be_visible()
    fits_the_width(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download redacted copy").click()
    data = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(data).hexdigest() == job.output.sha256
    assert trouble == []
    # Guessing URLs with the prosecutor's session: the original's copies through the share,
    # the agency's own item page and media routes, all refused.
    share_media = f"{base}/staff/evidence/shared/{share.pk}/items/{item.pk}/media/"
    originals = item.derivatives.exclude(pk=job.output_id).exclude(kind=Derivative.Kind.HLS_SEGMENT)
    assert originals.filter(kind=Derivative.Kind.HLS_PLAYLIST).exists()
    for derivative in originals:
        assert page.request.get(share_media + derivative.name).status in (403, 404)
        own = f"{base}/staff/evidence/{item.pk}/media/{derivative.name}"
        assert page.request.get(own).status in (403, 404)
    assert page.request.get(f"{base}/staff/evidence/{item.pk}/").status in (403, 404)


def test_a_reviewer_plays_the_redacted_copy_of_a_sampled_recording(
    live_server, sized_page, police, released
):
    from tests.review.helpers import staff

    page, base = sized_page, live_server.url
    _lead, item, job = released
    _searches, (recording,) = make_facts(police, searches=0, recordings=1)
    Recording.objects.filter(pk=recording.recording.pk).update(item=item)
    sample = review_services.review_sample_create(agency=police, month=this_month(police))
    sampled = sample.items.get(kind="bodycam_recording")
    reviewer = staff(police)
    trouble = _watch_for_trouble(page, base)
    _sign_in(page, base, reviewer)
    page.goto(f"{base}/staff/review/{sample.pk}/")
    page.locator(f"a[href='/staff/review/items/{sampled.pk}/']").click()
    expect(page.locator("#redacted h2")).to_have_text("Redacted copy")
    played = _play(page, "video#redacted-player")
    assert played.endswith(f"/staff/review/items/{sampled.pk}/redacted/")
    fits_the_width(page)
    assert trouble == []
    assert page.request.get(f"{base}/staff/evidence/{item.pk}/").status in (403, 404)
