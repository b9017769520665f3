"""t-SNE of encoder features for random subsets of classes (the paper's Figure 7).

Each panel picks ``classes`` random classes of the split, embeds the (L2-normalised)
features of their samples with scikit-learn's t-SNE and colours them by class.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..engine.device import resolve_device
from ..errors import SkelconError
from ..eval.compat import check_data_fits
from ..eval.encoder import load_encoder
from ..eval.features import extract_features
from .common import class_names, load_split, new_figure, save_png, subset_split

PANEL_W, PANEL_H = 5.0, 5.8  # inches per subset panel (legend below the scatter)


def figure_size(subsets: int) -> tuple[float, float]:
    """``(width, height)`` in inches of the figure with ``subsets`` panels."""
    return PANEL_W * subsets, PANEL_H


def choose_subsets(
    labels: np.ndarray, classes: int, subsets: int, per_class: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``subsets`` draws of ``(class ids, sample rows)``: ``classes`` random classes present
    in ``labels``, at most ``per_class`` random samples of each."""
    rng = np.random.default_rng(seed)
    present = np.unique(labels)
    k = min(classes, len(present))
    out = []
    for _ in range(subsets):
        chosen = np.sort(rng.choice(present, size=k, replace=False))
        rows = []
        for c in chosen:
            idx = np.flatnonzero(labels == c)
            if len(idx) > per_class:
                idx = np.sort(rng.choice(idx, size=per_class, replace=False))
            rows.append(idx)
        out.append((chosen, np.concatenate(rows)))
    return out


def embed(features: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """2-D t-SNE of ``features (N, D)`` (rows L2-normalised first); perplexity capped for small N."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n = len(features)
    if n < 3:
        return (
            np.zeros((n, 2))
            if n == 0
            else np.column_stack([np.arange(n), np.zeros(n)]).astype(float)
        )
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    perp = float(min(perplexity, max((n - 1) / 3.0, 1.0)))
    # one OpenMP thread: Barnes-Hut's threads spin badly on a busy machine, and a few thousand
    # points take seconds on one core
    with threadpool_limits(limits=1, user_api="openmp"):
        return TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed).fit_transform(f)


def plot_tsne(
    checkpoint: str | os.PathLike,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    *,
    split: str = "test",
    classes: int = 10,
    subsets: int = 3,
    per_class: int = 100,
    perplexity: float = 30.0,
    random_init: bool = False,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
) -> Path:
    """Draw the t-SNE figure of ``representation`` features to ``out`` (PNG)."""
    if classes < 1 or subsets < 1 or per_class < 1:
        raise SkelconError(
            f"--classes {classes}, --subsets {subsets} and --per-class {per_class} must be at least 1"
        )
    loaded = load_encoder(checkpoint, representation, random_init=random_init, seed=seed)
    s = load_split(data, benchmark, split)
    check_data_fits(loaded.spec, s.meta, checkpoint=checkpoint, data=data)
    names = class_names(s.meta)
    draws = choose_subsets(s.labels, classes, subsets, per_class, seed)
    rows = np.unique(np.concatenate([r for _, r in draws]))
    dev = resolve_device(device)
    feats, _ = extract_features(loaded.encoder.to(dev), subset_split(s, rows), loaded.transform, dev,
                                progress=progress, desc="t-SNE features")  # fmt: skip
    feats = feats.cpu().numpy()
    pos = {int(r): i for i, r in enumerate(rows)}

    w, h = figure_size(subsets)
    fig = new_figure(w, h)
    axes = fig.subplots(1, subsets, squeeze=False)[0]
    fig.subplots_adjust(left=0.04, right=0.97, top=0.87, bottom=0.25, wspace=0.12)
    cmap = _colors(classes)
    for i, (ax, (chosen, sel)) in enumerate(zip(axes, draws, strict=True)):
        xy = embed(feats[[pos[int(r)] for r in sel]], perplexity, seed + i)
        lab = s.labels[sel]
        for j, c in enumerate(chosen):
            m = lab == c
            ax.scatter(xy[m, 0], xy[m, 1], s=14, color=cmap[j % len(cmap)], label=_short(names[c]),
                       alpha=0.85, linewidths=0)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("component 1", fontsize=9)
        if i == 0:
            ax.set_ylabel("component 2", fontsize=9)
        ax.set_title(f"subset {i + 1}: {len(chosen)} classes, {len(sel)} samples", fontsize=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=8.5, frameon=False,
                  handletextpad=0.2, columnspacing=0.8, markerscale=1.4)  # fmt: skip
    what = "random init" if random_init else f"checkpoint {Path(str(checkpoint)).name}"
    fig.suptitle(
        f"t-SNE of {'+'.join(loaded.representations).upper()} features ({what}) · "
        f"{s.meta.get('dataset')} {benchmark}/{split}",
        fontsize=12,
    )
    return save_png(fig, out)


def _colors(k: int) -> list:
    from matplotlib import colormaps

    name = "tab10" if k <= 10 else "tab20"
    return list(colormaps[name].colors)


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
