"""Video decoding with OpenCV (``pip install 'skelcon[video]'``: opencv-python-headless).

OpenCV is an optional dependency of skelcon: only reading videos needs it (the
``rtmpose`` backend, ``skelcon plot skeleton --video``). The ``mediapipe`` backend's
worker decodes with its own environment's OpenCV, the same library, so frame
numbers and orientation (OpenCV applies a video's rotation tag) agree between a clip
and the frames it is drawn on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import SkelconError

__all__ = [
    "VideoInfo",
    "VideoReader",
    "check_video_file",
    "open_video",
    "read_frames",
    "require_cv2",
]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
INSTALL_HINT = "pip install 'skelcon[video]' (opencv-python-headless)"


def require_cv2(what: str = "reading videos") -> ModuleType:
    """OpenCV's ``cv2``, or a one-line :class:`SkelconError` saying how to install it."""
    try:
        import cv2
    except ImportError:
        raise SkelconError(f"{what} needs OpenCV: {INSTALL_HINT}") from None
    module: ModuleType = cv2
    return module


def check_video_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path` when it is an existing file, else a one-line
    :class:`SkelconError` (a folder, a missing file)."""
    p = Path(path)
    if p.is_dir():
        raise SkelconError(
            f"video {str(p)!r} is a folder; give the video files ({str(p / '*.mp4')!r})"
        )
    if not p.is_file():
        raise SkelconError(f"video {str(p)!r} does not exist")
    return p


@dataclass(frozen=True)
class VideoInfo:
    """What a video's container says: frame ``width`` and ``height`` in pixels (after
    rotation), ``fps`` (0 when unstated) and ``frames`` (the container's count, an
    estimate; 0 when unstated)."""

    path: Path
    width: int
    height: int
    fps: float
    frames: int


class VideoReader:
    """The frames of one video, decoded in order as RGB ``(H, W, 3)`` uint8 arrays.

    Use :func:`open_video`; iterate, and close (or use it as a context manager)."""

    def __init__(self, capture: Any, info: VideoInfo, first: np.ndarray, cv2: ModuleType):
        self._cap, self.info, self._cv2 = capture, info, cv2
        self._first: np.ndarray | None = first

    def __iter__(self) -> Iterator[np.ndarray]:
        cv2 = self._cv2
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while True:
            ok, bgr = self._cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | os.PathLike[str]) -> VideoReader:
    """Open ``path`` and decode its first frame. Raises a one-line
    :class:`SkelconError` naming the file when it does not exist, is not a video
    OpenCV's FFmpeg can read, or holds no decodable frame."""
    p = check_video_file(path)
    cv2 = require_cv2()
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        cap.release()
        raise SkelconError(
            f"video {str(p)!r} cannot be read: not a video file, or one whose format or "
            "codec OpenCV's FFmpeg cannot decode (valid: e.g. "
            + ", ".join(VIDEO_SUFFIXES[:5])
            + ")"
        )
    ok, bgr = cap.read()
    if not ok or bgr is None:
        cap.release()
        raise SkelconError(f"video {str(p)!r} holds no frame that can be decoded")
    h, w = bgr.shape[:2]
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    info = VideoInfo(p, int(w), int(h), fps if np.isfinite(fps) else 0.0, max(count, 0))
    return VideoReader(cap, info, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), cv2)


def read_frames(path: str | os.PathLike[str], indices: Sequence[int]) -> dict[int, np.ndarray]:
    """The frames ``indices`` (0-based, in decoding order) of the video ``path`` as RGB
    arrays, decoding from the start (seeking is not frame-exact in every container);
    an index past the last frame is absent from the result."""
    want = set(int(i) for i in indices)
    out: dict[int, np.ndarray] = {}
    if not want:
        return out
    last = max(want)
    with open_video(path) as reader:
        for t, frame in enumerate(reader):
            if t in want:
                out[t] = frame
            if t >= last:
                break
    return out
