"""Temporal crop-resize: checked on ramps, where every output value is a frame position."""

from __future__ import annotations

import pytest
import torch

from skelcon.augment import center_crop_resize, temporal_crop_resize
from skelcon.errors import SkelconError

PAD = 1000.0  # value of padding frames; must never appear in an output


def ramp(num_frames: list[int], t: int, v: int = 3, m: int = 2) -> torch.Tensor:
    """x[n, c, t, v, m] = t for valid frames, PAD after; shape (N, 3, T, V, M)."""
    n = len(num_frames)
    x = torch.arange(t, dtype=torch.float32).view(1, 1, t, 1, 1).expand(n, 3, t, v, m).clone()
    for i, nf in enumerate(num_frames):
        x[i, :, nf:] = PAD
    return x


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def positions(out: torch.Tensor) -> torch.Tensor:
    """(N, out_len) frame positions read off a ramp output, checking they agree everywhere."""
    p = out[:, 0, :, 0, 0]
    assert torch.equal(out, p[:, None, :, None, None].expand_as(out))
    return p


def test_random_crop_is_a_linear_resampling_of_a_valid_window():
    nf = [1, 2, 3, 7, 20, 50, 50, 33] * 8
    x = ramp(nf, 50)
    out_len = 16
    out = temporal_crop_resize(x, torch.tensor(nf), out_len=out_len, l_min=0.1, generator=gen())
    assert out.shape == (len(nf), 3, out_len, 3, 2)
    p = positions(out)
    nfv = torch.tensor(nf, dtype=torch.float32)
    assert (p >= 0).all() and (p <= (nfv - 1)[:, None]).all()
    assert (p[:, 1:] >= p[:, :-1]).all()
    first, last = p[:, 0], p[:, -1]
    assert torch.equal(first, first.round()) and torch.equal(last, last.round())
    length = last - first + 1
    assert (length >= 1).all() and (length <= nfv).all()
    # length >= floor(0.1 * n) and interior points are evenly spaced between the ends
    assert (length >= torch.floor(0.1 * nfv)).all()
    i = torch.arange(out_len, dtype=torch.float32)
    expected = first[:, None] + i[None, :] * (length - 1)[:, None] / (out_len - 1)
    torch.testing.assert_close(p, expected)


def test_linear_interpolation_hand_computed():
    # three frames [0, 10, 40] resampled to 5: positions 0, .5, 1, 1.5, 2
    x = torch.tensor([0.0, 10.0, 40.0, PAD]).view(1, 1, 4, 1, 1).expand(1, 3, 4, 1, 1)
    out = temporal_crop_resize(x, torch.tensor([3]), out_len=5, l_min=1.0)
    torch.testing.assert_close(out[0, 0, :, 0, 0], torch.tensor([0.0, 5.0, 10.0, 25.0, 40.0]))


def test_full_ratio_reproduces_the_valid_range_exactly():
    nf = [2, 9, 30, 64, 100]
    x = ramp(nf, 100)
    out = temporal_crop_resize(
        x, torch.tensor(nf), out_len=64, l_min=1.0, l_max=1.0, generator=gen()
    )
    for i, n in enumerate(nf):
        torch.testing.assert_close(positions(out)[i], torch.linspace(0, n - 1, 64))
    # same length in and out: the identity on the valid frames
    out = temporal_crop_resize(x, torch.tensor([64] * 5), out_len=64, l_min=1.0)
    torch.testing.assert_close(out, x[:, :, :64])


def test_min_len_and_cap():
    nf = [100, 10, 25]
    x = ramp(nf, 100, v=1, m=1)
    out = temporal_crop_resize(x, torch.tensor(nf), out_len=8, l_min=0.1, l_max=0.1, min_len=20)
    p = positions(out)
    length = p[:, -1] - p[:, 0] + 1
    assert length.tolist() == [20.0, 10.0, 20.0]


def test_ratio_and_start_distributions():
    n = 3000
    x = ramp([100] * n, 100, v=1, m=1)
    p = positions(
        temporal_crop_resize(x, torch.full((n,), 100), out_len=4, l_min=0.1, generator=gen(1))
    )
    length = p[:, -1] - p[:, 0] + 1
    # floor(U[0.1, 1] * 100): range [10, 100], mean about 54.5
    assert length.min() >= 10 and length.max() <= 100
    assert length.min() <= 12 and length.max() >= 98
    assert 52 < length.mean() < 57
    # fixed length 5 of 10 frames: the 6 starts 0..5 are equally likely
    x = ramp([10] * n, 10, v=1, m=1)
    out = temporal_crop_resize(
        x, torch.full((n,), 10), out_len=5, l_min=0.5, l_max=0.5, generator=gen(2)
    )
    start = positions(out)[:, 0].long()
    freq = torch.bincount(start, minlength=10).float() / n
    assert (freq[6:] == 0).all()
    assert ((freq[:6] - 1 / 6).abs() < 0.04).all()


