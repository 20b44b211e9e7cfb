"""The reviewer's step between analysis and render: the job waits in `review` with a draft
recipe; a reviewer's edits (removed detections, manual boxes with keyframes tracked with CSRT,
mutes, the fill) are validated and saved; a person allowed to redact approves; the render uses
exactly the edited recipe (version 2), and custody names who reviewed and who approved.
Real PostgreSQL, Redis queue, ffmpeg and CenterFace; the media queue's tasks run here."""

import copy
import json

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from evidence import audit_actions as actions
from evidence import services
from evidence.models import Derivative, Redaction
from evidence.selectors import custody_of
from portal import redact, storage
from tests.conftest import client_for
from tests.evidence.redaction.clips import HEIGHT, WIDTH, decoded, make_clip
from tests.evidence.redaction.test_redaction_jobs import _run_media_queue
from tests.factories import stored_item

State = Redaction.State
DARK = 40
FRAMES = 30


def _draft(frames=FRAMES, kind="video"):
    """A small version 2 draft as analysis leaves it (one detection on frame 3)."""
    return {
        "recipe_version": 2,
        "detector": {"name": "CenterFace"},
        "params": {"threshold": 0.2, "mask_scale": 1.0, "dilate_frames": 0, "fill": "solid"},
        "source": {
            "kind": kind,
            "sha256": "0" * 64,
            "width": WIDTH,
            "height": HEIGHT,
            "fps": 25.0 if kind == "video" else None,
            "frames": frames,
        },  # fmt: skip
        "detections": {"3": [[100, 100, 160, 170, 0.9]]},
        "manual_boxes": [],
        "suppressed": [],
        "mute_ranges": [],
    }


def _manual(box_id="m1", start=0, end=9, keyframes=None):
    return {"id": box_id, "label": "plate", "start": start, "end": end,
            "keyframes": keyframes or {str(start): [10, 10, 50, 40]}}  # fmt: skip


# --- the recipe: edits, masks, versions (no database) ------------------------------------------


def test_a_suppressed_detection_is_not_masked_and_a_keyframed_box_is_held_between_keyframes():
    draft = _draft()
    edited = redact.recipe_edit(
        draft,
        {
            "suppressed": [{"start": 2, "end": 4, "box": [90, 90, 170, 180]}],
            "manual_boxes": [
                _manual(
                    start=5, end=12, keyframes={"5": [10, 10, 50, 40], "9": [200, 200, 260, 240]}
                )
            ],  # fmt: skip
        },
    )
    assert draft["suppressed"] == [] and draft["manual_boxes"] == []  # the draft is not changed
    masks = redact.frame_masks(edited, FRAMES)
    assert masks[3] == []  # the detection was suppressed
    unsuppressed = redact.frame_masks(_draft(), FRAMES)
    assert unsuppressed[3] == [(100, 100, 160, 170)]
    assert all(masks[i] == [] for i in range(5))
    assert all(masks[i] == [(10, 10, 50, 40)] for i in range(5, 9))
    assert all(masks[i] == [(200, 200, 260, 240)] for i in range(9, 13))
    assert all(masks[i] == [] for i in range(13, FRAMES))
    # The edited recipe is version 2 and round-trips through its canonical bytes.
    assert redact.recipe_load(redact.recipe_bytes(edited)) == edited
    assert edited["recipe_version"] == redact.RECIPE_VERSION == 2


def test_a_suppressed_region_removes_only_its_own_object_not_a_face_passing_it():
    """A region removes the detection it was drawn from (much the same place and size), not
    a smaller face whose centre passes inside it nor a larger one passing over it."""
    poster = [100, 100, 160, 170]  # the false positive the reviewer removed, grown a tenth
    region = {"start": 0, "end": FRAMES - 1, "box": [94, 93, 166, 177]}
    small_face = [120, 125, 140, 145]  # a real face in front of the poster: centre inside
    big_face = [40, 40, 260, 260]  # a real face close to the camera: centre inside too
    draft = _draft()
    draft["detections"] = {
        "3": [[*poster, 0.9]],
        "6": [[*poster, 0.9], [*small_face, 0.8]],
        "9": [[*big_face, 0.95]],
    }
    masks = redact.frame_masks(redact.recipe_edit(draft, {"suppressed": [region]}), FRAMES)
    assert masks[3] == []  # the poster is gone
    assert masks[6] == [tuple(small_face)]
    assert masks[9] == [tuple(big_face)]
    # The whole picture as a region removes nothing but a face filling the picture.
    whole = {"start": 0, "end": FRAMES - 1, "box": [0, 0, WIDTH, HEIGHT]}
    masks = redact.frame_masks(redact.recipe_edit(draft, {"suppressed": [whole]}), FRAMES)
    assert masks[3] == [tuple(poster)] and tuple(big_face) in masks[9]


