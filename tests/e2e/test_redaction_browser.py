"""Face redaction in Chromium on a phone (390 px) and a laptop (1366 px): start it from the item
page, wait for the analysis, then in the reviewer's editor draw a box over a moving licence
plate, track it (CSRT on the server), correct it by dragging it into place on a later frame
(a keyframe) and track again, mute a range, approve, and find the rendered copy recorded with
its hash on the page. No console errors (and so no CSP violations), no failed requests."""

import pytest
from playwright.sync_api import expect

from evidence import services as evidence_services
from evidence.models import EvidenceItem, Redaction
from portal import redact
from portal.storage import open_object
from tests.e2e.conftest import ARTIFACTS, fits_the_width, wait_until
from tests.e2e.test_evidence_upload_browser import _sign_in, _watch_for_trouble
from tests.evidence.redaction.clips import WIDTH, make_clip
from tests.factories import stored_item

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]
FRAMES = 30
LATER = 20  # the frame where the reviewer corrects the tracked box


@pytest.fixture
def plate_item(police, tmp_path):
    """A processed (playable) short clip with a face and a moving licence plate."""
    clip = make_clip(tmp_path, frames=FRAMES, plate=True)
    item = stored_item(
        agency=police, content=clip.path.read_bytes(), state=EvidenceItem.State.RECEIVED
    )
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    return item, clip


def _drag(page, start, end, steps=8, via=None, picture_width=WIDTH):
    """A press, a drag (by way of `via`) and a release on the editor's canvas, in the
    picture's pixels."""
    expect(page.locator("#redact-editor[data-ready]")).to_have_count(1)
    canvas = page.locator("#redact-canvas")
    canvas.evaluate("c => c.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    k = box["width"] / picture_width

    def at(point):
        return box["x"] + point[0] * k, box["y"] + point[1] * k

    page.mouse.move(*at(start))
    wait_until(
        page,
        f"() => document.elementFromPoint({at(start)[0]}, {at(start)[1]}).id === 'redact-canvas'",
    )
    page.mouse.down()
    if via:
        page.mouse.move(*at(via), steps=steps)
    page.mouse.move(*at(end), steps=steps)
    page.mouse.up()


def _centre(b):
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def test_review_track_correct_mute_approve_and_see_the_recorded_copy(
    live_server, sized_page, celery_worker, make_staff, plate_item
):
    item, clip = plate_item
    page, base = sized_page, live_server.url
    trouble = _watch_for_trouble(page, base)
    _sign_in(page, base, make_staff())
    page.goto(f"{base}/staff/evidence/{item.pk}/")
    page.locator("#redact summary").click()
    page.get_by_label("A solid box", exact=False).check()
    fits_the_width(page)
    page.get_by_role("button", name="Redact faces").click()
    job = Redaction.objects.get(item=item)
    expect(page).to_have_url(f"{base}/staff/evidence/{item.pk}/redactions/{job.pk}/")
    # The page reloads itself while the analysis runs, then shows the editor.
    expect(page.locator("#redaction-state")).to_have_text("Waiting for review", timeout=120_000)
    expect(page.locator("#redact-canvas")).to_be_visible()
    expect(page.locator("#redact-frame")).to_have_text("Frame 0 of 29 · 0.00 s")
    fits_the_width(page)

    # Draw a box over the plate at frame 0 (corner to corner), then track it.
    x1, y1, x2, y2 = clip.plates[0]
    # (Once the video has its first frame: the editor then puts it on frame 0.)
    wait_until(page, "() => document.querySelector('#redact-media').readyState >= 2")
    _drag(page, (x1, y1), (x2, y2))
    expect(page.locator("#redact-status")).to_contain_text("Box added")
    page.get_by_role("button", name="Track").click()
    expect(page.locator("#redact-status")).to_contain_text(
        "Tracked over frames 0 to", timeout=60_000
    )
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"redaction-editor-{width}.png"), full_page=True)
    job.refresh_from_db()
    (box,) = job.draft["manual_boxes"]
    assert box["start"] == 0 and len(box["tracked"]) == box["end"] + 1 == FRAMES
    assert job.reviewed_by is not None

    # On a later frame the reviewer drags the tracked box exactly onto the plate: a keyframe.
    page.locator("#redact-seek").fill(str(LATER))
    expect(page.locator("#redact-frame")).to_contain_text(f"Frame {LATER} of 29")
    tracked = box["tracked"][str(LATER)]
    (cx, cy), (px, py) = _centre(tracked), _centre(clip.plates[LATER])
    # (By way of a point well off, as a hand would: CSRT may already be close to the plate.)
    _drag(page, (cx, cy), (px, py), via=(cx - 60, cy - 40))
    expect(page.locator("#redact-status")).to_have_text("Unsaved changes.")
    page.get_by_role("button", name="Track").click()
    expect(page.locator("#redact-status")).to_contain_text(
        "Tracked over frames 0 to", timeout=60_000
    )
    job.refresh_from_db()
    (box,) = job.draft["manual_boxes"]
    assert sorted(box["keyframes"], key=int) == ["0", str(LATER)]
    corrected = box["keyframes"][str(LATER)]
    assert all(
        abs(a - b) <= 4
        for a, b in zip(_centre(corrected), _centre(clip.plates[LATER]), strict=True)
    )
    assert len(box["tracked"]) == FRAMES and box["tracked"][str(LATER)] == corrected

    # Mute from here to the end, and approve: the draft is saved, then the render runs.
    page.get_by_role("button", name="Mute from this moment").click()
    expect(page.get_by_label("Mute 1 from (s)")).to_be_visible()
    fits_the_width(page)
    page.get_by_role("button", name="Approve and render").click()
    expect(page.locator("#redaction-state")).to_have_text("Done", timeout=120_000)
    job.refresh_from_db()
    assert job.fill == "solid" and job.output is not None and job.approved_by == job.reviewed_by
    expect(page.get_by_text(job.output.sha256)).to_be_visible()
    expect(page.get_by_text(job.recipe.sha256)).to_be_visible()
    with open_object(job.recipe.key) as f:
        recipe = redact.recipe_load(f.read())
    assert recipe["manual_boxes"][0]["keyframes"][str(LATER)] == corrected
    assert len(recipe["mute_ranges"]) == 1 and recipe["mute_ranges"][0][1] == pytest.approx(1.2)
    fits_the_width(page)
    assert not trouble, trouble


