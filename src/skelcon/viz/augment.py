"""One sample under the augmentations, as the paper's Figures 2-4.

Columns: the original, the shear (pose augmentation), joint jitter and temporal
crop-resize; rows: time. Original, shear and jitter show the same raw frames; the
crop-resize column shows evenly spaced frames of the 64-frame view, captioned with
the raw time each one is interpolated from, and a timeline underneath marks the crop.
Jittered joints are ringed. Each column has its own scale (shear changes the size).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..augment import joint_jitter, shear, temporal_crop_resize
from ..config import AugmentConfig
from ..data.channels import coord_count
from ..data.normalize import is_centred
from ..errors import SkelconError
from .common import class_names, load_split, new_figure, sample_frames, save_png
from .poses import draw_pose_axes, frame_limits, pose_view
from .skeleton import view_rotation

CELL_W, CELL_H = 2.3, 2.1  # inches per pose
HEAD_H, FOOT_H = 0.85, 0.95  # titles above, timeline below


def figure_size(frames: int) -> tuple[float, float]:
    """``(width, height)`` in inches of the figure for ``frames`` time steps."""
    return 4 * CELL_W, HEAD_H + frames * CELL_H + FOOT_H


def augmented_views(
    x: np.ndarray, num_frames: int, cfg: AugmentConfig, seed: int = 0, coords: int | None = None
) -> dict[str, np.ndarray | float]:
    """The sample ``x (C, T, V, M)`` under each augmentation (same draws for a given seed;
    ``coords``: the leading coordinate channels, default all).

    Returns ``shear``, ``jitter`` (C, T, V, M) over the raw frames, ``crop``
    (C, out_len, V, M), ``crop_time`` (out_len,) the raw time each view frame comes
    from, and ``jittered`` (V,) bool: the joints the jitter moved.
    """
    xt = torch.from_numpy(np.array(x, dtype=np.float32))[None]  # (1, 3, T, V, M)
    nf = torch.tensor([int(num_frames)])
    g = torch.Generator().manual_seed(int(seed))
    sheared = shear(xt, generator=g, coords=coords)[0].numpy()
    jit = joint_jitter(xt, cfg.jitter_joints, mode=cfg.jitter_mode, generator=g, coords=coords)[
        0
    ].numpy()
    state = g.get_state()
    crop = temporal_crop_resize(xt, nf, cfg.out_len, cfg.l_min, min_len=cfg.min_len, generator=g)
    g.set_state(state)  # the same draw applied to the frame index gives the raw times
    t = torch.arange(x.shape[1], dtype=torch.float64).reshape(1, 1, -1, 1, 1)
    times = temporal_crop_resize(t, nf, cfg.out_len, cfg.l_min, min_len=cfg.min_len, generator=g)
    moved = np.any(np.abs(jit - x) > 1e-6, axis=(0, 1, 3))
    return {
        "shear": sheared,
        "jitter": jit,
        "crop": crop[0].numpy(),
        "crop_time": times[0, 0, :, 0, 0].numpy(),
        "jittered": moved,
    }


def plot_augment(
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    *,
    split: str = "train",
    index: int = 0,
    frames: int = 4,
    seed: int = 0,
    cfg: AugmentConfig | None = None,
) -> Path:
    """Draw sample ``index`` of ``benchmark``/``split`` and its augmentations to ``out`` (PNG)."""
    cfg = cfg or AugmentConfig()
    s = load_split(data, benchmark, split)
    if not 0 <= index < len(s):
        raise SkelconError(
            f"index {index} is outside 0..{len(s) - 1} ({benchmark}/{split} of {data})",
            param="index",
        )
    if frames < 1:
        raise SkelconError(f"frames {frames} must be at least 1", param="frames")
    layout = s.joint_layout
    if cfg.jitter_joints > layout.num_joints:
        raise SkelconError(
            f"jitter_joints {cfg.jitter_joints} exceeds the {layout.num_joints} joints"
        )
    x = np.asarray(s.data[index], dtype=np.float32)
    n = int(min(max(s.num_frames[index], 1), x.shape[1]))
    label = class_names(s.meta)[int(s.labels[index])]
    k_coords = coord_count(s.channels)
    v = augmented_views(x, n, cfg, seed, coords=k_coords)

    rot = view_rotation(x[:3], layout, n) if k_coords == 3 else None
    centred = is_centred(s.meta)

    def to_view(a: np.ndarray) -> np.ndarray:
        return pose_view(a, layout, s.channels, n, rot, centred=centred)

    raw_t = sample_frames(n, frames)
    view_t = sample_frames(cfg.out_len, frames)
    k = len(raw_t)
    crop_time = v["crop_time"]
    columns = [
        ("original", to_view(x), raw_t, [f"t = {t}" for t in raw_t]),
        ("pose augmentation (shear)", to_view(v["shear"]), raw_t, [f"t = {t}" for t in raw_t]),
        (
            f"joint jitter ({cfg.jitter_joints} joints)",
            to_view(v["jitter"]),
            raw_t,
            [f"t = {t}" for t in raw_t],
        ),
        (
            "temporal crop-resize",
            to_view(v["crop"]),
            view_t,
            [f"view {t} ← raw {crop_time[t]:.1f}" for t in view_t],
        ),
    ]
    limits = [frame_limits(c[1], c[2]) for c in columns]

    w, h = figure_size(k)
    fig = new_figure(w, h)
    top = 1 - HEAD_H / h
    bottom = FOOT_H / h
    for col, (title, seq, ts, captions) in enumerate(columns):
        for row, (t, cap) in enumerate(zip(ts, captions, strict=True)):
            y0 = top - (row + 1) * (top - bottom) / k
            draw_pose_axes(
                fig,
                (col / 4, y0, 1 / 4, (top - bottom) / k),
                seq,
                layout,
                int(t),
                limits[col],
                caption=cap,
                marked=v["jittered"] if col == 2 else None,
            )
        fig.text(
            (col + 0.5) / 4,
            top + 0.15 * HEAD_H / h,
            title,
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
        )
    fig.suptitle(
        f"{s.names[index]} · {label} ({benchmark}/{split} #{index}, {n} frames) · seed {seed}",
        y=1 - 0.12 * HEAD_H / h,
        va="top",
        fontsize=11,
    )
    _timeline(fig, n, crop_time, view_t, bottom)
    return save_png(fig, out)


def _timeline(fig, n: int, crop_time: np.ndarray, view_t: np.ndarray, bottom: float) -> None:
    """A strip under the figure: the valid frames, the crop window, the frames shown."""
    ax = fig.add_axes((0.08, bottom * 0.38, 0.84, bottom * 0.22))
    start, end = float(crop_time[0]), float(crop_time[-1])
    ax.barh(0, n - 1 if n > 1 else 1, left=0, height=0.6, color="#e6e6e6", edgecolor="#999999")
    ax.barh(0, max(end - start, 0.3), left=start, height=0.6, color="#f2b134", alpha=0.85)
    ax.plot(crop_time[view_t], np.zeros(len(view_t)), "v", color="#333333", markersize=5)
    ax.set_xlim(-0.5, max(n - 1, 1) + 0.5)
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"temporal crop: raw frames {start:.0f}–{end:.0f} of 0–{n - 1} (ratio {(end - start + 1) / n:.2f}), "
        f"resized to {len(crop_time)} frames; ▼ frames shown",
        fontsize=8.5,
        loc="left",
    )