def test_a_version_1_recipe_still_loads_and_masks_its_tracked_boxes():
    v1 = _draft()
    v1["recipe_version"] = 1
    del v1["suppressed"]
    v1["manual_boxes"] = [{"start": 1, "end": 2, "box": [5, 5, 30, 30], "label": "",
                           "tracked": {"1": [5, 5, 30, 30], "2": [6, 6, 31, 31]}}]  # fmt: skip
    loaded = redact.recipe_load(redact.recipe_bytes(v1))
    masks = redact.frame_masks(loaded, FRAMES)
    assert masks[1] == [(5, 5, 30, 30)] and masks[2] == [(6, 6, 31, 31)]
    assert masks[3] == [(100, 100, 160, 170)] and masks[0] == []
    with pytest.raises(ValueError):
        redact.recipe_load(json.dumps({**v1, "recipe_version": 3}).encode())


BAD_EDITS = [
    ("not an object", ["nope"]),
    ("unknown field", {"detections": {}}),
    ("bad fill", {"fill": "pixelate"}),
    ("box outside", {"manual_boxes": [_manual(keyframes={"0": [600, 10, 700, 40]})]}),
    ("negative box", {"manual_boxes": [_manual(keyframes={"0": [-1, 10, 50, 40]})]}),
    ("degenerate box", {"manual_boxes": [_manual(keyframes={"0": [10, 10, 11, 40]})]}),
    ("text in a box", {"manual_boxes": [_manual(keyframes={"0": ["10", 10, 50, 40]})]}),
    ("infinite", {"manual_boxes": [_manual(keyframes={"0": [10, 10, float("inf"), 40]})]}),
    ("frames past the end", {"manual_boxes": [_manual(start=0, end=FRAMES)]}),
    ("backwards", {"suppressed": [{"start": 5, "end": 4, "box": [0, 0, 10, 10]}]}),
    (
        "keyframe outside",
        {"manual_boxes": [_manual(start=2, end=5, keyframes={"7": [1, 1, 9, 9]})]},
    ),
    ("no keyframes", {"manual_boxes": [{**_manual(), "keyframes": {}}]}),
    ("bad id", {"manual_boxes": [_manual(box_id="<script>")]}),
    ("same id", {"manual_boxes": [_manual(), _manual()]}),
    ("long label", {"manual_boxes": [{**_manual(), "label": "x" * 101}]}),
    ("too many", {"suppressed": [{"start": 0, "end": 1, "box": [0, 0, 9, 9]}] * 1001}),
    ("keyframe not a frame", {"manual_boxes": [_manual(keyframes={"x": [1, 1, 9, 9]})]}),
    ("keyframe in other digits", {"manual_boxes": [_manual(keyframes={"\u00b2": [1, 1, 9, 9]})]}),
    ("keyframe in arabic digits", {"manual_boxes": [_manual(keyframes={"\u0661": [1, 1, 9, 9]})]}),
    ("mute backwards", {"mute_ranges": [[2.0, 1.0]]}),
    ("mute past the end", {"mute_ranges": [[0.0, 60.0]]}),
    ("mute not numbers", {"mute_ranges": [["a", 1]]}),
]


@pytest.mark.parametrize("edits", [e for _, e in BAD_EDITS], ids=[n for n, _ in BAD_EDITS])
def test_bad_edits_are_refused_with_a_reason(edits):
    with pytest.raises(redact.EditError) as refused:
        redact.recipe_edit(_draft(), edits)
    assert str(refused.value)


