"""Health statistics of contrastive embeddings (what a user reads to see learning).

All inputs are L2-normalised embeddings; everything is computed without gradients
and returned as 0-dim tensors (no host sync until logged).
"""

from __future__ import annotations

import math

import torch


@torch.no_grad()
def collapse_std(z: torch.Tensor) -> torch.Tensor:
    """Mean per-dimension std of L2-normalised embeddings ``z: (N, d)`` times ``sqrt(d)``.

    About 1 for embeddings spread over the sphere (each coordinate of a uniform unit
    vector has std ``1/sqrt(d)``), 0 when every sample maps to the same point
    (complete collapse). The measure of SimSiam (Chen and He 2021, Sec. 4.1).
    """
    if z.shape[0] < 2:
        return z.new_zeros(())
    return z.float().std(dim=0).mean() * math.sqrt(z.shape[1])


@torch.no_grad()
def alignment(q: torch.Tensor, k: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """``E ||q_i - k_i||^alpha`` over positive pairs ``q, k: (N, d)`` (unit vectors).

    0 when every query equals its positive key, 4 (alpha 2) when they are opposite.
    Wang and Isola 2020, "Understanding contrastive representation learning through
    alignment and uniformity on the hypersphere", Eq. 4.
    """
    out: torch.Tensor = (q.float() - k.float()).norm(dim=1).pow(alpha).mean()
    return out


@torch.no_grad()
def uniformity(z: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """``log E_{i<j} exp(-t ||z_i - z_j||^2)`` of unit vectors ``z: (N, d)``.

    0 for a collapsed embedding; lower (more negative) is more uniform, about -3.8
    for N large, d = 128, t = 2 (Wang and Isola 2020, Eq. 5).
    """
    if z.shape[0] < 2:
        return z.new_zeros(())
    return torch.pdist(z.float()).pow(2).mul(-t).exp().mean().log()


@torch.no_grad()
def pair_stats(
    q: torch.Tensor, k: torch.Tensor, logits: torch.Tensor, temperature: float
) -> dict[str, torch.Tensor]:
    """Alignment and mean positive / negative cosine of one contrasted pair.

    q, k: ``(N, d)`` queries and their positive keys; logits: ``(N, 1 + K)`` InfoNCE
    logits (positive first), i.e. cosines divided by ``temperature``. A ``-inf``
    negative (left out of the loss: an older key of the query's own clip) is left out
    of ``neg_cos`` too, which is 0 when no negative is left.
    """
    cos = logits.float() * temperature
    neg = cos[:, 1:]
    kept = torch.isfinite(neg)
    return {
        "align": alignment(q, k),
        "pos_cos": cos[:, 0].mean(),
        "neg_cos": neg.masked_fill(~kept, 0.0).sum() / kept.sum().clamp_min(1),
    }
