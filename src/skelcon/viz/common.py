"""Shared plumbing for the figures: headless figures, atomic PNG saves, data subsets."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..data.prepared import PreparedSplit, SplitArray, check_prepared, load_prepared, read_meta
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


def load_all(data: str | os.PathLike) -> PreparedSplit:
    """Every sample of the prepared dataset ``data`` in stored order (the rows of
    data.npy), as one split whose ``benchmark`` and ``split`` are ``""``: what an index
    into the whole dataset reads, whatever its benchmarks.

    The arrays are checked against each other and meta.json as :func:`load_prepared`
    does; the values are not (check the rows read with
    :func:`~skelcon.data.prepared.check_finite_rows`). One-line :class:`SkelconError`
    for an unreadable, inconsistent or empty dataset.
    """
    root = Path(data)
    meta = read_meta(root)
    try:
        arr = np.load(root / "data.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(root / "labels.npy", allow_pickle=False)
        num_frames = np.load(root / "num_frames.npy", allow_pickle=False)
        names = np.load(root / "names.npy", allow_pickle=False)
    except FileNotFoundError as e:
        raise SkelconError(f"prepared dataset {str(root)!r} is missing {e.filename}") from None
    except Exception as e:  # a damaged .npy header raises ValueError, SyntaxError, ...
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SkelconError(f"cannot read prepared dataset {str(root)!r}: {msg}") from None
    check_prepared(root, meta, arr, labels, num_frames, names)
    if len(labels) == 0:
        raise SkelconError(f"prepared dataset {str(root)!r} holds no samples")
    idx = np.arange(len(labels), dtype=np.int64)
    return PreparedSplit(
        root=root,
        benchmark="",
        split="",
        data=SplitArray(arr, idx),
        labels=labels.astype(np.int64),
        num_frames=num_frames.astype(np.int64),
        names=names,
        meta=meta,
        indices=idx,
    )


def sample_frames(num_frames: int, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly over ``[0, num_frames - 1]`` (both ends included)."""
    n = max(int(num_frames), 1)
    return np.unique(np.linspace(0, n - 1, max(int(count), 1)).round().astype(np.int64))
