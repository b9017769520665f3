"""``skelcon plot confusion``: the confusion matrix of an evaluation's ``metrics.json``.

Rows are true classes, columns predicted classes; every row is normalised to sum to
one (the diagonal is the per-class accuracy), so rare and frequent classes read the
same. Class names label both axes; the figure grows with the class count and the
label font shrinks, so 60-120 classes stay readable. Fine-tuning protocols store one
matrix per label fraction (summed over the repeats); ``fraction`` picks one (default:
the largest).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import SkelconError
from .common import new_figure, save_png


def read_confusion(
    source: str | os.PathLike, fraction: float | None = None
) -> tuple[np.ndarray, list[str], str]:
    """``(counts (C, C), class names, title)`` from an evaluation directory or its
    ``metrics.json``; a one-line error when it holds no confusion matrix."""
    p = Path(source)
    path = p / "metrics.json" if p.is_dir() else p
    if not path.is_file():
        raise SkelconError(
            f"{str(source)!r} is neither an evaluation directory with metrics.json nor a "
            "metrics.json file"
        )
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SkelconError(f"cannot read {path}: {str(e).splitlines()[0]}") from None
    if not isinstance(rec, dict):
        raise SkelconError(f"{path} is not an evaluation metrics.json")
    entry, where = rec, ""
    if "results" in rec and isinstance(rec["results"], list) and rec["results"]:
        fracs = [r.get("fraction") for r in rec["results"]]
        if fraction is None:
            entry = max(rec["results"], key=lambda r: r.get("fraction") or 0)
        else:
            hits = [r for r in rec["results"] if r.get("fraction") == fraction]
            if not hits:
                have = ", ".join(f"{f:g}" for f in fracs if f is not None)
                raise SkelconError(f"{path} has no fraction {fraction:g} (it has: {have})")
            entry = hits[0]
        where = f", {100 * entry['fraction']:g} % labels"
    counts = entry.get("confusion_matrix")
    if counts is None:
        raise SkelconError(
            f"{path} holds no confusion matrix (written by an older skelcon; evaluate again)"
        )
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise SkelconError(f"{path}: confusion_matrix is not a square matrix")
    names = rec.get("classes") or entry.get("classes") or []
    if len(names) != counts.shape[0]:
        names = [str(i) for i in range(counts.shape[0])]
    title = (
        f"{rec.get('protocol', '?')} {rec.get('representation', '')} on "
        f"{rec.get('dataset', '?')}/{rec.get('benchmark', '?')}{where}"
    )
    return counts, [str(n) for n in names], title


def normalise_rows(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows without samples stay zero)."""
    totals = counts.sum(1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def plot_confusion(
    source: str | os.PathLike, out: str | os.PathLike, *, fraction: float | None = None
) -> Path:
    """Draw the row-normalised confusion matrix of ``source`` into the PNG ``out``."""
    counts, names, title = read_confusion(source, fraction)
    c = len(names)
    norm = normalise_rows(counts)
    cell = 0.2 if c > 20 else 0.5  # inches per class: 120 classes -> a 24-inch matrix
    side = max(4.0, cell * c)
    font = 7.0 if c > 20 else 9.0
    margin = 0.6 + 0.009 * font * max(map(len, names), default=1)  # the longest name fits
    width, height = margin + side + 1.4, margin + side + 0.9
    fig = new_figure(width, height)
    ax = fig.add_axes((margin / width, margin / height, side / width, side / height))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks(range(c))
    ax.set_yticks(range(c))
    ax.set_xticklabels(names, rotation=90, fontsize=font)
    ax.set_yticklabels(names, fontsize=font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    diag = np.divide(np.diag(counts).sum(), counts.sum()) * 100 if counts.sum() else 0.0
    mean_class = norm.diagonal()[counts.sum(1) > 0].mean() * 100 if counts.sum() else 0.0
    ax.set_title(
        f"{title}\ntop-1 {diag:.2f} %, mean class accuracy {mean_class:.2f} % (rows normalised)",
        fontsize=10,
    )
    if c <= 20:  # values in the cells while they fit
        for t in range(c):
            for p in range(c):
                if counts[t, p]:
                    colour = "white" if norm[t, p] > 0.5 else "black"
                    ax.text(
                        p,
                        t,
                        f"{norm[t, p]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=font * 0.8,
                        color=colour,
                    )
    cax = fig.add_axes(((margin + side + 0.3) / width, margin / height, 0.2 / width, side / height))
    fig.colorbar(im, cax=cax, label="fraction of the true class")
    return save_png(fig, out)
