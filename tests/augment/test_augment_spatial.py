"""Shear and joint jitter: matrices recovered from input/output by least squares."""

from __future__ import annotations

import pytest
import torch

from skelcon.augment import joint_jitter, shear
from skelcon.errors import SkelconError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def points(x: torch.Tensor) -> torch.Tensor:
    """(3, T, V, M) -> (K, 3) rows of joint coordinates."""
    return x.reshape(3, -1).T.double()


def fit_matrix(before: torch.Tensor, after: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Least-squares S with after = S @ before for (K, 3) rows; returns (S, max residual)."""
    st = torch.linalg.lstsq(before, after).solution  # before @ S^T = after
    return st.T, (before @ st - after).abs().max().item()


def test_shear_is_one_unit_diagonal_matrix_per_sample():
    x = torch.randn(5, 3, 6, 4, 2, dtype=torch.float64)
    out, mat = shear(x, generator=gen(), return_matrix=True)
    assert out.shape == x.shape and mat.shape == (5, 3, 3)
    for n in range(5):
        s, res = fit_matrix(points(x[n]), points(out[n]))
        assert res < 1e-9
        torch.testing.assert_close(s, mat[n])
        assert torch.equal(torch.diagonal(s).round(decimals=9), torch.ones(3, dtype=s.dtype))
        off = s[~torch.eye(3, dtype=torch.bool)]
        assert (off.abs() <= 1).all()
        # the same matrix for every frame and every person (4 joints per fit)
        for t in range(6):
            for m in range(2):
                s_tm, res_tm = fit_matrix(
                    points(x[n, :, t, :, m : m + 1]), points(out[n, :, t, :, m : m + 1])
                )
                assert res_tm < 1e-9
                torch.testing.assert_close(s_tm, s)
    # off-diagonals are independent draws: distinct within a sample and across samples
    off = mat[:, ~torch.eye(3, dtype=torch.bool)]
    assert torch.unique(off).numel() == off.numel()


def test_shear_range_and_hand_check():
    x = torch.randn(400, 3, 2, 3, 1)
    _, mat = shear(x, magnitude=0.3, generator=gen(1), return_matrix=True)
    off = mat[:, ~torch.eye(3, dtype=torch.bool)]
    assert off.abs().max() <= 0.3 and off.abs().max() > 0.25
    assert off.min() < -0.25  # both signs
    # S @ p for a single joint, by hand
    p = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1, 1)
    out, s = shear(p, generator=gen(2), return_matrix=True)
    torch.testing.assert_close(out.view(3), s[0] @ torch.tensor([1.0, 2.0, 3.0]))
    # padding (zeros) stays zero
    assert torch.equal(
        shear(torch.zeros(2, 3, 4, 5, 2), generator=gen()), torch.zeros(2, 3, 4, 5, 2)
    )


def changed_joints(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(N, V) bool: joint differs anywhere (any coord, frame, person)."""
    return (x != out).any(dim=1).any(dim=1).any(dim=-1)


@pytest.mark.parametrize("v,m,j", [(25, 2, 15), (20, 1, 15), (20, 1, 3), (6, 3, 6)])
def test_jitter_moves_exactly_j_joints_by_one_matrix(v, m, j):
    n = 8
    x = torch.randn(n, 3, 5, v, m, dtype=torch.float64)
    out = joint_jitter(x, num_joints=j, generator=gen(3))
    assert out.shape == x.shape
    moved = changed_joints(x, out)
    assert moved.sum(dim=1).tolist() == [j] * n
    for i in range(n):
        idx = moved[i].nonzero().squeeze(1)
        before = points(x[i][:, :, idx])
        after = points(out[i][:, :, idx])
        s, res = fit_matrix(before, after)
        assert res < 1e-9  # one common matrix for all moved joints, frames, persons
        assert (s.abs() <= 1 + 1e-9).all()
        assert not torch.allclose(torch.diagonal(s), torch.ones(3, dtype=s.dtype))
    if j < v:  # the chosen joints differ between samples
        assert len({tuple(row.tolist()) for row in moved}) > 1


def test_jitter_joint_choice_is_uniform():
    n, v, j = 4000, 10, 3
    x = torch.randn(n, 3, 1, v, 1)
    freq = changed_joints(x, joint_jitter(x, num_joints=j, generator=gen(4))).float().mean(dim=0)
    assert ((freq - j / v).abs() < 0.04).all()


def test_jitter_reference_mode_zeros_or_transforms():
    n, v, j = 64, 25, 15
    x = torch.randn(n, 3, 4, v, 2, dtype=torch.float64)
    out = joint_jitter(x, num_joints=j, mode="reference", generator=gen(5))
    moved = changed_joints(x, out)
    assert moved.sum(dim=1).tolist() == [j] * n
    zeroed = 0
    for i in range(n):
        sel = out[i][:, :, moved[i]]
        if torch.equal(sel, torch.zeros_like(sel)):
            zeroed += 1
        else:
            _, res = fit_matrix(points(x[i][:, :, moved[i]]), points(sel))
            assert res < 1e-9
    assert 16 < zeroed < 48  # p = 1/2 each


def test_jitter_edge_counts_and_errors():
    x = torch.randn(3, 3, 4, 20, 1)
    assert torch.equal(joint_jitter(x, num_joints=0, generator=gen()), x)
    assert changed_joints(x, joint_jitter(x, num_joints=20, generator=gen())).all()
    with pytest.raises(SkelconError, match=r"num_joints=21.*V=20"):
        joint_jitter(x, num_joints=21)
    with pytest.raises(SkelconError, match="paper, reference"):
        joint_jitter(x, mode="bogus")
    with pytest.raises(SkelconError, match="2 or 3 leading coordinate channels"):
        shear(torch.zeros(2, 4, 4, 5, 1))  # 4 channels: which are coordinates?
    with pytest.raises(SkelconError, match="2 or 3 leading coordinate channels"):
        joint_jitter(torch.zeros(2, 2, 4, 5, 1), 1, coords=3)


def test_2d_shear_acts_in_the_image_plane_and_keeps_the_score():
    x = torch.randn(4, 3, 6, 17, 2)  # x, y, score
    out, mat = shear(x, 0.5, gen(3), return_matrix=True, coords=2)
    assert mat.shape == (4, 2, 2)
    assert torch.equal(out[:, 2], x[:, 2])  # the confidence is untouched
    want = torch.einsum("nij,njtvm->nitvm", mat, x[:, :2])
    assert torch.allclose(out[:, :2], want, atol=1e-6)
    assert not torch.allclose(out[:, :2], x[:, :2])
    plain = shear(x[:, :2], 0.5, gen(3))  # C = 2: all channels are coordinates
    assert torch.allclose(plain, out[:, :2], atol=1e-6)


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_2d_jitter_moves_only_coordinates(mode):
    x = torch.randn(8, 3, 5, 17, 1)
    x[:, 2] = torch.rand(8, 5, 17, 1)  # scores in [0, 1)
    out = joint_jitter(x, 6, mode, gen(4), coords=2)
    assert torch.equal(out[:, 2], x[:, 2])
    moved = changed_joints(x, out)  # (N, V)
    assert (moved.sum(dim=1) <= 6).all() and moved.any()


def test_seeded_generator_is_deterministic():
    x = torch.randn(4, 3, 8, 25, 2)
    for fn in (shear, lambda x, generator: joint_jitter(x, 15, "reference", generator)):
        a, b, c = fn(x, generator=gen(9)), fn(x, generator=gen(9)), fn(x, generator=gen(10))
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_joint_noise_leaves_missing_joints_and_scores_alone():
    import torch

    from skelcon.augment.spatial import joint_noise

    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 8, 5, 2, generator=g)
    x[:, :2, :, 1] = 0  # joint 1 missing (x, y = 0), score channel kept
    x[:, :, 6:] = 0  # padding frames
    y = joint_noise(x, 0.1, torch.Generator().manual_seed(1), coords=2)
    assert torch.equal(y[:, 2], x[:, 2])  # the score channel is untouched
    assert torch.equal(y[:, :2, :, 1], x[:, :2, :, 1]) and torch.equal(y[:, :, 6:], x[:, :, 6:])
    d = (y - x)[:, :2, :6][:, :, :, [0, 2, 3, 4]]
    assert 0.08 < float(d.std()) < 0.12 and abs(float(d.mean())) < 0.02
    assert torch.equal(joint_noise(x, 0.0, coords=2), x)


