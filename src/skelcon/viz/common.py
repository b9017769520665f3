"""Shared plumbing for the figures: headless figures, atomic PNG saves, data subsets."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..data.prepared import PreparedSplit, SplitArray, load_prepared
from ..errors import SkelconError
from ..utils.io import atomic_path

DPI = 100


def new_figure(width: float, height: float, dpi: int = DPI) -> Figure:
    """A figure on the Agg canvas (no pyplot, no display); ``width x height`` inches."""
    fig = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, out: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG of exactly ``figsize * dpi`` pixels, atomically."""
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi, facecolor="white")
    return out


def subset_split(split: PreparedSplit, rows: np.ndarray) -> PreparedSplit:
    """The samples ``rows`` (positions within ``split``) as a split of their own."""
    rows = np.asarray(rows, dtype=np.int64)
    idx = split.indices[rows]
    return dataclasses.replace(
        split,
        data=SplitArray(split.data.base, idx),
        labels=split.labels[rows],
        num_frames=split.num_frames[rows],
        names=split.names[rows],
        indices=idx,
    )


def class_names(meta: dict) -> list[str]:
    """Class names of a prepared dataset (``class N`` where meta.json has none)."""
    names = list(meta.get("classes") or [])
    n = int(meta.get("num_classes", len(names)))
    return names + [f"class {i + 1}" for i in range(len(names), n)]


def load_split(data: str | os.PathLike, benchmark: str, split: str) -> PreparedSplit:
    s = load_prepared(data, benchmark, split)
    if len(s) == 0:
        raise SkelconError(f"split {benchmark}/{split} of {data} is empty")
    return s


def sample_frames(num_frames: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over ``[0, num_frames - 1]`` (both ends included)."""
    n = max(int(num_frames), 1)
    return np.unique(np.linspace(0, n - 1, max(int(count), 1)).round().astype(np.int64))
