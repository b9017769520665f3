"""Batches from a prepared split.

Batches are read as whole index arrays from the memory map (sorted, sequential
reads) rather than sample by sample; shuffling uses an explicit generator so that an
epoch's order depends only on ``(seed, epoch)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.prepared import PreparedSplit
from ..utils import threads
from .distributed import Dist


class BatchReader(Dataset[tuple[torch.Tensor, ...]]):
    """``reader[indices]`` -> ``(x (B,C,T,V,M) float32, num_frames (B,), labels (B,))``,
    and the ``indices`` themselves ((B,) int64) last when ``with_index``."""

    def __init__(
        self, split: PreparedSplit, max_frames: int | None = None, with_index: bool = False
    ):
        self.split = split
        self.with_index = with_index
        # Frames past the longest valid clip are padding for every sample: skip reading them.
        longest = int(split.num_frames.max()) if len(split) else 1
        self.max_frames = min(max_frames or longest, split.data.shape[2])

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, indices: list[int] | np.ndarray) -> tuple[torch.Tensor, ...]:
        idx = np.asarray(indices, dtype=np.int64)
        x = self.split.data[idx][:, :, : self.max_frames]
        batch = (
            torch.from_numpy(np.ascontiguousarray(x)),
            torch.from_numpy(self.split.num_frames[idx].clip(1, self.max_frames)),
            torch.from_numpy(self.split.labels[idx]),
        )
        return (*batch, torch.from_numpy(idx)) if self.with_index else batch


def batch_bounds(
    n: int, batch_size: int, *, drop_last: bool = False, min_batch: int = 1
) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch over ``n`` items in batches of ``batch_size``.

    ``drop_last`` drops a short final batch (unless it is the only one). A final batch
    smaller than ``min_batch`` is folded into the one before it (so a training split of
    ``k * batch_size + 1`` clips never hands BatchNorm a batch of one).
    """
    if drop_last and n >= batch_size:
        n -= n % batch_size
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_batch:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class _Batches(torch.utils.data.Sampler[np.ndarray]):
    def __init__(
        self,
        n: int,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int,
        min_batch: int = 1,
        rank: int = 0,
        world_size: int = 1,
        offset: int = 0,
    ):
        self.n, self.shuffle, self.seed, self.offset = n, shuffle, seed, offset
        bounds = batch_bounds(n, batch_size, drop_last=drop_last, min_batch=min_batch)
        # this rank's contiguous part of every global batch (all of it with one process)
        part = Dist(rank, world_size)
        self.bounds = [part.shard(s, e) for s, e in bounds]

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed)
            order = torch.randperm(self.n, generator=g).numpy()
        else:
            order = np.arange(self.offset, self.offset + self.n)
        for s, e in self.bounds:
            threads.tick()  # the CPU thread policy follows the machine's load
            yield order[s:e]

    def __len__(self) -> int:
        return len(self.bounds)


def batch_loader(
    split: PreparedSplit,
    batch_size: int,
    *,
    shuffle: bool = False,
    drop_last: bool = False,
    min_batch: int = 1,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
    rank: int = 0,
    world_size: int = 1,
    rows: tuple[int, int] | None = None,
    with_index: bool = False,
) -> DataLoader[tuple[torch.Tensor, ...]]:
    """A loader yielding ``(x, num_frames, labels)`` batches; order fixed by ``seed``.

    ``with_index`` adds each clip's index in ``split`` ((B,) int64) as a fourth item.

    Batches follow :func:`batch_bounds` (``drop_last``, ``min_batch``: training loaders
    pass 2 so that BatchNorm never sees a batch of one). Under DDP, ``batch_size`` is
    the global batch: process ``rank`` of ``world_size`` gets the ``rank``-th
    contiguous part of each one, so the global batches (a function of ``seed`` only)
    are the same for every number of processes and the ranks' parts, gathered in rank
    order, are the global batch in order. ``rows = (a, b)`` reads only clips ``a .. b-1``
    (unshuffled: a rank's part of a split for feature extraction).
    """
    reader = BatchReader(split, with_index=with_index)
    a, b = rows if rows is not None else (0, len(split))
    if rows is not None and shuffle:
        raise ValueError("rows= is for unshuffled loaders")
    sampler = _Batches(b - a, batch_size, shuffle, drop_last, seed, min_batch, rank, world_size, a)
    return DataLoader(
        reader,
        batch_size=None,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
    )


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A distinct, reproducible seed for each (run seed, epoch, process rank).

    Rank 0 (and a single process) gets the same seed as ever; other ranks draw their
    own augmentations and dropout. Rank 0 draws for its part of the batch only, so its
    draws are not a one-process run's beyond the first: they depend on the world size.
    """
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + 17 + int(rank) * 104_729_977) % (2**63 - 1)