def test_a_box_too_long_to_track_is_refused_when_saved_not_when_rendered():
    """The render tracks a box left untracked with track_manual, which refuses more than
    TRACK_MAX_FRAMES frames: such a box is refused at the save, before anyone approves."""
    frames = redact.TRACK_MAX_FRAMES + 10
    too_long = _manual(start=0, end=redact.TRACK_MAX_FRAMES)
    with pytest.raises(redact.EditError, match="split it"):
        redact.recipe_edit(_draft(frames=frames), {"manual_boxes": [too_long]})
    longest = _manual(start=0, end=redact.TRACK_MAX_FRAMES - 1)
    edited = redact.recipe_edit(_draft(frames=frames), {"manual_boxes": [longest]})
    assert redact.needs_tracking(edited, edited["manual_boxes"][0])
    # One tracked in full by the analysis (its range and keyframe as they were) is kept.
    tracked = copy.deepcopy(_draft(frames=frames))
    tracked["manual_boxes"] = [
        {**too_long, "tracked": {str(i): [10, 10, 50, 40] for i in range(frames - 9)}}
    ]
    kept = redact.recipe_edit(tracked, {"manual_boxes": [too_long]})
    assert not redact.needs_tracking(kept, kept["manual_boxes"][0])


def test_a_photo_has_no_sound_to_mute_and_its_box_covers_its_one_frame():
    photo = _draft(frames=1, kind="image")
    with pytest.raises(redact.EditError, match="no sound"):
        redact.recipe_edit(photo, {"mute_ranges": [[0, 1]]})
    edited = redact.recipe_edit(photo, {"manual_boxes": [_manual(start=0, end=0)]})
    assert redact.frame_masks(edited, 1)[0] == [(10, 10, 50, 40)]
    assert not redact.needs_tracking(edited, edited["manual_boxes"][0])


# --- the flow: analyse, review, track, approve, render (database, queue, real files) -----------


def _covered(frame, box) -> float:
    x1, y1, x2, y2 = box
    return float((frame[y1:y2, x1:x2].max(axis=2) < DARK).mean())


