"""``skelcon plot skeleton``: frames of one prepared clip as stick figures, 2D or 3D.

2D data (channels ``x, y[, score]``) are drawn in the image plane with the y axis
pointing down, as image coordinates do; 3D data are rotated into the person's viewing
frame (:mod:`skelcon.viz.skeleton`). The bones, their left/right colours and the
joints come from the dataset's layout (built-in or stored in meta.json).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..data.channels import coord_count
from ..errors import SkelconError
from .common import load_split, new_figure, sample_frames, save_png
from .skeleton import (
    draw_frame,
    draw_pose_2d,
    pose_limits,
    present_persons,
    style_pose_axes,
    to_view,
    view_rotation,
)


def plot_skeleton(
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    *,
    split: str = "train",
    index: int = 0,
    frames: int = 4,
) -> Path:
    """Draw ``frames`` evenly spaced frames of clip ``index`` of ``split`` side by side.

    Writes a PNG (``frames`` panels, 2.2 in each) and returns its path.
    """
    s = load_split(data, benchmark, split)
    if not -len(s) <= index < len(s):
        raise SkelconError(f"--index {index} outside the {len(s)} clips of {benchmark}/{split}")
    if frames < 1:
        raise SkelconError(f"--frames must be at least 1, got {frames}")
    x, label, nf, name = s[index]
    layout = s.joint_layout
    k = coord_count(s.channels)
    ts = sample_frames(nf, frames)
    fig = new_figure(2.2 * len(ts), 2.8)
    cls = s.meta["classes"][label] if label < len(s.meta.get("classes", [])) else str(label)
    fig.suptitle(f"{name}: {cls} ({layout.name}, {','.join(s.channels)})", fontsize=8)
    if k == 2:
        xy = x[:2]
        pts = np.concatenate([xy[:, t, :, m] for t in ts for m in range(xy.shape[3])], axis=1)
        pts = pts[:, np.any(pts != 0, axis=0)]
        lo, hi = (pts.min(axis=1), pts.max(axis=1)) if pts.size else (np.zeros(2), np.ones(2))
        pad = 0.08 * max(float((hi - lo).max()), 1e-3)
        for i, t in enumerate(ts):
            ax = fig.add_subplot(1, len(ts), i + 1)
            for m in present_persons(xy, int(t)) or [0]:
                draw_pose_2d(ax, xy[:, t, :, m], layout)
            ax.set_xlim(lo[0] - pad, hi[0] + pad)
            ax.set_ylim(hi[1] + pad, lo[1] - pad)  # image y points down
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"frame {int(t) + 1}/{nf}", fontsize=7)
    else:
        xv = to_view(x[:3], view_rotation(x[:3], layout, nf))
        lim = pose_limits(xv, [int(t) for t in ts])
        for i, t in enumerate(ts):
            ax = fig.add_subplot(1, len(ts), i + 1, projection="3d")
            draw_frame(ax, xv, layout, int(t))
            style_pose_axes(ax, lim)
            ax.set_title(f"frame {int(t) + 1}/{nf}", fontsize=7)
    return save_png(fig, out)
