"""Extracted keypoints in another joint layout: ``skelcon extract --layout NAME``.

A backend writes its own layout (``mediapipe33``, ``coco17``); a model takes the layout
of the data it was trained on. :func:`target_conversion` finds the shipped retarget
table between the two (:mod:`skelcon.data.retarget`) before any video is read, and
:func:`convert_keypoints` applies it to every person of every frame at once.
"""

from __future__ import annotations

import numpy as np

from ..data.layouts import JointLayout
from ..data.retarget import Conversion, find_conversion, no_conversion_message
from ..errors import SkelconError
from .backend import named_layout
from .clipfile import VideoKeypoints

__all__ = ["convert_keypoints", "mirror_keypoints", "resolve_layout", "target_conversion"]


def resolve_layout(spec: str | JointLayout) -> JointLayout:
    """A layout given by name (built in, or packaged with extract: ``mediapipe33``) or
    as itself. Raises :class:`SkelconError` naming the valid names."""
    if isinstance(spec, JointLayout):
        return spec
    layout = named_layout(spec)
    if layout is None:
        from ..data.layouts import BUILTIN_LAYOUTS
        from .backend import PACKAGED_LAYOUTS

        valid = ", ".join((*BUILTIN_LAYOUTS, *PACKAGED_LAYOUTS))
        raise SkelconError(f"unknown layout {spec!r} (valid: {valid})", param="layout")
    return layout


def target_conversion(
    source: JointLayout, target: str | JointLayout, backend: str
) -> Conversion | None:
    """The conversion from ``source`` (what ``backend`` writes) to ``target``; None when
    they are the same layout. Raises a one-line :class:`SkelconError` when no shipped
    table converts one to the other, naming both and the conversions there are."""
    want = resolve_layout(target)
    if want == source or (want.name == source.name and want.joints == source.joints):
        return None
    conv = find_conversion(source, want)
    if conv is None:
        raise SkelconError(
            f"the {backend} backend writes {source.name} keypoints and layout {want.name} was "
            f"asked for: {no_conversion_message(source.name, want.name)}",
            param="layout",
        )
    return conv


def convert_keypoints(kp: VideoKeypoints, conversion: Conversion) -> VideoKeypoints:
    """``kp`` with every frame's ``(P_t, V_source, 3)`` people converted to ``(P_t,
    V_target, 3)`` (``x, y`` the mean of the sources', the score the smallest; a joint
    missing when a source is: 0, 0, 0): one conversion over all people of all frames."""
    counts = [len(f) for f in kp.frames]
    vs, vt = conversion.source.num_joints, conversion.target.num_joints
    if not sum(counts):
        frames = [np.zeros((0, vt, 3), dtype=np.float32) for _ in kp.frames]
    else:
        people = np.concatenate(
            [np.asarray(f, dtype=np.float32).reshape(-1, vs, 3) for f in kp.frames]
        )
        out = conversion(people, score_channel=2)
        frames = list(np.split(out, np.cumsum(counts)[:-1]))
    return VideoKeypoints(frames, kp.width, kp.height, kp.fps)


def mirror_keypoints(kp: VideoKeypoints) -> VideoKeypoints:
    """``kp`` as seen in the mirror image of its video: ``x`` -> ``width - x`` (pixels) for
    every joint found; a missing joint (score 0, stored as 0, 0, 0) stays 0. Joint names
    are kept: the subject's left joint stays the left joint, at its mirrored place, as in
    NTU RGB+D's colour-image coordinates (Kinect v2's colour image is a mirror image:
    docs/extract.md). ``extract --mirror`` and ``predict --mirror`` apply it."""
    frames = []
    for f in kp.frames:
        f = np.array(f, dtype=np.float32, copy=True)
        found = f[..., 2] > 0
        f[..., 0] = np.where(found, float(kp.width) - f[..., 0], 0.0)
        frames.append(f)
    return VideoKeypoints(frames, kp.width, kp.height, kp.fps)