@pytest.fixture
def plate_job(db, task_queue, owner, tmp_path, django_capture_on_commit_callbacks):
    """A clip with a face and a moving plate, analysed: the job waits for review."""
    clip = make_clip(tmp_path, frames=FRAMES, plate=True)
    item = stored_item(agency=owner.agency, content=clip.path.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        job = services.redaction_start(actor=owner, item=item, fill="blur")
    assert _run_media_queue(task_queue) == [State.REVIEW]
    job.refresh_from_db()
    return job, clip


def test_the_reviewers_recipe_is_what_is_rendered_and_custody_names_reviewer_and_approver(
    plate_job, task_queue, owner, colleague, tmp_path, django_capture_on_commit_callbacks
):
    job, clip = plate_job
    item = job.item
    # The face is found on every detection frame (every detect_every-th and the last).
    every = job.draft["params"]["detect_every"]
    detection_frames = sorted({*range(0, FRAMES, every), FRAMES - 1})
    assert job.draft["recipe_version"] == 2
    assert sorted(map(int, job.draft["detections"])) == detection_frames
    assert (
        job.output is None
        and not item.derivatives.filter(
            kind__in=[Derivative.Kind.REDACTED_VIDEO, Derivative.Kind.REDACTION_RECIPE]
        ).exists()
    )
    assert actions.REDACTION_ANALYSED.name in [e.action for e in custody_of(item=item)]

    # The reviewer: the face is "not a face" everywhere (so it must stay visible); a box drawn
    # on the plate at frame 0, tracked, then corrected with a keyframe at frame 20; a mute.
    # (The face moves: as the editor does for a moving object, one region on each detection
    # frame, its box grown a tenth on each side.)
    plate0, plate20 = list(clip.plates[0]), list(clip.plates[20])

    def padded(box):
        x1, y1, x2, y2 = box[:4]
        px, py = round((x2 - x1) * 0.1), round((y2 - y1) * 0.1)
        return [max(0, x1 - px), max(0, y1 - py), min(WIDTH, x2 + px), min(HEIGHT, y2 + py)]

    removed = [
        {"start": int(f), "end": int(f), "box": padded(box)}
        for f, boxes in sorted(job.draft["detections"].items(), key=lambda kv: int(kv[0]))
        for box in boxes
    ]
    edits = {
        "fill": "solid",
        "suppressed": removed,
        "manual_boxes": [
            {
                "id": "plate",
                "label": "AB 123",
                "start": 0,
                "end": FRAMES - 1,
                "keyframes": {"0": plate0},
            }
        ],  # fmt: skip
        "mute_ranges": [[0.2, 0.6]],
    }
    services.redaction_draft_save(actor=owner, job=job, edits=edits)
    job = services.redaction_track(actor=owner, job=job, box_id="plate")
    tracked = job.draft["manual_boxes"][0]["tracked"]
    assert sorted(map(int, tracked)) == list(range(FRAMES))
    edits["manual_boxes"][0]["keyframes"]["20"] = plate20
    job = services.redaction_draft_save(actor=owner, job=job, edits=edits)
    assert job.draft["manual_boxes"][0]["tracked"] == {}  # keyframes moved: tracked anew
    job = services.redaction_track(actor=owner, job=job, box_id="plate")
    tracked = job.draft["manual_boxes"][0]["tracked"]
    assert tracked["20"] == plate20 and tracked["0"] == plate0

    # A second person approves; the job renders the reviewed recipe.
    with django_capture_on_commit_callbacks(execute=True):
        services.redaction_approve(actor=colleague, job=job)
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.fill == "solid"
    assert _run_media_queue(task_queue) == [State.DONE]
    job.refresh_from_db()
    assert job.state == State.DONE and job.reviewed_by == owner and job.approved_by == colleague
    with storage.open_object(job.recipe.key) as f:
        recipe = redact.recipe_load(f.read())
    assert recipe["suppressed"] == edits["suppressed"] and recipe["mute_ranges"] == [[0.2, 0.6]]
    assert recipe["manual_boxes"][0]["keyframes"] == {"0": plate0, "20": plate20}
    assert recipe["params"]["fill"] == "solid"

    with storage.open_object(job.output.key) as f:
        (tmp_path / "out.mp4").write_bytes(f.read())
    out, source = decoded(tmp_path / "out.mp4"), decoded(clip.path)
    plate = [_covered(out[i], clip.plates[i]) for i in range(FRAMES)]
    # The plate: masked on every frame (exactly where the reviewer put it on the keyframes,
    # as CSRT follows it in between).
    assert plate[0] >= 0.95 and plate[20] >= 0.95 and min(plate) >= 0.6, plate
    assert np.mean(plate) >= 0.85, plate
    for i in range(FRAMES):
        x1, y1, x2, y2 = clip.faces[i]  # the suppressed face: not masked, as the source
        diff = np.abs(out[i, y1:y2, x1:x2].astype(int) - source[i, y1:y2, x1:x2].astype(int))
        assert diff.mean() < 6, (i, diff.mean())

    events = {e.action: e for e in custody_of(item=item)}
    assert events[actions.REDACTION_EDITED.name].actor_id == owner.pk
    assert events[actions.REDACTION_TRACKED.name].actor_id == owner.pk
    approved = events[actions.REDACTION_APPROVED.name]
    assert approved.actor_id == colleague.pk
    assert approved.details["reviewed_by"] == owner.get_username()
    done = events[actions.REDACTED.name].details
    assert done["reviewed_by"] == owner.get_username()
    assert done["approved_by"] == colleague.get_username()
    assert done["suppressed"] == len(removed) and done["manual_boxes"] == 1


def _post_json(client, name, job, body):
    url = reverse(f"evidence:{name}", args=[job.item_id, job.pk])
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", url, raw, "application/json")


def test_refused_edits_keep_the_saved_draft(
    db, owner, colleague, read_only_colleague, stranger, make_staff
):
    item = stored_item(agency=owner.agency)
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=owner, state=State.REVIEW, draft=_draft()
    )
    saved = services.redaction_draft_save(
        actor=owner, job=job, edits={"manual_boxes": [_manual()]}
    ).draft
    kept = copy.deepcopy(saved)
    client = client_for(owner)
    bad = {"manual_boxes": [_manual(keyframes={"0": [10, 10, 9999, 40]})]}
    answer = _post_json(client, "redaction_draft", job, bad)
    assert answer.status_code == 400 and "inside the 640x360 picture" in answer.json()["error"]
    huge = json.dumps({"suppressed": [{"start": 0, "end": 1, "box": [0, 0, 9, 9]}] * 20000})
    answer = _post_json(client, "redaction_draft", job, huge.encode())
    assert answer.status_code == 413 and "too large" in answer.json()["error"]
    answer = _post_json(client, "redaction_draft", job, b"{not json")
    assert answer.status_code == 400
    answer = _post_json(client, "redaction_draft", job, b"[" * 100_000)  # too deep to parse
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]
    assert (
        _post_json(client_for(read_only_colleague), "redaction_draft", job, {}).status_code == 403
    )
    assert _post_json(client_for(stranger), "redaction_draft", job, {}).status_code == 404
    assert _post_json(client_for(None), "redaction_draft", job, {}).status_code == 302
    with pytest.raises(PermissionDenied):
        services.redaction_draft_save(actor=stranger, job=job, edits={})
    with pytest.raises(PermissionDenied):
        services.redaction_approve(actor=read_only_colleague, job=job)
    # The analysis's message delivered again (a worker died before acknowledging it) leaves
    # the job in review with its saved draft.
    from evidence.tasks import redact_item

    assert redact_item.apply(args=[str(job.pk)]).get() == "skipped"
    job.refresh_from_db()
    assert job.draft == kept and job.state == State.REVIEW and job.approved_by is None

    # A good save answers with the saved edits; tracking a photo or an unknown box is refused.
    good = _post_json(client, "redaction_draft", job, {"fill": "blur", "mute_ranges": [[0, 0.5]]})
    assert good.status_code == 200 and good.json()["fill"] == "blur"
    assert good.json()["manual_boxes"] == [] and good.json()["reviewed_by"] == owner.get_username()
    unknown = _post_json(client, "redaction_track", job, {"box": "nope"})
    assert unknown.status_code == 400 and "save your edits" in unknown.json()["error"]

    # Approved, the job is no longer in review: no more edits, no second approval.
    services.redaction_approve(actor=colleague, job=job)
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.reviewed_by == owner and job.approved_by == colleague
    late = _post_json(client, "redaction_draft", job, {"fill": "solid"})
    assert late.status_code == 400 and "not waiting for review" in late.json()["error"]
    with pytest.raises(ValidationError):
        services.redaction_approve(actor=owner, job=job)


