"""t-SNE of encoder features for random subsets of classes (the paper's Figure 7).

Each panel picks ``classes`` random classes of the split, embeds the (L2-normalised)
features of their samples with scikit-learn's t-SNE and colours them by class. Panels
show distinct class subsets: a split of at most ``classes`` classes gets one panel of
all of them (the title says so), never copies of one subset. The legend under each
panel names every class in full (wrapped), and the figure grows to hold it.
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import numpy as np

from ..engine.device import resolve_device
from ..errors import SkelconError
from ..eval.compat import check_data_fits
from ..eval.encoder import load_encoder
from ..eval.features import extract_features
from .common import DPI, class_names, load_split, new_figure, save_png, subset_split

PANEL_W, SCATTER_H = 5.0, 4.3  # inches per subset panel: width, scatter height
TOP_H, GAP_H, BOTTOM_H = 0.45, 0.45, 0.15  # panel title; scatter to legend; margin
TITLE_LINE = 0.23  # inches per line of the figure's title
LEGEND_FONT, LEGEND_COLS, WRAP = 8.5, 2, 27  # legend font (pt), columns, characters a line
LEGEND_H = 1.2  # the legend height of 10 one-line names, inches


def figure_size(
    panels: int, legend_h: float = LEGEND_H, title_lines: int = 1
) -> tuple[float, float]:
    """``(width, height)`` in inches of the figure with ``panels`` panels whose tallest
    legend is ``legend_h`` inches (:func:`legend_height`), under a title of
    ``title_lines`` lines."""
    top = TOP_H + TITLE_LINE * (title_lines + 0.5)
    h = top + SCATTER_H + GAP_H + legend_h + BOTTOM_H
    return PANEL_W * panels, math.ceil(round(h * DPI, 6)) / DPI  # whole pixels


def legend_label(name: str) -> str:
    """A class name as the legend shows it: whole, wrapped at ``WRAP`` characters."""
    return textwrap.fill(name, WRAP, break_long_words=True) or name


def legend_height(
    labels: list[str], cols: int = LEGEND_COLS, fontsize: float = LEGEND_FONT
) -> float:
    """Inches a legend of ``labels`` (wrapped, :func:`legend_label`) in ``cols`` columns
    takes (matplotlib fills the columns in turn, so row ``r`` holds entries ``r``,
    ``r + rows``, ...), with its default spacing; an upper estimate."""
    if not labels:
        return 0.0
    rows = math.ceil(len(labels) / cols)
    lines = [label.count("\n") + 1 for label in labels]
    per_row = [max(lines[r::rows]) for r in range(rows)]
    line_h = fontsize * 1.25 / 72  # text line
    return sum(per_row) * line_h + rows * 0.5 * fontsize / 72 + 2 * 0.4 * fontsize / 72


def choose_subsets(
    labels: np.ndarray, classes: int, subsets: int, per_class: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to ``subsets`` draws of ``(class ids, sample rows)``: ``classes`` random classes
    present in ``labels`` (all of them where there are no more), at most ``per_class``
    random samples of each. The draws have distinct class sets, so there are
    ``min(subsets, comb(present classes, classes))`` of them: one when ``labels`` holds
    at most ``classes`` classes."""
    rng = np.random.default_rng(seed)
    present = np.unique(labels)
    k = min(classes, len(present))
    want = min(subsets, math.comb(len(present), k))
    out: list[tuple[np.ndarray, np.ndarray]] = []
    seen: set[tuple[int, ...]] = set()
    for _ in range(100 * subsets):  # random draws until `want` distinct ones (bounded)
        if len(out) >= want:
            break
        chosen = np.sort(rng.choice(present, size=k, replace=False))
        if tuple(chosen.tolist()) in seen:
            continue
        seen.add(tuple(chosen.tolist()))
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
    loaded = load_encoder(checkpoint, representation, random_init=random_init)  # the run's own
    s = load_split(data, benchmark, split)
    check_data_fits(loaded.spec, s.meta, checkpoint=checkpoint, data=data)
    names = class_names(s.meta)
    draws = choose_subsets(s.labels, classes, subsets, per_class, seed)
    n_present = len(np.unique(s.labels))
    rows = np.unique(np.concatenate([r for _, r in draws]))
    dev = resolve_device(device)
    feats, _ = extract_features(
        loaded.encoder.to(dev),
        subset_split(s, rows),
        loaded.transform,
        dev,
        progress=progress,
        desc="t-SNE features",
    )
    feats = feats.cpu().numpy()
    pos = {int(r): i for i, r in enumerate(rows)}

    panels = len(draws)
    labels = {int(c): legend_label(names[c]) for chosen, _ in draws for c in chosen}
    legend_h = max(legend_height([labels[int(c)] for c in chosen]) for chosen, _ in draws)
    title = _title(
        loaded.representations,
        random_init,
        checkpoint,
        s.meta,
        benchmark,
        split,
        panels=panels,
        subsets=subsets,
        classes=classes,
        n_present=n_present,
    )
    size = 12 if panels > 1 else 10
    chars = int(PANEL_W * panels * 72 / (0.6 * size))  # a title line's room in characters
    title = "\n".join(textwrap.fill(line, chars) for line in title.split("\n"))
    w, h = figure_size(panels, legend_h, title.count("\n") + 1)
    fig = new_figure(w, h)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    fig.subplots_adjust(
        left=0.3 / w,
        right=1 - 0.15 / w,
        top=(SCATTER_H + GAP_H + legend_h + BOTTOM_H) / h,
        bottom=(legend_h + GAP_H + BOTTOM_H) / h,
        wspace=0.12,
    )
    cmap = _colors(max(len(chosen) for chosen, _ in draws))
    for i, (ax, (chosen, sel)) in enumerate(zip(axes, draws, strict=True)):
        xy = embed(feats[[pos[int(r)] for r in sel]], perplexity, seed + i)
        lab = s.labels[sel]
        for j, c in enumerate(chosen):
            m = lab == c
            ax.scatter(
                xy[m, 0],
                xy[m, 1],
                s=14,
                color=cmap[j % len(cmap)],
                label=labels[int(c)],
                alpha=0.85,
                linewidths=0,
            )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("component 1", fontsize=9)
        if i == 0:
            ax.set_ylabel("component 2", fontsize=9)
        head = (
            f"all {len(chosen)} classes of the split"
            if len(chosen) == n_present
            else f"subset {i + 1}: {len(chosen)} classes"
        )
        ax.set_title(f"{head}, {len(sel)} samples", fontsize=10)
        # under the x label, in the room figure_size keeps for it: never over the points
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -GAP_H / SCATTER_H),
            ncol=LEGEND_COLS,
            fontsize=LEGEND_FONT,
            frameon=False,
            handletextpad=0.2,
            columnspacing=0.8,
            markerscale=1.4,
            borderaxespad=0.0,
        )
    fig.suptitle(title, fontsize=size, y=1 - 0.1 / h, va="top")
    return save_png(fig, out)


def _title(
    reps,
    random_init: bool,
    checkpoint,
    meta: dict,
    benchmark: str,
    split: str,
    *,
    panels: int,
    subsets: int,
    classes: int,
    n_present: int,
) -> str:
    """The figure's title; a second line says why there are fewer panels than asked."""
    what = "random init" if random_init else f"checkpoint {Path(str(checkpoint)).name}"
    title = (
        f"t-SNE of {'+'.join(reps).upper()} features ({what}) · "
        f"{meta.get('dataset')} {benchmark}/{split}"
    )
    if n_present <= classes and subsets > 1:
        title += f"\nthe split has {n_present} classes (--classes {classes}): one panel of them all"
    elif panels < subsets:
        title += (
            f"\n{panels} distinct subsets of {classes} of the split's {n_present} "
            f"classes (--subsets {subsets})"
        )
    return title


def _colors(k: int) -> list:
    from matplotlib import colormaps

    name = "tab10" if k <= 10 else "tab20"
    return list(colormaps[name].colors)