@pytest.fixture
def photo_item(police):
    """A processed photo with the astronaut's face in it."""
    import io

    import numpy as np
    from PIL import Image
    from skimage import data

    canvas = np.full((400, 600, 3), 120, np.uint8)
    canvas[80:336, 200:456] = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    raw = io.BytesIO()
    Image.fromarray(canvas).save(raw, format="PNG")
    item = stored_item(
        agency=police, content=raw.getvalue(), media_type="image/png", media_kind="image",
        state=EvidenceItem.State.RECEIVED,
    )  # fmt: skip
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    return item


def test_a_photo_is_reviewed_in_the_same_editor_without_a_timeline(
    live_server, sized_page, celery_worker, make_staff, photo_item
):
    page, base = sized_page, live_server.url
    trouble = _watch_for_trouble(page, base)
    _sign_in(page, base, make_staff())
    page.goto(f"{base}/staff/evidence/{photo_item.pk}/")
    page.locator("#redact summary").click()
    page.get_by_role("button", name="Redact faces").click()
    expect(page.locator("#redaction-state")).to_have_text("Waiting for review", timeout=120_000)
    expect(page.locator("#redact-seek")).to_have_count(0)  # no timeline
    expect(page.get_by_role("button", name="Mute from this moment")).to_have_count(0)
    wait_until(page, "() => document.querySelector('#redact-media').complete")
    _drag(page, (20, 340), (120, 390), picture_width=600)  # a house number, bottom left
    expect(page.locator("#redact-status")).to_have_text("Box added.")
    expect(page.get_by_role("button", name="Track")).to_be_hidden()
    fits_the_width(page)
    page.get_by_role("button", name="Approve and render").click()
    expect(page.locator("#redaction-state")).to_have_text("Done", timeout=120_000)
    job = Redaction.objects.get(item=photo_item)
    assert job.output.kind == "redacted_image"
    expect(page.get_by_text(job.output.sha256)).to_be_visible()
    with open_object(job.recipe.key) as f:
        recipe = redact.recipe_load(f.read())
    (manual,) = recipe["manual_boxes"]
    x1, y1, x2, y2 = manual["keyframes"]["0"]
    assert abs(x1 - 20) <= 3 and abs(y2 - 390) <= 3 and manual["start"] == manual["end"] == 0
    assert not trouble, trouble


