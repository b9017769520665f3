"""Drawing a clip's frames whatever its coordinates: 2D image joints or 3D joints.

:func:`pose_view` turns a stored clip into drawable coordinates (2D: ``x, y`` as they
are; 3D: rotated into the person's viewing frame, :mod:`skelcon.viz.skeleton`);
:func:`frame_limits` and :func:`draw_pose_axes` then work on either, so the figures
(retrieval, augmentations, skeleton) draw 2D data on flat axes with the image's y axis
pointing down, and 3D data as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.channels import coord_count
from ..data.layouts import JointLayout
from .skeleton import (
    draw_frame,
    draw_pose_2d,
    drawn_joints,
    pose_limits,
    present_persons,
    style_pose_axes,
    to_view,
    view_rotation,
)


def present_joints(
    x: np.ndarray, layout: JointLayout, channels: Sequence[str], *, centred: bool
) -> np.ndarray:
    """Which joints of ``x (C, T, V, M)`` (all stored channels) are present: ``(T, V, M)``
    bool.

    A joint is missing when every channel is exactly 0 (the score too, where there is
    one: the readers zero every channel of an undetected joint). Without a score
    channel, in a ``centred`` dataset (:func:`~skelcon.data.normalize.is_centred`) the layout's ``center`` joint
    of person 1 is present at the origin in every frame where another joint of person 1
    is present: the normalisation put it there. (Where the centre joint itself was
    missing in such a frame, the data cannot tell, and it is drawn at the origin.)
    """
    import torch

    from ..encoders.streams import joint_presence  # the one rule, also the streams'

    x = np.asarray(x)
    center = layout.center if centred and "score" not in channels and x.shape[-1] > 0 else None
    return joint_presence(torch.from_numpy(np.ascontiguousarray(x))[None], center)[0, 0].numpy()


def pose_view(
    x: np.ndarray,
    layout: JointLayout,
    channels: Sequence[str],
    num_frames: int,
    rot: np.ndarray | None = None,
    *,
    centred: bool = True,
) -> np.ndarray:
    """Drawable coordinates of ``x (C, T, V, M)``: ``(2, T, V, M)`` for 2D channels,
    ``(3, T, V, M)`` in viewing coordinates for 3D ones (``rot``: a given rotation,
    default the clip's own :func:`view_rotation`). Missing joints
    (:func:`present_joints`; ``centred``: :func:`~skelcon.data.normalize.is_centred` of the dataset's meta) are
    NaN, float64."""
    present = present_joints(x, layout, channels, centred=centred)
    if coord_count(channels) == 2:
        xy = np.array(x[:2], dtype=np.float64)
    else:
        x3 = np.asarray(x[:3], dtype=np.float64)
        xy = to_view(x3, view_rotation(x3, layout, num_frames) if rot is None else rot)
    xy[:, ~present] = np.nan
    return xy


def frame_limits(seq: np.ndarray, frames: Sequence[int], margin: float = 0.08) -> np.ndarray:
    """Limits holding every present joint of ``frames``: ``(2, 2)`` box (2D, equal
    scale) or ``(3, 2)`` cube (3D)."""
    if seq.shape[0] == 3:
        return pose_limits(seq, frames)
    pts = [seq[:, f, :, m] for f in frames for m in (present_persons(seq, f) or [0])]
    allp = np.concatenate(pts, axis=1) if pts else np.zeros((2, 1))
    allp = allp[:, drawn_joints(allp)]
    allp = allp if allp.size else np.zeros((2, 1))
    lo, hi = allp.min(axis=1), allp.max(axis=1)
    center, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
    return np.stack([center - half, center + half], axis=1)


def draw_pose_axes(
    fig,
    rect,
    seq: np.ndarray,
    layout: JointLayout,
    frame: int,
    limits: np.ndarray,
    caption: str = "",
    marked: np.ndarray | None = None,
):
    """New axes at ``rect`` (figure fraction) showing ``frame`` of ``seq`` (2D or 3D);
    ``marked`` (V,) bool: joints ringed; ``caption`` under the pose. Returns the axes."""
    persons = present_persons(seq, frame) or [0]
    if seq.shape[0] == 3:
        ax = fig.add_axes(rect, projection="3d")
        draw_frame(ax, seq, layout, frame)
        if marked is not None and marked.any():
            for m in persons:
                p = seq[:, frame, marked, m]
                p = p[:, drawn_joints(p)]
                ax.scatter(
                    p[0],
                    p[1],
                    p[2],
                    s=22,
                    facecolors="none",
                    edgecolors="#222222",
                    linewidths=0.8,
                    depthshade=False,
                )
        style_pose_axes(ax, limits)
        if caption:
            ax.text2D(
                0.5,
                0.02,
                caption,
                transform=ax.transAxes,
                ha="center",
                va="bottom",
                fontsize=7.5,
                color="#555555",
            )
        return ax
    ax = fig.add_axes(rect)
    for m in persons:
        draw_pose_2d(ax, seq[:, frame, :, m], layout)
        if marked is not None and marked.any():
            p = seq[:, frame, marked, m]
            p = p[:, drawn_joints(p)]
            ax.scatter(p[0], p[1], s=22, facecolors="none", edgecolors="#222222", linewidths=0.8)
    ax.set_xlim(*limits[0])
    ax.set_ylim(limits[1][1], limits[1][0])  # image y points down
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    if caption:
        ax.text(
            0.5,
            0.02,
            caption,
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=7.5,
            color="#555555",
        )
    return ax
