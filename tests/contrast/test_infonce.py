"""info_nce against hand computations and closed-form edge cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from skelcon.contrast import info_nce


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)


def _hand_info_nce(q, k, queue, t):
    total = 0.0
    for i in range(len(q)):
        pos = sum(float(q[i][j]) * float(k[i][j]) for j in range(len(q[i])))
        negs = [sum(float(q[i][j]) * float(n[j]) for j in range(len(n))) for n in queue]
        num = math.exp(pos / t)
        den = num + sum(math.exp(s / t) for s in negs)
        total += -math.log(num / den)
    return total / len(q)


@pytest.mark.parametrize("t", [0.07, 0.5, 1.0])
def test_matches_hand_loop(t):
    q, k, queue = _unit(3, 4, 0), _unit(3, 4, 1), _unit(5, 4, 2)
    got = info_nce(q, k, queue, temperature=t)
    assert got.dim() == 0
    assert got.item() == pytest.approx(_hand_info_nce(q, k, queue, t), rel=1e-10)


def test_default_temperature_is_007():
    q, k, queue = _unit(2, 3, 3), _unit(2, 3, 4), _unit(4, 3, 5)
    assert info_nce(q, k, queue).item() == pytest.approx(_hand_info_nce(q, k, queue, 0.07))


def test_all_logits_equal_gives_log_k_plus_one():
    e = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    queue = e.repeat(6, 1)
    assert info_nce(e, e, queue).item() == pytest.approx(math.log(7.0), rel=1e-12)


def test_orthogonal_negatives_closed_form():
    t = 0.1
    q = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    queue = torch.tensor([[0.0, 0.0, 1.0]] * 4, dtype=torch.float64)
    # each query: pos = 1, 4 negatives at 0 -> log(1 + 4 exp(-1/t))
    expected = math.log(1.0 + 4.0 * math.exp(-1.0 / t))
    assert info_nce(q, q, queue, temperature=t).item() == pytest.approx(expected, rel=1e-12)


def test_empty_queue_is_zero_loss():
    q = _unit(3, 4, 6)
    assert info_nce(q, q, q.new_zeros(0, 4)).item() == pytest.approx(0.0, abs=1e-12)


def test_return_logits_layout():
    q, k, queue = _unit(3, 4, 7), _unit(3, 4, 8), _unit(5, 4, 9)
    loss, logits = info_nce(q, k, queue, temperature=0.2, return_logits=True)
    assert logits.shape == (3, 6)
    torch.testing.assert_close(logits[:, 0], (q * k).sum(1) / 0.2)
    torch.testing.assert_close(logits[:, 1:], q @ queue.t() / 0.2)
    torch.testing.assert_close(loss, info_nce(q, k, queue, temperature=0.2))


def test_gradient_matches_autograd_of_definition():
    q = _unit(2, 3, 10).requires_grad_(True)
    k, queue = _unit(2, 3, 11), _unit(3, 3, 12)
    info_nce(q, k, queue, 0.5).backward()
    q2 = q.detach().clone().requires_grad_(True)
    logits = torch.cat([(q2 * k).sum(1, keepdim=True), q2 @ queue.t()], 1) / 0.5
    (-(logits[:, 0] - torch.logsumexp(logits, 1)).mean()).backward()
    torch.testing.assert_close(q.grad, q2.grad)


def test_shape_errors():
    q = _unit(3, 4, 0)
    with pytest.raises(ValueError):
        info_nce(q, q[:2], q)
    with pytest.raises(ValueError):
        info_nce(q, q, q[:, :3])


def test_excluded_negatives_leave_the_sum():
    g = torch.Generator().manual_seed(0)
    q, k, queue = (F.normalize(torch.randn(n, 8, generator=g), dim=1) for n in (3, 3, 5))
    exclude = torch.zeros(3, 5, dtype=torch.bool)
    exclude[0, 1] = exclude[2, [0, 4]] = True
    loss, logits = info_nce(q, k, queue, 0.1, return_logits=True, exclude=exclude)
    rows = [info_nce(q[i : i + 1], k[i : i + 1], queue[~exclude[i]], 0.1) for i in range(3)]
    torch.testing.assert_close(loss, torch.stack(rows).mean())
    assert (
        torch.isinf(logits[:, 1:][exclude]).all() and torch.isfinite(logits[:, 1:][~exclude]).all()
    )
    # every negative excluded: the loss of an empty queue (0), not NaN
    assert float(info_nce(q, k, queue, 0.1, exclude=torch.ones(3, 5, dtype=torch.bool))) == 0.0
    with pytest.raises(ValueError, match="exclude must be"):
        info_nce(q, k, queue, 0.1, exclude=exclude[:, :4])
