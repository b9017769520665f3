"""Fakes of the extraction tests (imported by name, ``from extract_fakes import ...``: a
module name of its own, where ``from conftest import`` would find whichever conftest
was imported first): a frame with bright spots, an extractor answering fixed
keypoints, a walking person."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skelcon.extract.backend import backend_layout
from skelcon.extract.clipfile import VideoKeypoints


def spot_frame(width: int, height: int, spots: list[tuple[int, int]]) -> np.ndarray:
    """A black RGB frame with a white 3x3 square centred on each ``(x, y)`` of ``spots``."""
    f = np.zeros((height, width, 3), dtype=np.uint8)
    for x, y in spots:
        f[y - 1 : y + 2, x - 1 : x + 2] = 255
    return f


class FakeExtractor:
    """An :class:`~skelcon.extract.backend.Extractor` answering fixed keypoints (for
    a video name containing "bad": a one-line error, as an unreadable video gives)."""

    def __init__(self, kp: VideoKeypoints, backend: str = "mediapipe"):
        self.kp, self.name, self.layout = kp, backend, backend_layout(backend)
        self.seen: list[Path] = []

    def extract(self, video, progress):
        from skelcon.errors import SkelconError

        self.seen.append(Path(video))
        if "bad" in Path(video).name:
            raise SkelconError(f"video {str(video)!r} cannot be read")
        progress.start(len(self.kp.frames))
        progress.advance(len(self.kp.frames))
        return self.kp


def walking_keypoints(
    backend: str = "mediapipe", frames: int = 12, empty: tuple[int, ...] = ()
) -> VideoKeypoints:
    """A person (the layout's joints spread over a 640x480 frame, moving right a pixel a
    frame, every score 0.9), nobody in the frames ``empty``."""
    v = backend_layout(backend).num_joints
    rng = np.random.default_rng(0)
    base = np.stack([rng.uniform(200, 440, v), rng.uniform(80, 400, v)], -1)
    out = []
    for t in range(frames):
        if t in empty:
            out.append(np.zeros((0, v, 3), dtype=np.float32))
            continue
        xy = base + [t, 0]
        out.append(np.concatenate([xy, np.full((v, 1), 0.9)], -1)[None].astype(np.float32))
    return VideoKeypoints(out, 640, 480, 25.0)
