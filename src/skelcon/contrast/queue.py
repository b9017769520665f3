"""A fixed-size FIFO queue of negative keys, kept as module buffers."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import SkelconError


class FeatureQueue(nn.Module):
    """Ring buffer of ``size`` keys of dimension ``dim``.

    Buffers (saved in ``state_dict``, moved by ``.to()``): ``keys`` (K, D) float32,
    initialised to random L2-normalised rows; ``ptr``, a 0-dim int64 tensor with the
    slot the next key is written to; ``steps``, the number of :meth:`enqueue` calls so
    far; ``stamps`` (K,) int64, the call that wrote each slot (-1: still the random
    initial key), from which :meth:`mean_age` reads how stale the negatives are;
    ``ids`` (K,) int64, the clip (sample index of the training split) each key was
    computed from (-1: unknown, or a random initial key), from which :meth:`same_clip`
    finds a query's own older keys so that they are left out of its negatives.
    """

    keys: torch.Tensor
    ptr: torch.Tensor
    steps: torch.Tensor
    stamps: torch.Tensor
    ids: torch.Tensor

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
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("stamps", torch.full((self.size,), -1, dtype=torch.long))
        self.register_buffer("ids", torch.full((self.size,), -1, dtype=torch.long))

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # checkpoints written before keys carried their clip: every key's clip is unknown
        state_dict.setdefault(prefix + "ids", torch.full_like(self.ids, -1))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, ids: torch.Tensor | None = None) -> None:
        """Write keys: (B, D) at ``ptr`` with wrap-around and advance ``ptr`` by B mod K.

        ``ids``: (B,) int64, the clip of each key (``None``: unknown, stored as -1). The
        result equals enqueueing the rows one by one: when B > K only the last K rows
        survive. Pure tensor ops (no host sync), so it is cheap on CUDA.
        """
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"keys must be (B, {self.dim}), got {tuple(keys.shape)}")
        b = keys.shape[0]
        if ids is not None and tuple(ids.shape) != (b,):
            raise ValueError(f"ids must be ({b},) like the keys, got {tuple(ids.shape)}")
        if b == 0:
            return
        first = max(b - self.size, 0)  # rows before this are overwritten anyway
        offsets = torch.arange(first, b, device=self.keys.device)
        slots = (self.ptr + offsets) % self.size
        self.keys.index_copy_(0, slots, keys[first:].detach().to(self.keys))
        if ids is None:
            self.ids.index_fill_(0, slots, -1)
        else:
            self.ids.index_copy_(0, slots, ids[first:].to(self.ids))
        self.stamps.index_fill_(0, slots, 0)
        self.stamps.index_add_(0, slots, self.steps.expand(slots.shape[0]))
        self.ptr.copy_((self.ptr + b) % self.size)
        self.steps.add_(1)

    @torch.no_grad()
    def mean_age(self) -> torch.Tensor:
        """Mean age in steps (enqueue calls) of the written keys, as a 0-dim float tensor.

        A key written by the last call has age 1. Random initial keys are left out; 0
        before the first enqueue. With batch B and size K a full queue's mean age is
        about ``(K / B + 1) / 2`` steps.
        """
        written = self.stamps >= 0
        count = written.sum().clamp_min(1)
        ages = (self.steps - self.stamps).masked_fill(~written, 0)
        return ages.sum().float() / count

    @torch.no_grad()
    def same_clip(self, ids: torch.Tensor) -> torch.Tensor:
        """(N, K) bool: whether queue slot j holds an older key of query i's clip ``ids[i]``.

        ids: (N,) int64 clip indices (negative: unknown, matches nothing). Slots whose
        clip is unknown (-1) never match.
        """
        known = ids.to(self.ids).masked_fill(ids < 0, -2)  # -2: no slot holds it
        return known[:, None] == self.ids[None, :]

    @torch.no_grad()
    def filled(self) -> torch.Tensor:
        """Fraction of the slots holding a real key (0-dim float tensor)."""
        return (self.stamps >= 0).float().mean()

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"
