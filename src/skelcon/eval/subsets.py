"""Class-covering random subsets of a labelled split (semi-supervised protocol, paper Table 2).

A subset at fraction ``f`` takes, from every class ``c`` with ``n_c`` training
samples, ``k_c = max(1, floor(f * n_c + 0.5))`` samples (rounded half up, at least
one, at most ``n_c``) drawn without replacement. So every class present in the split
has a labelled sample. Each subset is fixed by ``(seed, fraction, repeat)`` alone:
adding fractions or repeats does not change the others.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..data.prepared import PreparedSplit, SplitArray
from ..errors import SkelconError


def check_fraction(fraction: float) -> float:
    """``fraction`` as a float in ``(0, 1]``, or a one-line error naming it."""
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        raise SkelconError(
            f"fraction {fraction!r} is not a number (valid: 0 < fraction <= 1)"
        ) from None
    if not 0 < f <= 1:
        raise SkelconError(f"fraction {fraction!r} is not valid (valid: 0 < fraction <= 1)")
    return f


def per_class_counts(labels: np.ndarray, fraction: float) -> dict[int, int]:
    """``{class: k_c}`` for the classes present in ``labels (N,)``."""
    f = check_fraction(fraction)
    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    return {
        int(c): int(min(n, max(1, np.floor(f * n + 0.5))))
        for c, n in zip(classes, counts, strict=True)
    }


def subset_seed(seed: int, fraction: float, repeat: int) -> np.random.SeedSequence:
    """The seed of one subset: depends only on ``(seed, fraction, repeat)``."""
    return np.random.SeedSequence(
        [int(seed) % 2**32, int(round(fraction * 1_000_000)), int(repeat)]
    )


def class_covering_subset(
    labels: np.ndarray, fraction: float, seed: int, repeat: int = 0
) -> np.ndarray:
    """Sorted indices into ``labels (N,)`` of one class-covering subset (see module doc)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        raise SkelconError("cannot draw a labelled subset from an empty split")
    rng = np.random.default_rng(subset_seed(seed, fraction, repeat))
    chosen = []
    for c, k in per_class_counts(labels, fraction).items():
        members = np.flatnonzero(labels == c)
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def draw_subsets(
    labels: np.ndarray, fractions: list[float], repeats: int, seed: int
) -> dict[float, list[np.ndarray]]:
    """``{fraction: [indices of repeat 0, 1, ...]}``; ``repeats`` subsets per fraction."""
    if int(repeats) < 1:
        raise SkelconError(f"repeats {repeats!r} is not valid (valid: an integer >= 1)")
    return {
        check_fraction(f): [class_covering_subset(labels, f, seed, r) for r in range(int(repeats))]
        for f in fractions
    }


def subset_split(split: PreparedSplit, indices: np.ndarray) -> PreparedSplit:
    """The rows ``indices`` (positions within ``split``) as a split of their own (lazy)."""
    idx = np.asarray(indices, dtype=np.int64)
    return dataclasses.replace(
        split,
        data=SplitArray(split.data.base, split.data.indices[idx]),
        labels=split.labels[idx],
        num_frames=split.num_frames[idx],
        names=split.names[idx],
        indices=split.indices[idx],
    )
