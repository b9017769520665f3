"""``skelcon plot skeleton``: frames of one prepared clip as stick figures, 2D or 3D.

2D data (channels ``x, y[, score]``) are drawn in the image plane with the y axis
pointing down, as image coordinates do; 3D data are rotated into the person's viewing
frame (:mod:`skelcon.viz.skeleton`). The bones, their left/right colours and the
joints come from the dataset's layout (built-in or stored in meta.json).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SkelconError
from .common import load_split, new_figure, sample_frames, save_png
from .poses import draw_pose_axes, frame_limits, pose_view


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
    ts = sample_frames(nf, frames)
    seq = pose_view(x, layout, s.channels, nf)
    lim = frame_limits(seq, [int(t) for t in ts])
    fig = new_figure(2.2 * len(ts), 2.8)
    cls = s.meta["classes"][label] if label < len(s.meta.get("classes", [])) else str(label)
    fig.suptitle(f"{name}: {cls} ({layout.name}, {','.join(s.channels)})", fontsize=8)
    for i, t in enumerate(ts):
        draw_pose_axes(fig, (i / len(ts), 0.02, 1 / len(ts), 0.84), seq, layout, int(t), lim,
                       caption=f"frame {int(t) + 1}/{nf}")  # fmt: skip
    return save_png(fig, out)