def test_joint_dropout_marks_whole_joints_missing_at_rate_p():
    import pytest
    import torch

    from skelcon.augment.spatial import joint_dropout
    from skelcon.errors import SkelconError

    x = torch.rand(8, 3, 50, 25, 2) + 0.1  # no zero anywhere
    y = joint_dropout(x, 0.2, torch.Generator().manual_seed(0))
    gone = (y == 0).all(dim=1)  # (N, T, V, M): every channel 0 together
    assert torch.equal((y == 0).any(dim=1), gone)
    assert 0.18 < float(gone.float().mean()) < 0.22
    assert torch.equal(y[~gone.unsqueeze(1).expand_as(y)], x[~gone.unsqueeze(1).expand_as(x)])
    with pytest.raises(SkelconError, match="joint dropout"):
        joint_dropout(x, 1.0)


def test_view_maker_applies_noise_and_dropout_per_view():
    import torch

    from skelcon.augment import ViewMaker

    x = torch.rand(4, 2, 20, 25, 1) + 0.1
    nf = torch.full((4,), 20)
    vm = ViewMaker(
        out_len=20, temporal=False, spatial="none", noise=0.05, joint_drop=0.1, center_ratio=1.0
    )
    g = torch.Generator().manual_seed(0)
    a, b = vm(x, nf, generator=g), vm(x, nf, generator=g)
    assert not torch.equal((a == 0), (b == 0))  # each view its own missing joints
    plain = ViewMaker(out_len=20, temporal=False, spatial="none", center_ratio=1.0)
    assert torch.equal(plain(x, nf), plain(x, nf))