def test_num_frames_is_clamped_to_1_and_T():
    x = ramp([5, 5], 5, v=1, m=1)
    out = temporal_crop_resize(x, torch.tensor([0, 99]), out_len=6, l_min=1.0)
    p = positions(out)
    assert torch.equal(p[0], torch.zeros(6))
    torch.testing.assert_close(p[1], torch.linspace(0, 4, 6))


def test_out_len_one_and_other_layouts():
    x = torch.randn(3, 3, 12, 20, 1)
    nf = torch.tensor([12, 4, 1])
    out = temporal_crop_resize(x, nf, out_len=1, generator=gen())
    assert out.shape == (3, 3, 1, 20, 1)
    out = temporal_crop_resize(x, nf, out_len=7, generator=gen())
    assert out.shape == (3, 3, 7, 20, 1)
    # the 1-frame sample repeats its only frame
    torch.testing.assert_close(out[2], x[2, :, :1].expand(3, 7, 20, 1))


def test_seeded_generator_is_deterministic():
    x = torch.randn(6, 3, 30, 5, 2)
    nf = torch.tensor([30, 20, 10, 5, 30, 3])
    a = temporal_crop_resize(x, nf, out_len=16, generator=gen(7))
    b = temporal_crop_resize(x, nf, out_len=16, generator=gen(7))
    c = temporal_crop_resize(x, nf, out_len=16, generator=gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_center_crop_is_deterministic_and_centred():
    nf = [100, 10, 1, 7]
    x = ramp(nf, 100, v=2, m=1)
    out = center_crop_resize(x, torch.tensor(nf), out_len=8, ratio=0.95)
    p = positions(out)
    # 100 -> 95 frames from 2; 10 -> 9 frames from 0; 1 -> 1 frame; 7 -> 6 frames from 0
    assert p[:, 0].tolist() == [2.0, 0.0, 0.0, 0.0]
    assert p[:, -1].tolist() == [96.0, 8.0, 0.0, 5.0]
    assert torch.equal(out, center_crop_resize(x, torch.tensor(nf), out_len=8, ratio=0.95))
    half = positions(center_crop_resize(x, torch.tensor(nf), out_len=5, ratio=0.5))
    # 100 -> [25, 74]; 10 -> [2, 6]; 1 -> [0, 0]; 7 -> 3 frames [2, 4]
    assert half[:, 0].tolist() == [25.0, 2.0, 0.0, 2.0]
    assert half[:, -1].tolist() == [74.0, 6.0, 0.0, 4.0]
    # the crop is centred: equal margins (up to one frame) on both sides
    left, right = half[:, 0], torch.tensor(nf) - 1 - half[:, -1]
    assert ((right - left).abs() <= 1).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(l_min=0.0),
        dict(l_min=0.6, l_max=0.5),
        dict(l_max=1.5),
        dict(min_len=0),
        dict(out_len=0),
    ],
)
def test_bad_arguments_raise(kwargs):
    x = torch.zeros(2, 3, 10, 4, 1)
    with pytest.raises(SkelconError):
        temporal_crop_resize(x, torch.tensor([10, 10]), **kwargs)


def test_bad_shapes_raise():
    with pytest.raises(SkelconError, match="num_frames"):
        temporal_crop_resize(torch.zeros(2, 3, 10, 4, 1), torch.tensor([10]))
    with pytest.raises(SkelconError, match=r"\(N, C, T, V, M\)"):
        center_crop_resize(torch.zeros(3, 10, 4, 1), torch.tensor([10, 10, 10]))
    with pytest.raises(SkelconError, match="ratio"):
        center_crop_resize(torch.zeros(1, 3, 10, 4, 1), torch.tensor([10]), ratio=0.0)


def test_center_crop_length_is_the_exact_decimal_floor():
    # floor(ratio * n) of the decimal ratio, for every n up to 1,000 frames (0.95 * 20
    # is 19, not the 18 a float32 0.95 gives)
    from fractions import Fraction

    nf = torch.arange(1, 1001)
    x = ramp(nf.tolist(), 1000, v=1, m=1)
    for ratio in (0.95, 0.5, 0.9, 0.333):
        p = positions(center_crop_resize(x, nf, out_len=2, ratio=ratio))
        length = (p[:, -1] - p[:, 0] + 1).long()
        want = [max(int(Fraction(str(ratio)) * n), 1) for n in nf.tolist()]
        assert length.tolist() == want, ratio