def test_a_job_in_review_can_be_discarded_and_its_editor_page_loads(db, owner):
    item = stored_item(agency=owner.agency)
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=owner, state=State.REVIEW, draft=_draft()
    )
    client = client_for(owner)
    page = client.get(reverse("evidence:redaction", args=[item.pk, job.pk]))
    assert page.status_code == 200
    assert b'id="redaction-draft"' in page.content and b"Approve and render" in page.content
    assert b'http-equiv="refresh"' not in page.content
    client.post(reverse("evidence:redaction_cancel", args=[item.pk, job.pk]))
    job.refresh_from_db()
    assert job.state == State.CANCELLED


def test_tracking_in_the_web_request_stops_at_its_time_limit(db, owner, tmp_path, settings):
    """The editor's Track runs in the reviewer's request: it gives up after
    REDACTION_TRACK_TIMEOUT_SECONDS (not the media tools' hours); the render tracks the box."""
    clip = make_clip(tmp_path, frames=FRAMES, plate=True, audio=False)
    item = stored_item(agency=owner.agency, content=clip.path.read_bytes())
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=owner, state=State.REVIEW, draft=_draft()
    )
    box = _manual(box_id="plate", start=0, end=FRAMES - 1, keyframes={"0": list(clip.plates[0])})
    services.redaction_draft_save(actor=owner, job=job, edits={"manual_boxes": [box]})
    settings.REDACTION_TRACK_TIMEOUT_SECONDS = 0.001
    with pytest.raises(ValidationError, match="timed out"):
        services.redaction_track(actor=owner, job=job, box_id="plate")
    job.refresh_from_db()
    assert job.draft["manual_boxes"][0]["tracked"] == {} and job.state == State.REVIEW
    settings.REDACTION_TRACK_TIMEOUT_SECONDS = 120
    job = services.redaction_track(actor=owner, job=job, box_id="plate")
    assert sorted(map(int, job.draft["manual_boxes"][0]["tracked"])) == list(range(FRAMES))


