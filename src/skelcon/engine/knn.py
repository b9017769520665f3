"""k-nearest-neighbour retrieval on feature banks, in chunked matrix products."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..config import SIMILARITIES
from ..errors import SkelconError


def knn_predict(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    *,
    k: int = 1,
    similarity: str = "cosine",
    chunk_size: int = 4096,
    num_classes: int | None = None,
) -> torch.Tensor:
    """Predicted labels ``(M,)`` for ``test_feats (M, D)`` from ``train_feats (N, D)``.

    Each test sample takes the majority label of its ``k`` most similar training
    samples (ties go to the label with the larger summed similarity). ``similarity``
    is ``cosine`` or ``euclidean`` (negative distance). The ``(chunk, N)`` similarity
    matrix is computed ``chunk_size`` test rows at a time on the features' device.
    """
    scores = knn_scores(
        train_feats,
        train_labels,
        test_feats,
        k=k,
        similarity=similarity,
        chunk_size=chunk_size,
        num_classes=num_classes,
    )
    return scores.argmax(1)  # the kNN label is the one row entry at +inf


def knn_scores(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    *,
    k: int = 1,
    similarity: str = "cosine",
    chunk_size: int = 4096,
    num_classes: int | None = None,
    finite: bool = False,
) -> torch.Tensor:
    """Class scores ``(M, C)`` float32 that rank the classes for top-5 and per-class
    metrics; their arg-max is always the :func:`knn_predict` label.

    Every class scores the similarity of its nearest training sample. Without
    ``finite`` the predicted label scores ``+inf`` and a class without training samples
    ``-inf``. With ``finite`` (the scores ``eval knn`` saves) every score is finite: the
    predicted label keeps its nearest similarity, raised to the next float32 above the
    best other class only where it is not already strictly highest (with ``k = 1`` only
    on an exact tie; with ``k > 1`` where the vote beat the nearest sample), and a class
    without training samples scores ``m - (1 + |m|)`` below the row's lowest finite
    score ``m``. Both give the same class order, hence the same metrics. With ``k = 1``
    the order is that of the nearest training sample of each class.
    """
    if similarity not in SIMILARITIES:
        raise SkelconError(f"similarity {similarity!r} is not valid (valid: cosine, euclidean)")
    n = train_feats.shape[0]
    if n == 0:
        raise SkelconError("kNN needs a non-empty training feature bank")
    k = min(k, n)
    c = int(num_classes if num_classes is not None else int(train_labels.max()) + 1)
    train = train_feats.float()
    if similarity == "cosine":
        train = F.normalize(train, dim=1)
    else:
        train_sq = (train * train).sum(1)
    out = []
    for s in range(0, test_feats.shape[0], chunk_size):
        q = test_feats[s : s + chunk_size].float()
        if similarity == "cosine":
            sim = F.normalize(q, dim=1) @ train.T
        else:  # -||q - t||^2 = 2 q.t - |q|^2 - |t|^2 ; |q|^2 is constant per row
            sim = 2 * q @ train.T - train_sq[None, :]
        top_sim, top_idx = sim.topk(k, dim=1)
        if k == 1:
            pred = train_labels[top_idx[:, 0]]
        else:
            top_lab = train_labels[top_idx]
            votes = torch.zeros(q.shape[0], c, device=q.device)
            votes.scatter_add_(1, top_lab, torch.ones_like(top_sim))
            # tie-break by summed similarity, scaled below one vote
            span = (top_sim.max() - top_sim.min()).clamp_min(1e-12)
            weight = (top_sim - top_sim.min()) / span / (k + 1)
            votes.scatter_add_(1, top_lab, weight)
            pred = votes.argmax(1)
        best = torch.full((q.shape[0], c), -torch.inf, device=q.device)
        best.scatter_reduce_(1, train_labels[None, :].expand(q.shape[0], -1), sim, "amax")
        rows = torch.arange(q.shape[0], device=q.device)
        if finite:
            best = _finite(best, rows, pred)
        else:
            best[rows, pred] = torch.inf
        out.append(best)
    return torch.cat(out) if out else torch.zeros(0, c, device=test_feats.device)


def _finite(best: torch.Tensor, rows: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """``best (M, C)`` (``-inf`` for classes without training samples) made finite with
    ``pred (M,)`` the strict arg-max of every row (see :func:`knn_scores`)."""
    other = best.clone()
    other[rows, pred] = -torch.inf
    runner_up = other.amax(1)
    above = torch.nextafter(runner_up, torch.full_like(runner_up, torch.inf))
    own = best[rows, pred]
    best[rows, pred] = torch.where(torch.isfinite(runner_up), torch.maximum(own, above), own)
    empty = torch.isinf(best)
    low = best.masked_fill(empty, torch.inf).amin(1, keepdim=True)
    return torch.where(empty, low - (1 + low.abs()), best)


def knn_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    test_labels: torch.Tensor,
    **kw: Any,
) -> float:
    """Top-1 accuracy in % of :func:`knn_predict`."""
    if test_feats.shape[0] == 0:
        raise SkelconError("kNN needs a non-empty test split")
    pred = knn_predict(train_feats, train_labels, test_feats, **kw)
    return float((pred == test_labels).float().mean().item() * 100)
