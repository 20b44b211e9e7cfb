"""Synthetic clips for the redaction tests: a real face (skimage.data.astronaut) moving over a
textured background, and a moving 'plate' for the tracker. Ground truth is known exactly."""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from portal import media

WIDTH, HEIGHT, FPS = 640, 360, 25
FACE_SIDE = 200  # the astronaut picture is pasted at this size
# The face inside astronaut() (512x512): eyes to chin, found by eye; scaled with the picture.
FACE_IN_ASTRONAUT = (180, 70, 270, 180)


@dataclass(frozen=True)
class Clip:
    path: Path
    frames: int
    faces: list[tuple[int, int, int, int]]  # per frame: the face's box (x1, y1, x2, y2)
    plates: list[tuple[int, int, int, int]]  # per frame: the moving plate's box


def background(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 215, size=(HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    return cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)


def _plate() -> np.ndarray:
    plate = np.full((30, 80, 3), 240, np.uint8)
    cv2.rectangle(plate, (0, 0), (79, 29), (20, 20, 160), 3)
    cv2.putText(plate, "AB 123", (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    return plate


def make_clip(
    directory: Path, *, frames: int = 40, plate: bool = False, audio: bool = True
) -> Clip:
    face_img = cv2.resize(data.astronaut(), (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA)
    f = FACE_SIDE / 512
    fx1, fy1, fx2, fy2 = (round(v * f) for v in FACE_IN_ASTRONAUT)
    bg = background()
    plate_img = _plate()
    faces, plates = [], []
    raw = directory / "frames.rgb"
    with open(raw, "wb") as out:
        for i in range(frames):
            frame = bg.copy()
            x = round(i * (WIDTH - FACE_SIDE) / max(1, frames - 1))
            y = 80
            frame[y : y + FACE_SIDE, x : x + FACE_SIDE] = face_img
            faces.append((x + fx1, y + fy1, x + fx2, y + fy2))
            if plate:
                px = 520 - round(i * 300 / max(1, frames - 1))
                py = 310 - round(i * 20 / max(1, frames - 1))
                frame[py : py + 30, px : px + 80] = plate_img
                plates.append((px, py, px + 80, py + 30))
            out.write(frame.tobytes())
    target = directory / "clip.mp4"
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={frames / FPS}"] if audio else []
    media.synthesize(
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS),
        "-i", str(raw), *sound, "-c:v", "libx264", "-preset", "veryfast", "-crf", "16",
        "-pix_fmt", "yuv420p", *(["-c:a", "aac", "-shortest"] if audio else []), str(target),
    )  # fmt: skip
    raw.unlink()
    return Clip(path=target, frames=frames, faces=faces, plates=plates)


def decoded(path: Path) -> np.ndarray:
    """Every frame of a clip as RGB, shape (frames, HEIGHT, WIDTH, 3)."""
    frames = list(media.video_frames(path, WIDTH, HEIGHT))
    return np.stack([np.frombuffer(f, np.uint8).reshape(HEIGHT, WIDTH, 3) for f in frames])
