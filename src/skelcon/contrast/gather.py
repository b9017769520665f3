"""Gathering keys across processes for the queue."""

from __future__ import annotations

import torch
import torch.distributed as dist


@torch.no_grad()
def concat_all_gather(t: torch.Tensor) -> torch.Tensor:
    """Concatenate t: (B, ...) from every process along dim 0 -> (world * B, ...).

    Identity when ``torch.distributed`` is unavailable, uninitialised or has one
    process. No gradient flows through the result. Every process must pass the same
    shape.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() <= 1:
        return t
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=0)
