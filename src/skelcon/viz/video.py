"""``skelcon plot skeleton --clip CLIP.json [--video VIDEO]``: extracted keypoints drawn
on the video's own frames.

The clip is one ``skelcon extract`` wrote (:mod:`skelcon.extract.clipfile`): its
keypoints are pixels of the decoded frames, so they are drawn on those frames as they
are, each person's bones in the layout's left (blue) / right (red) / trunk (grey)
colours and its joints as dots. The frames are decoded with OpenCV
(``skelcon[video]``), as the extraction decoded them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import SkelconError
from ..extract.clipfile import read_extracted
from ..extract.video import read_frames
from .common import new_figure, sample_frames, save_png
from .skeleton import draw_pose_2d

PANEL_WIDTH = 3.2  # inches a frame


def _drawable(kp: np.ndarray) -> np.ndarray:
    """``(M, T, V, 3)`` clip keypoints -> ``(2, T, V, M)`` pixels, NaN where a joint
    was not found (score 0 or less)."""
    xy = np.moveaxis(kp[..., :2], (0, 3), (3, 0)).astype(np.float64)  # (2, T, V, M)
    found = np.moveaxis(kp[..., 2] > 0, 0, 2)  # (T, V, M)
    xy[:, ~found] = np.nan
    return xy


def plot_video_skeleton(
    clip: str | os.PathLike,
    out: str | os.PathLike,
    *,
    video: str | os.PathLike | None = None,
    frames: int = 4,
) -> Path:
    """Draw the keypoints of ``frames`` evenly spaced frames of the extracted ``clip``
    on those frames of ``video`` (default: the video the clip names), side by side;
    writes a PNG (``frames`` panels, :data:`PANEL_WIDTH` in wide) and returns its path.

    Raises a one-line :class:`SkelconError` when ``clip`` is not an extracted clip, the
    video cannot be read or its frame size is not the clip's, ``frames < 1``.
    """
    if frames < 1:
        raise SkelconError(f"frames must be at least 1, got {frames}", param="frames")
    c = read_extracted(clip)
    src = Path(video) if video is not None else Path(c.video)
    t_len = c.keypoints.shape[1]
    ts = [int(t) for t in sample_frames(t_len, frames)]
    images = read_frames(src, ts)
    width, height = c.image_size
    for t in ts:
        if t not in images:
            raise SkelconError(
                f"video {str(src)!r} has fewer frames than the clip {str(clip)!r} ({t_len}): "
                "not the video it was extracted from"
            )
        if images[t].shape[:2] != (height, width):
            h, w = images[t].shape[:2]
            raise SkelconError(
                f"video {str(src)!r} has {w}x{h} frames, the clip {str(clip)!r} was extracted "
                f"from {width}x{height} ones: not the video it was extracted from"
            )
    xy = _drawable(c.keypoints)
    panel_h = PANEL_WIDTH * height / width
    fig = new_figure(PANEL_WIDTH * len(ts), panel_h + 0.45)
    mirror = " (mirrored)" if c.mirrored else ""
    fig.suptitle(
        f"{Path(clip).name}: {c.backend}, {c.layout.name} on {src.name}{mirror}", fontsize=8
    )
    for i, t in enumerate(ts):
        ax = fig.add_axes((i / len(ts), 0.0, 1 / len(ts), panel_h / (panel_h + 0.45)))
        ax.imshow(images[t][:, ::-1] if c.mirrored else images[t])  # (drawn as extracted)
        people = [m for m in range(xy.shape[3]) if np.isfinite(xy[0, t, :, m]).any()]
        for m in people:
            draw_pose_2d(ax, xy[:, t, :, m], c.layout, linewidth=1.5)
            ax.scatter(xy[0, t, :, m], xy[1, t, :, m], s=3, c="#ffdd00", zorder=3)
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        n = len(people)
        ax.set_title(f"frame {t + 1}/{t_len}, {n} {'person' if n == 1 else 'people'}", fontsize=7)
    return save_png(fig, out)
