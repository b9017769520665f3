"""Batch-shuffled, split BatchNorm for key encoders on one device.

MoCo (He et al. 2020, Sec. 3.3 "Shuffling BN") found that a query and its positive
key computed in the same BatchNorm batch can "cheat" the pretext task through the
batch statistics: the model finds a low-loss solution that does not need good
features. The reference code shuffles the key batch across GPUs; on one device the
MoCo v2 CIFAR-10 demo splits the batch into groups with their own statistics
("SplitBatchNorm"). :func:`shuffled_split_forward` does both at once: the key
batch is permuted, encoded in ``splits`` groups (each group a separate forward, so
every BatchNorm layer sees only its group), and the outputs are put back in the
original order. The cross-process version comes with DDP.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def shuffled_split_forward(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    splits: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``fn`` applied to a permuted batch in ``splits`` groups, outputs in input order.

    x: ``(N, ...)``; returns ``fn``'s ``(N, ...)`` with row ``i`` belonging to ``x[i]``.
    The number of groups is capped so that every group holds at least 2 samples
    (BatchNorm needs 2); with ``splits <= 1`` or ``N < 4`` it is plain ``fn(x)``.
    The permutation is drawn from ``generator`` (on ``x``'s device) so it is
    reproducible.
    """
    n = x.shape[0]
    groups = min(int(splits), n // 2)
    if groups <= 1:
        return fn(x)
    perm = torch.randperm(n, generator=generator, device=x.device)
    out = torch.cat([fn(chunk) for chunk in x[perm].chunk(groups)])
    return out[torch.argsort(perm)]
