"""Batch-shuffled, split BatchNorm for key encoders on one device.

MoCo (He et al. 2020, Sec. 3.3 "Shuffling BN") found that a query and its positive
key computed in the same BatchNorm batch can "cheat" the pretext task through the
batch statistics: the model finds a low-loss solution that does not need good
features. The reference code shuffles the key batch across GPUs; on one device the
MoCo v2 CIFAR-10 demo splits the batch into groups with their own statistics
("SplitBatchNorm"). :func:`shuffled_split_forward` does both at once: the key
batch is permuted, encoded in ``splits`` groups (each group a separate forward, so
every BatchNorm layer sees only its group), and the outputs are put back in the
original order. Under DDP, :func:`distributed_shuffled_forward` is MoCo's
``_batch_shuffle_ddp``: the key batch of every process is gathered, permuted by one
permutation that rank 0 draws and broadcasts, each process encodes its share of the
shuffled batch, and the outputs are gathered and put back in order.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist

from .gather import concat_all_gather


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
    out = torch.cat([fn(chunk) for chunk in x[perm].tensor_split(groups)])  # sizes differ by <= 1
    return out[torch.argsort(perm)]


def distributed_shuffled_forward(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    splits: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``fn`` applied to a batch shuffled across processes; this rank's rows back in order.

    x: ``(B, ...)`` on every one of W processes (same B). The W * B rows are gathered
    in rank order, permuted by a permutation drawn on rank 0 from ``generator`` and
    broadcast, and rank r encodes rows ``r*B .. (r+1)*B`` of the shuffled batch (in
    ``splits`` groups, :func:`shuffled_split_forward`); the outputs are gathered, un-
    permuted and this rank's B rows returned. So BatchNorm in ``fn`` sees samples of
    every process, never exactly the queries' batch (MoCo, He et al. 2020, Sec. 3.3;
    the reference's ``_batch_shuffle_ddp`` / ``_batch_unshuffle_ddp``). Needs an
    initialised process group; no gradient flows (keys only).
    """
    world, rank = dist.get_world_size(), dist.get_rank()
    every = concat_all_gather(x)
    n = every.shape[0]
    if rank == 0:
        perm = torch.randperm(n, generator=generator, device=x.device)
    else:
        perm = torch.empty(n, dtype=torch.long, device=x.device)
    dist.broadcast(perm, 0)
    mine = every[perm].chunk(world)[rank]
    out = concat_all_gather(shuffled_split_forward(fn, mine, splits, generator))
    return out[torch.argsort(perm)].chunk(world)[rank]
