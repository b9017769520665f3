"""The clip file ``skelcon extract`` writes for a video: one JSON document of frames.

``<out>/<video stem>.json`` holds what the video was, what estimated it and every
decoded frame's people as OpenPose writes them, so ``skelcon prepare folder`` and
``skelcon.read_clip`` read it as ``x, y, score`` whatever the layout (the format names
its channels; :mod:`skelcon.data.openpose` links people across frames)::

    {"format": "skelcon-extract", "version": 1,
     "video": "clips/wave.mp4", "backend": "mediapipe", "layout": "mediapipe33",
     "channels": ["x", "y", "score"], "image_size": [1920, 1080], "fps": 28.05,
     "num_frames": 72, "frames_without_people": 0,
     "frames": [{"people": [{"pose_keypoints_2d": [x0, y0, s0, x1, ...]}]}, ...]}

``x, y`` are pixels of the decoded frame (x right, y down; ``image_size`` is its
``[width, height]``: ``prepare folder --normalize --image-size WIDTHxHEIGHT`` maps it,
though centring and scaling by the body length make the result the same without it);
a joint not found is ``0, 0, 0`` and a frame where nobody was found has ``"people": []``
(both read as missing joints, every channel 0).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.kinetics import parse_json
from ..data.layouts import JointLayout, layout_from_dict
from ..data.openpose import read_people_frames
from ..errors import DataFormatError
from ..utils.io import atomic_write
from ..utils.text import read_text
from .backend import named_layout

__all__ = [
    "FORMAT",
    "ExtractedClip",
    "VideoKeypoints",
    "clip_document",
    "read_extracted",
    "write_clip",
]

FORMAT = "skelcon-extract"
VERSION = 1
CHANNELS = ["x", "y", "score"]
XY_DECIMALS, SCORE_DECIMALS = 2, 4  # pixels to 1/100, scores to 1/10000


@dataclass
class VideoKeypoints:
    """The people of every decoded frame of one video.

    ``frames[t]``: ``(P_t, V, 3)`` float32, ``x, y`` in pixels and a score for each
    person found in frame ``t`` (``P_t`` may be 0); ``width``, ``height``: the frame's
    size in pixels; ``fps``: the video's frame rate as its container states it (0 when
    it states none).
    """

    frames: list[np.ndarray]
    width: int
    height: int
    fps: float

    @property
    def empty_frames(self) -> int:
        """Frames in which nobody has a joint with a score above 0."""
        return sum(1 for f in self.frames if not (len(f) and (f[..., 2] > 0).any()))


def _people(frame: np.ndarray) -> list[dict[str, list[float]]]:
    """One frame's ``(P, V, 3)`` as OpenPose people, rounded; a person without any
    joint found is left out, a joint not found is ``0, 0, 0``."""
    f = np.asarray(frame, dtype=np.float64)  # (P, V, 3)
    found = np.isfinite(f).all(-1) & (f[..., 2] > 0)
    f = np.where(found[..., None], f, 0.0)
    f = np.concatenate(
        [np.round(f[..., :2], XY_DECIMALS), np.round(f[..., 2:], SCORE_DECIMALS)], axis=-1
    )
    return [{"pose_keypoints_2d": p.reshape(-1).tolist()} for p in f[found.any(-1)]]


def clip_document(
    kp: VideoKeypoints,
    *,
    video: str | os.PathLike[str],
    backend: str,
    layout: JointLayout,
    converted_from: str | None = None,
    mirrored: bool = False,
) -> dict[str, Any]:
    """The clip file's content (module doc) for the keypoints ``kp`` of ``video``
    estimated by ``backend`` in ``layout`` (a layout neither built in nor of this
    package is stored whole, ``layout_def``, so the file can be drawn without it);
    ``converted_from``: the backend's own layout when ``kp`` were converted from it
    (``skelcon extract --layout``); ``mirrored``: ``x`` is that of the video's mirror
    image (``skelcon extract --mirror``)."""
    own = {} if named_layout(layout.name) == layout else {"layout_def": layout.to_dict()}
    conv = {} if converted_from is None else {"converted_from": converted_from}
    return {
        "format": FORMAT,
        "version": VERSION,
        "video": str(video),
        "backend": backend,
        "layout": layout.name,
        **own,
        **conv,
        **({"mirrored": True} if mirrored else {}),
        "channels": CHANNELS,
        "image_size": [int(kp.width), int(kp.height)],
        "fps": round(float(kp.fps), 3),
        "num_frames": len(kp.frames),
        "frames_without_people": kp.empty_frames,
        "frames": [{"people": _people(f)} for f in kp.frames],
    }


def write_clip(path: str | os.PathLike[str], doc: dict[str, Any]) -> Path:
    """Write the clip document ``doc`` to ``path`` atomically, one frame a line."""
    head = {k: v for k, v in doc.items() if k != "frames"}
    lines = [json.dumps(f, separators=(",", ":")) for f in doc["frames"]]
    fields = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
    text = "{\n" + ",\n".join(fields) + ',\n "frames": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return Path(path)


@dataclass
class ExtractedClip:
    """A clip file read back: ``keypoints (M, T, V, 3)`` float64 (``x, y`` pixels,
    score; people linked across frames as ``prepare folder`` links them, the most
    confident first; 0 where absent), its ``layout``, ``image_size`` ``(width,
    height)``, ``fps``, the ``video`` it was extracted from and the ``backend``;
    ``mirrored``: ``x`` is that of the video's mirror image (``extract --mirror``)."""

    keypoints: np.ndarray
    layout: JointLayout
    image_size: tuple[int, int]
    fps: float
    video: str
    backend: str
    mirrored: bool = False


def read_extracted(path: str | os.PathLike[str], max_people: int | None = None) -> ExtractedClip:
    """Read a clip file ``skelcon extract`` wrote; ``max_people``: keep the most
    confident tracks only. Raises :class:`DataFormatError` naming ``path`` when it is
    not one."""
    p = str(path)
    doc = parse_json(read_text(p, "extracted clip"), p)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataFormatError(f'not a clip written by skelcon extract (no "format": "{FORMAT}")', p)
    layout = _layout_of(doc, p)
    size = doc.get("image_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
        raise DataFormatError(f"image_size {size!r} is not [width, height]", p)
    kp, _ = read_people_frames(doc, layout.num_joints, p, max_people)
    return ExtractedClip(
        keypoints=kp,
        layout=layout,
        image_size=(size[0], size[1]),
        fps=float(doc.get("fps") or 0.0),
        video=str(doc.get("video", "")),
        backend=str(doc.get("backend", "")),
        mirrored=doc.get("mirrored") is True,
    )


def _layout_of(doc: dict[str, Any], where: str) -> JointLayout:
    """A clip document's layout: its ``layout_def``, else the built-in or packaged
    layout it names."""
    if "layout_def" in doc:
        return layout_from_dict(doc["layout_def"], f"{where}: layout_def")
    name = doc.get("layout")
    layout = named_layout(name) if isinstance(name, str) else None
    if layout is None:
        raise DataFormatError(
            f"layout {name!r} is neither built in nor of skelcon extract, and the file "
            "holds no layout_def",
            where,
        )
    return layout
