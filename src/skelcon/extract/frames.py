"""A per-frame pose estimator run over a whole video in this process."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .backend import FrameBackend, Progress
from .clipfile import VideoKeypoints
from .video import open_video

__all__ = ["FrameExtractor"]


class FrameExtractor:
    """An :class:`~skelcon.extract.backend.Extractor` made of a
    :class:`~skelcon.extract.backend.FrameBackend`: decodes the video with OpenCV
    (:func:`~skelcon.extract.video.open_video`) and calls the backend on every frame."""

    def __init__(self, backend: FrameBackend):
        self.backend = backend
        self.name = backend.name
        self.layout = backend.layout

    def extract(self, video: Path, progress: Progress) -> VideoKeypoints:
        """Keypoints of every decoded frame of ``video``. Raises
        :class:`~skelcon.errors.SkelconError` when it cannot be read, ``ValueError``
        when the backend returns another joint count than its layout's."""
        v = self.layout.num_joints
        frames: list[np.ndarray] = []
        with open_video(video) as reader:
            info = reader.info
            progress.start(info.frames)
            for frame in reader:
                people = np.asarray(self.backend(frame), dtype=np.float32)
                if people.ndim != 3 or people.shape[1:] != (v, 3):
                    raise ValueError(
                        f"backend {self.name} returned shape {list(people.shape)}, not (P, {v}, 3)"
                    )
                frames.append(people)
                progress.advance(1)
        return VideoKeypoints(frames, info.width, info.height, info.fps)