def test_a_person_tracks_one_box_at_a_time(db, owner, colleague, tmp_path):
    """While a Track of a person's runs (its advisory lock held, here by another session),
    a second one of theirs is refused at once; a colleague's is not."""
    import psycopg
    from django.db import connection

    from evidence.services.redaction import _TRACK_LOCK

    clip = make_clip(tmp_path, frames=FRAMES, plate=True, audio=False)
    item = stored_item(agency=owner.agency, content=clip.path.read_bytes())
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=owner, state=State.REVIEW, draft=_draft()
    )
    box = _manual(box_id="plate", start=0, end=9, keyframes={"0": list(clip.plates[0])})
    services.redaction_draft_save(actor=owner, job=job, edits={"manual_boxes": [box]})
    db_settings = connection.settings_dict
    with psycopg.connect(
        dbname=db_settings["NAME"], user=db_settings["USER"], password=db_settings["PASSWORD"],
        host=db_settings["HOST"] or None, port=db_settings["PORT"] or None, autocommit=True,
    ) as other:  # fmt: skip
        other.execute("SELECT pg_advisory_lock(%s)", [_TRACK_LOCK << 32 | owner.pk])
        with pytest.raises(ValidationError, match="tracking a box already"):
            services.redaction_track(actor=owner, job=job, box_id="plate")
        job = services.redaction_track(actor=colleague, job=job, box_id="plate")
        assert sorted(map(int, job.draft["manual_boxes"][0]["tracked"])) == list(range(10))
    # The lock is let go after a Track (the owner may track again).
    job = services.redaction_track(actor=owner, job=job, box_id="plate")
    assert job.reviewed_by == owner


def test_a_keyframe_too_small_to_track_holds_its_box_rather_than_follow_the_old_object(tmp_path):
    """Tracking runs at DETECT_WIDTH: on a 1920 px clip a 2 px keyframe box is under a pixel
    there. From that keyframe on the box holds still where the person put it; it does not go
    on following the object of the keyframe before."""
    from portal import media

    clip = tmp_path / "wide.mp4"
    media.synthesize(
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-frames:v", "10",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(clip),
    )  # fmt: skip
    recipe = _draft(frames=10)
    recipe["source"].update({"width": 1920, "height": 1080})
    tiny = [2, 2, 4, 4]
    recipe["manual_boxes"] = [
        {**_manual(start=0, end=9, keyframes={"0": [400, 400, 700, 700], "5": tiny}),
         "tracked": {}}
    ]  # fmt: skip
    tracked = redact.track_manual(clip, recipe, ["m1"])["manual_boxes"][0]["tracked"]
    assert tracked["0"] == [400, 400, 700, 700]
    assert [tracked[str(i)] for i in range(5, 10)] == [tiny] * 5, tracked


def test_an_approver_approves_only_the_draft_they_were_shown(db, owner, colleague):
    """The approve form carries the fingerprint of the draft on the page; a draft saved since
    by someone else (here a face removed) is refused, the job stays in review."""
    item = stored_item(agency=owner.agency)
    job = Redaction.objects.create(
        item=item, fill="solid", requested_by=owner, state=State.REVIEW, draft=_draft()
    )
    page = client_for(colleague).get(reverse("evidence:redaction", args=[item.pk, job.pk]))
    seen = services.draft_sha256(job.draft)
    assert f'name="draft_sha256" value="{seen}"'.encode() in page.content
    removed = {"suppressed": [{"start": 0, "end": FRAMES - 1, "box": [90, 90, 170, 180]}]}
    saved = _post_json(client_for(owner), "redaction_draft", job, removed).json()
    url = reverse("evidence:redaction_approve", args=[item.pk, job.pk])
    client_for(colleague).post(url, {"draft_sha256": seen})
    job.refresh_from_db()
    assert job.state == State.REVIEW and job.approved_by is None
    assert not custody_of(item=item).filter(action=actions.REDACTION_APPROVED.name).exists()
    # Shown the draft as saved (the save answers with its fingerprint), they may approve it.
    assert saved["draft_sha256"] == services.draft_sha256(job.draft) != seen
    client_for(colleague).post(url, {"draft_sha256": saved["draft_sha256"]})
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.approved_by == colleague
