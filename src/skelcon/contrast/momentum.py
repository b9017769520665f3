"""Momentum (exponential moving average) key encoders."""

from __future__ import annotations

import torch
from torch import nn


def _paired_params(
    query: nn.Module, key: nn.Module
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    qp: list[torch.Tensor] = list(query.parameters())
    kp: list[torch.Tensor] = list(key.parameters())
    if len(qp) != len(kp):
        raise ValueError(f"query and key modules differ: {len(qp)} vs {len(kp)} parameter tensors")
    return qp, kp


@torch.no_grad()
def init_key_from_query(query: nn.Module, key: nn.Module) -> None:
    """Make ``key`` an exact copy of ``query`` and freeze its parameters.

    Copies parameters and buffers (so both start identical) and sets
    ``requires_grad=False`` on every key parameter.
    """
    qp, kp = _paired_params(query, key)
    for p_q, p_k in zip(qp, kp, strict=True):
        p_k.copy_(p_q)
        p_k.requires_grad_(False)
    qb, kb = list(query.buffers()), list(key.buffers())
    if len(qb) != len(kb):
        raise ValueError(f"query and key modules differ: {len(qb)} vs {len(kb)} buffers")
    for b_q, b_k in zip(qb, kb, strict=True):
        b_k.copy_(b_q)


@torch.no_grad()
def momentum_update(query: nn.Module, key: nn.Module, m: float) -> None:
    """``key_param = m * key_param + (1 - m) * query_param`` for every parameter.

    One fused ``torch._foreach`` update over all parameters. Buffers (BatchNorm running
    statistics) are left alone: as in the MoCo reference, the key encoder keeps the
    running statistics of its own forward passes.
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {m}")
    qp, kp = _paired_params(query, key)
    if not kp:
        return
    torch._foreach_mul_(kp, m)
    torch._foreach_add_(kp, qp, alpha=1.0 - m)
