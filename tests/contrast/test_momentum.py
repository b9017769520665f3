"""momentum_update / init_key_from_query on tiny modules with exact values."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from skelcon.contrast import init_key_from_query, momentum_update


def _linear(w: list[float], b: float) -> nn.Linear:
    m = nn.Linear(len(w), 1).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([w], dtype=torch.float64))
        m.bias.fill_(b)
    return m


def test_update_formula_exact():
    query = _linear([1.0, 2.0], 4.0)
    key = _linear([-1.0, 0.5], 0.0)
    momentum_update(query, key, 0.75)
    # 0.75 * key + 0.25 * query
    torch.testing.assert_close(key.weight, torch.tensor([[-0.5, 0.875]], dtype=torch.float64))
    torch.testing.assert_close(key.bias, torch.tensor([1.0], dtype=torch.float64))
    momentum_update(query, key, 0.5)
    torch.testing.assert_close(key.weight, torch.tensor([[0.25, 1.4375]], dtype=torch.float64))
    torch.testing.assert_close(key.bias, torch.tensor([2.5], dtype=torch.float64))
    # query untouched
    torch.testing.assert_close(query.weight, torch.tensor([[1.0, 2.0]], dtype=torch.float64))


def test_extreme_momenta():
    query, key = _linear([1.0, 2.0], 3.0), _linear([5.0, 6.0], 7.0)
    momentum_update(query, key, 1.0)
    assert key.weight.tolist() == [[5.0, 6.0]] and key.bias.tolist() == [7.0]
    momentum_update(query, key, 0.0)
    assert key.weight.tolist() == [[1.0, 2.0]] and key.bias.tolist() == [3.0]


def test_buffers_of_key_kept():
    query = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    key = copy.deepcopy(query)
    with torch.no_grad():
        query[1].running_mean.fill_(5.0)
        key[1].running_mean.fill_(-1.0)
    momentum_update(query, key, 0.9)
    assert key[1].running_mean.tolist() == [-1.0] * 3


def test_init_key_from_query_copies_and_freezes():
    torch.manual_seed(0)
    query = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    key = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with torch.no_grad():
        query[1].running_var.fill_(2.0)
    init_key_from_query(query, key)
    for p_q, p_k in zip(query.parameters(), key.parameters(), strict=True):
        torch.testing.assert_close(p_k, p_q)
        assert p_q.requires_grad and not p_k.requires_grad
        assert p_k.data_ptr() != p_q.data_ptr()
    assert key[1].running_var.tolist() == [2.0] * 3


def test_update_does_not_track_grad():
    query, key = _linear([1.0, 2.0], 3.0), _linear([5.0, 6.0], 7.0)
    init_key_from_query(query, key)
    out = query(torch.ones(1, 2, dtype=torch.float64)).sum()
    out.backward()
    momentum_update(query, key, 0.5)
    assert all(p.grad is None and not p.requires_grad for p in key.parameters())
    assert all(p.grad is not None for p in query.parameters())


def test_mismatched_modules():
    with pytest.raises(ValueError):
        momentum_update(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), 0.9)
    with pytest.raises(ValueError):
        momentum_update(nn.Linear(2, 2), nn.Linear(2, 2), 1.5)
