"""A fixed-size FIFO queue of negative keys, kept as module buffers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SkelconError


class FeatureQueue(nn.Module):
    """Ring buffer of ``size`` keys of dimension ``dim``.

    Buffers (saved in ``state_dict``, moved by ``.to()``): ``keys`` (K, D) float32,
    initialised to random L2-normalised rows, and ``ptr``, a 0-dim int64 tensor with
    the slot the next key is written to.
    """

    keys: torch.Tensor
    ptr: torch.Tensor

    def __init__(self, size: int, dim: int):
        super().__init__()
        if int(size) < 1:
            raise SkelconError(f"queue size must be >= 1, got {size}")
        if int(dim) < 1:
            raise SkelconError(f"queue dim must be >= 1, got {dim}")
        self.size = int(size)
        self.dim = int(dim)
        self.register_buffer("keys", F.normalize(torch.randn(self.size, self.dim), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write keys: (B, D) at ``ptr`` with wrap-around and advance ``ptr`` by B mod K.

        The result equals enqueueing the rows one by one: when B > K only the last K
        rows survive. Pure tensor ops (no host sync), so it is cheap on CUDA.
        """
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"keys must be (B, {self.dim}), got {tuple(keys.shape)}")
        b = keys.shape[0]
        if b == 0:
            return
        first = max(b - self.size, 0)  # rows before this are overwritten anyway
        offsets = torch.arange(first, b, device=self.keys.device)
        slots = (self.ptr + offsets) % self.size
        self.keys.index_copy_(0, slots, keys[first:].detach().to(self.keys))
        self.ptr.copy_((self.ptr + b) % self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"