def test_the_editor_has_no_serious_accessibility_violations(live_server, browser, make_staff):
    """axe-core (as test_accessibility_browser runs it) on the editor, at 390 and 1366 px, before
    and after a box is drawn (its panel open) and a mute range added."""
    from evidence.models import Redaction
    from tests.e2e.test_accessibility_browser import Walk

    staff = make_staff()
    item = stored_item(agency=staff.agency)
    draft = {
        "recipe_version": 2,
        "params": {"fill": "solid", "mask_scale": 1.3, "dilate_frames": 3},
        "source": {"kind": "video", "width": 640, "height": 360, "fps": 25.0, "frames": 50},
        "detections": {"0": [[100, 100, 160, 170, 0.9]]},
        "manual_boxes": [],
        "suppressed": [],
        "mute_ranges": [],
    }
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=staff, state=Redaction.State.REVIEW, draft=draft
    )
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        _sign_in(page, live_server.url, staff)
        walk = Walk(page, live_server.url)
        walk.check("redaction editor", f"/staff/evidence/{item.pk}/redactions/{job.pk}/")
        page.set_viewport_size({"width": 390, "height": 844})
        _drag(page, (400, 200), (500, 260))
        expect(page.locator("#redact-selected")).to_be_visible()
        page.get_by_role("button", name="Mute from this moment").click()
        walk.check("redaction editor with a box selected")
    finally:
        context.close()
    assert walk.seen == 4
    assert not walk.found, walk.found


def test_not_a_face_removes_a_still_object_with_one_region_and_a_moving_one_frame_by_frame(
    live_server, sized_page, make_staff
):
    """Detection runs on every 3rd frame: "Not a face" removes the selected object over its
    run of detection frames. A still one gets one region over the run; a moving one (which
    the run's whole area does not match: the server only removes a detection of much the same
    place and size as the region) a region on each of its detection frames. The saved draft
    then masks neither, and masks a face that was not removed."""
    page, base = sized_page, live_server.url
    staff = make_staff()
    item = stored_item(agency=staff.agency)
    poster = [100, 100, 160, 170]
    moving = [[300 + 30 * k, 100, 360 + 30 * k, 170] for k in range(4)]
    face = [100, 250, 150, 300]
    draft = {
        "recipe_version": 2,
        "params": {"fill": "solid", "mask_scale": 1.0, "dilate_frames": 0, "detect_every": 3},
        "source": {"kind": "video", "width": 640, "height": 360, "fps": 25.0, "frames": 10},
        "detections": {
            str(3 * k): [[*poster, 0.9], [*moving[k], 0.8], [*face, 0.7]] for k in range(4)
        },
        "manual_boxes": [],
        "suppressed": [],
        "mute_ranges": [],
    }
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=staff, state=Redaction.State.REVIEW, draft=draft
    )
    trouble = _watch_for_trouble(page, base)
    _sign_in(page, base, staff)
    page.goto(f"{base}/staff/evidence/{item.pk}/redactions/{job.pk}/")
    for target in (poster, moving[0]):
        _drag(page, _centre(target), _centre(target), steps=1)
        expect(page.locator("#redact-start")).to_have_value("0")
        expect(page.locator("#redact-end")).to_have_value("9")  # the run: frames 0, 3, 6, 9
        page.get_by_role("button", name="Not a face: remove over these frames").click()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#redact-status")).to_have_text("Draft saved.")
    job.refresh_from_db()
    regions = job.draft["suppressed"]
    assert [(r["start"], r["end"]) for r in regions] == [(0, 9), (0, 0), (3, 3), (6, 6), (9, 9)]
    masks = redact.frame_masks(job.draft, 10)
    assert all(masks[f] == [tuple(face)] for f in (0, 3, 6, 9)), masks
    assert not trouble, trouble
