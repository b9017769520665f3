"""``skelcon plot skeleton``: frames of one prepared clip as stick figures, 2D or 3D.

2D data (channels ``x, y[, score]``) are drawn in the image plane with the y axis
pointing down, as image coordinates do; 3D data are rotated into the person's viewing
frame (:mod:`skelcon.viz.skeleton`). The bones, their left/right colours and the
joints come from the dataset's layout (built-in or stored in meta.json).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..data.normalize import is_centred
from ..data.prepared import check_finite_rows
from ..errors import SkelconError
from .common import load_all, load_split, new_figure, sample_frames, save_png
from .poses import draw_pose_axes, frame_limits, pose_view


def plot_skeleton(
    data: str | os.PathLike,
    benchmark: str | None,
    out: str | os.PathLike,
    *,
    split: str | None = None,
    index: int = 0,
    frames: int = 4,
) -> Path:
    """Draw ``frames`` evenly spaced frames of clip ``index`` side by side.

    ``index`` counts within ``benchmark``/``split`` when either is given (``split``
    default ``train``; ``benchmark`` default the dataset's only one), else within the
    whole dataset in stored order (the rows of data.npy; no benchmark needed). Negative
    ``index`` counts from the end. Writes a PNG (``frames`` panels, 2.2 in each) and
    returns its path. One-line :class:`SkelconError` for an index outside the clips, a
    missing benchmark or split, ``frames < 1``.
    """
    if frames < 1:
        raise SkelconError(f"frames must be at least 1, got {frames}", param="frames")
    if benchmark is None and split is None:
        s = load_all(data)
        where = f"the {s.meta.get('dataset', 'dataset')} dataset"
        what = "the dataset" + (
            " (--benchmark/--split count within a split)"
            if len(s.meta.get("benchmarks") or {}) > 1
            else ""
        )
    else:
        if benchmark is None:
            from ..data.benchmarks import resolve_benchmark

            benchmark = resolve_benchmark(data, None)
        split = split or "train"
        s = load_split(data, benchmark, split)
        where = what = f"{benchmark}/{split}"
    if not -len(s) <= index < len(s):
        raise SkelconError(f"index {index} outside the {len(s)} clips of {what}", param="index")
    check_finite_rows(s.root / "data.npy", s.data.base, s.indices[[index]], s.names)
    x, label, nf, name = s[index]
    layout = s.joint_layout
    ts = sample_frames(nf, frames)
    seq = pose_view(x, layout, s.channels, nf, centred=is_centred(s.meta))
    lim = frame_limits(seq, [int(t) for t in ts])
    fig = new_figure(2.2 * len(ts), 2.8)
    cls = s.meta["classes"][label] if label < len(s.meta.get("classes", [])) else str(label)
    fig.suptitle(
        f"{name}: {cls} (clip {index % len(s)} of {len(s)}, {where}; {layout.name}, "
        f"{','.join(s.channels)})",
        fontsize=8,
    )
    for i, t in enumerate(ts):
        draw_pose_axes(
            fig,
            (i / len(ts), 0.02, 1 / len(ts), 0.84),
            seq,
            layout,
            int(t),
            lim,
            caption=f"frame {int(t) + 1}/{nf}",
        )
    return save_png(fig, out)
