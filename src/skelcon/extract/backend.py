"""The interface every pose estimator of ``skelcon extract`` fills, and their layouts.

Two levels, because one estimator runs in this process and one does not:

* :class:`FrameBackend`: an estimator called on one decoded frame, in this process
  (``rtmpose``: :class:`~skelcon.extract.rtmpose.RTMPoseBackend`). Any object with a
  ``name``, a ``layout`` and ``__call__(frame) -> (P, V, 3)`` works;
  :class:`~skelcon.extract.frames.FrameExtractor` decodes the video and calls it.
* :class:`Extractor`: turns a whole video into keypoints. ``mediapipe`` is one
  directly (:class:`~skelcon.extract.mediapipe.MediaPipeExtractor`): it decodes and
  estimates in a worker process of its own environment.

Keypoints are ``x, y`` in image pixels of the decoded frame (x right, y down) and a
score; a person's joint that was not found is ``(0, 0, 0)``, skelcon's missing-joint
convention.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..data.layouts import BUILTIN_LAYOUTS, JointLayout, get_layout, read_layout_file
from ..errors import SkelconError, choices_message

if TYPE_CHECKING:
    from .clipfile import VideoKeypoints

__all__ = [
    "BACKENDS",
    "BACKEND_LAYOUTS",
    "Extractor",
    "FrameBackend",
    "Progress",
    "backend_layout",
    "layout_file",
    "named_layout",
]

BACKENDS = ("mediapipe", "rtmpose")
# the joint layout each backend writes: a built-in name or a layout file of this package
BACKEND_LAYOUTS = {"mediapipe": "mediapipe33", "rtmpose": "coco17"}
PACKAGED_LAYOUTS = ("mediapipe33",)  # skelcon/extract/layouts/<name>.yaml


class Progress(Protocol):
    """Where an extractor reports how far it is (the command's progress bar)."""

    def start(self, total: int) -> None:
        """The video is open; ``total``: its frame count as the container states it (0:
        unknown)."""
        ...

    def advance(self, frames: int) -> None:
        """``frames`` more frames are done."""
        ...


class FrameBackend(Protocol):
    """A pose estimator run on single frames in this process."""

    name: str
    layout: JointLayout

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """``frame (H, W, 3)`` uint8 RGB -> ``(P, V, 3)`` float32: ``x, y`` in pixels and
        a score for each of the ``P >= 0`` people found (most confident first), ``V``
        the layout's joints; a joint not found is ``(0, 0, 0)``."""
        ...


class Extractor(Protocol):
    """Turns a whole video into per-frame keypoints."""

    name: str
    layout: JointLayout

    def extract(self, video: Path, progress: Progress) -> VideoKeypoints:
        """Keypoints of every decoded frame of ``video``, reported to ``progress`` as
        they are done. Raises :class:`SkelconError` naming ``video`` when it cannot be
        read."""
        ...


def layout_file(name: str) -> Path:
    """The packaged layout file of ``name`` (``mediapipe33``): a path that
    ``skelcon prepare folder --layout`` reads. Raises :class:`SkelconError` for another
    name."""
    if name not in PACKAGED_LAYOUTS:
        raise SkelconError(choices_message("packaged extract layout", name, PACKAGED_LAYOUTS))
    return Path(str(resources.files("skelcon") / "extract" / "layouts" / f"{name}.yaml"))


@cache
def named_layout(name: str) -> JointLayout | None:
    """The layout called ``name`` when it is one of this package's
    (:data:`PACKAGED_LAYOUTS`) or built in (``coco17``, ...), else None."""
    if name in PACKAGED_LAYOUTS:
        return read_layout_file(layout_file(name))
    if name in BUILTIN_LAYOUTS:
        return get_layout(name)
    return None


def backend_layout(backend: str) -> JointLayout:
    """The joint layout ``backend`` writes (:data:`BACKEND_LAYOUTS`)."""
    if backend not in BACKEND_LAYOUTS:
        raise SkelconError(choices_message("extract backend", backend, BACKENDS), param="backend")
    layout = named_layout(BACKEND_LAYOUTS[backend])
    assert layout is not None
    return layout
