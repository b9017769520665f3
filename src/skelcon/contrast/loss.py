"""InfoNCE loss against a queue of negative keys (MoCo)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(
    q: torch.Tensor,
    k: torch.Tensor,
    queue: torch.Tensor,
    temperature: float = 0.07,
    return_logits: bool = False,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Mean InfoNCE loss of queries against their positive key and a queue of negatives.

    ``L_i = -log exp(q_i.k_i / T) / (exp(q_i.k_i / T) + sum_n exp(q_i.n / T))``.

    q: (N, D) and k: (N, D) L2-normalised, row i of ``k`` is the positive of row i of
    ``q``; queue: (K, D) L2-normalised negatives. ``exclude``: (N, K) bool, True where
    queue row j is not a negative of query i (an older key of its own clip); such a
    logit is ``-inf``, so it leaves the sum. Returns the scalar mean loss, or
    ``(loss, logits)`` with logits (N, 1 + K) (column 0 the positive) when
    ``return_logits``. Gradient flows into every input that requires it; callers pass
    a detached ``k`` and queue.
    """
    if q.dim() != 2 or q.shape != k.shape:
        raise ValueError(f"q and k must both be (N, D), got {tuple(q.shape)} and {tuple(k.shape)}")
    if queue.dim() != 2 or queue.shape[1] != q.shape[1]:
        raise ValueError(f"queue must be (K, {q.shape[1]}), got {tuple(queue.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    pos = (q * k).sum(dim=1, keepdim=True)  # (N, 1)
    neg = q @ queue.to(q.dtype).t()  # (N, K)
    if exclude is not None:
        if exclude.shape != neg.shape:
            raise ValueError(f"exclude must be {tuple(neg.shape)}, got {tuple(exclude.shape)}")
        neg = neg.masked_fill(exclude, float("-inf"))
    logits = torch.cat([pos, neg], dim=1) / temperature
    target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    loss = F.cross_entropy(logits, target)
    if return_logits:
        return loss, logits
    return loss
