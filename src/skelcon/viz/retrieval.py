"""A test query and its nearest training neighbours (the paper's Figure 8, as skeletons).

Features are the encoder's (centre crop, as in evaluation); neighbours are ranked by
cosine similarity. Each column is one sample drawn as 3D stick figures at a few
frames spread over its valid frames; neighbours of the query's class are framed
green (✓), others red (✗).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import torch
from matplotlib.patches import Rectangle

from ..data.normalize import is_centred
from ..engine.device import resolve_device
from ..errors import SkelconError
from ..eval.compat import check_data_fits
from ..eval.encoder import load_encoder
from ..eval.features import extract_features
from .common import class_names, load_split, new_figure, sample_frames, save_png, subset_split
from .poses import draw_pose_axes, frame_limits, pose_view

COL_W, ROW_H = 2.1, 2.0  # inches per pose
GAP, HEAD_H, FOOT_H = 0.3, 1.05, 0.4  # between query and neighbours, titles, footnote
GOOD, BAD, QUERY = "#2ca02c", "#d62728", "#444444"


def figure_size(neighbours: int, frames: int) -> tuple[float, float]:
    """``(width, height)`` in inches of the figure."""
    return COL_W * (1 + neighbours) + GAP, HEAD_H + ROW_H * frames + FOOT_H


def nearest(train: torch.Tensor, query: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the ``k`` rows of ``train (N, D)`` closest to ``query (D,)``."""
    t = torch.nn.functional.normalize(train.float(), dim=1)
    q = torch.nn.functional.normalize(query.float().reshape(1, -1), dim=1)
    sims = (t @ q.T).squeeze(1)
    top = torch.topk(sims, min(k, len(sims)))
    return top.indices.cpu().numpy(), top.values.cpu().numpy()


def plot_retrieval(
    checkpoint: str | os.PathLike,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    *,
    query: int = 0,
    neighbours: int = 4,
    frames: int = 4,
    query_split: str = "test",
    random_init: bool = False,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
) -> Path:
    """Draw test sample ``query`` and its ``neighbours`` nearest training samples to ``out`` (PNG)."""
    if neighbours < 1 or frames < 1:
        raise SkelconError(f"--neighbours {neighbours} and --frames {frames} must be at least 1")
    loaded = load_encoder(checkpoint, representation, random_init=random_init)  # the run's own
    train = load_split(data, benchmark, "train")
    check_data_fits(loaded.spec, train.meta, checkpoint=checkpoint, data=data)
    test = load_split(data, benchmark, query_split)
    if not 0 <= query < len(test):
        raise SkelconError(
            f"query {query} is outside 0..{len(test) - 1} ({benchmark}/{query_split} of {data})",
            param="query",
        )
    dev = resolve_device(device)
    enc = loaded.encoder.to(dev)
    tr_f, _ = extract_features(
        enc, train, loaded.transform, dev, progress=progress, desc="train features"
    )
    q_f, _ = extract_features(
        enc, subset_split(test, np.array([query])), loaded.transform, dev, progress=False
    )
    idx, sims = nearest(tr_f, q_f[0], neighbours)

    names = class_names(train.meta)
    layout = train.joint_layout
    q_label = int(test.labels[query])
    cols = [(test, query, "query", QUERY, None)]
    for rank, (i, sim) in enumerate(zip(idx, sims, strict=True), 1):
        ok = int(train.labels[i]) == q_label
        cols.append(
            (train, int(i), f"#{rank} {'✓' if ok else '✗'}", GOOD if ok else BAD, float(sim))
        )

    k = len(cols) - 1
    w, h = figure_size(k, frames)
    fig = new_figure(w, h)
    body_top, body_bottom = 1 - HEAD_H / h, FOOT_H / h
    row_h = (body_top - body_bottom) / frames
    for c, (split, i, head, color, sim) in enumerate(cols):
        x = np.asarray(split.data[i], dtype=np.float32)
        n = int(min(max(split.num_frames[i], 1), x.shape[1]))
        xv = pose_view(x, layout, split.channels, n, centred=is_centred(split.meta))
        ts = sample_frames(n, frames)
        lim = frame_limits(xv, ts)
        left = (c * COL_W + (GAP if c else 0.0)) / w
        for r, t in enumerate(ts):
            draw_pose_axes(
                fig,
                (left, body_top - (r + 1) * row_h, COL_W / w, row_h),
                xv,
                layout,
                int(t),
                lim,
                caption=f"t = {t}",
            )
        label = names[int(split.labels[i])]
        sub = f"{split.split} #{i}" + (f" · cos {sim:.4f}" if sim is not None else "")
        fig.text(
            left + 0.5 * COL_W / w,
            1 - 0.14 * HEAD_H / h,
            head,
            ha="center",
            va="top",
            fontsize=11,
            fontweight="bold",
            color=color,
        )
        fig.text(
            left + 0.5 * COL_W / w,
            1 - 0.42 * HEAD_H / h,
            textwrap.fill(label, 24) + "\n" + sub,
            ha="center",
            va="top",
            fontsize=8.5,
            linespacing=1.25,
        )
        pad = 0.04 / w
        fig.add_artist(
            Rectangle(
                (left + pad, body_bottom - 0.04 / h),
                COL_W / w - 2 * pad,
                1 - body_bottom - 0.02 / h,
                transform=fig.transFigure,
                fill=False,
                edgecolor=color,
                linewidth=2.2 if c else 1.5,
            )
        )
    hits = sum(int(train.labels[i]) == q_label for i in idx)
    what = "random init" if random_init else f"checkpoint {Path(str(checkpoint)).name}"
    fig.text(
        0.5,
        0.35 * FOOT_H / h,
        f"{'+'.join(loaded.representations).upper()} features ({what}), cosine similarity; "
        f"{hits}/{k} neighbours share the query's class · {train.meta.get('dataset')} {benchmark} · "
        "left limbs blue, right red",
        ha="center",
        va="center",
        fontsize=8.5,
        color="#333333",
    )
    return save_png(fig, out)
