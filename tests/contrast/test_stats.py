"""Embedding-health statistics on hand-checkable cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from skelcon.contrast.stats import alignment, collapse_std, pair_stats, uniformity


def test_collapsed_embedding_has_zero_std_and_zero_uniformity():
    z = F.normalize(torch.ones(16, 8), dim=1)  # every sample the same point
    assert float(collapse_std(z)) == 0.0
    assert float(uniformity(z)) == pytest.approx(0.0, abs=1e-6)


def test_spread_embedding_has_std_near_one():
    z = F.normalize(torch.randn(4096, 32, generator=torch.Generator().manual_seed(0)), dim=1)
    assert float(collapse_std(z)) == pytest.approx(1.0, abs=0.03)
    # far below the collapsed 0: log E exp(-2 |zi - zj|^2) with |zi - zj|^2 ~ 2 is about -4
    assert float(uniformity(z[:512])) < -3.5


def test_two_antipodal_points():
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    # per-dimension std (unbiased): dim 0 has values 1, -1 -> sqrt(2); dim 1 -> 0
    assert float(collapse_std(z)) == pytest.approx(math.sqrt(2) / 2 * math.sqrt(2))
    assert float(uniformity(z)) == pytest.approx(-8.0)  # |zi - zj|^2 = 4, t = 2
    assert float(alignment(z, z)) == 0.0
    assert float(alignment(z, -z)) == pytest.approx(4.0)


def test_pair_stats_read_positive_and_negative_cosines_from_logits():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    negatives = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    t = 0.5
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ negatives.T], dim=1) / t
    s = pair_stats(q, k, logits, t)
    assert float(s["pos_cos"]) == pytest.approx(0.5)  # 1 and 0
    assert float(s["neg_cos"]) == pytest.approx((0 - 1 + 0 + 1 + 0 - 1) / 6)
    assert float(s["align"]) == pytest.approx((0 + 2) / 2)
