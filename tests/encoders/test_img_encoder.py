"""IMG encoder (HCN): motion stream input, feature size, person max, reference loop.

Parameter counts asserted here (also in the img.py docstring):
  paper (out 64, conv2 64): V=25 519,424; V=20 516,544; feature 4096 at T=64
  small (out 16, conv2 32): V=25  36,960; V=20  36,240; feature  512 at T=64
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelcon.encoders import ImgEncoder, build_encoder, frame_motion
from skelcon.errors import SkelconError


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def conv(cin: int, cout: int, kh: int, kw: int) -> int:
    return cin * cout * kh * kw + cout


def hcn_params(c_in: int, v: int, c: int, c2: int) -> int:
    """Hand count of the authors' HCN without its fc."""
    stream = conv(c_in, c, 1, 1) + conv(c, c2, 3, 1) + conv(v, c // 2, 3, 3) + conv(c // 2, c, 3, 3)
    return 2 * stream + conv(2 * c, 2 * c, 3, 3) + conv(2 * c, 4 * c, 3, 3)


def test_frame_motion_known_answers():
    t = torch.arange(10, dtype=torch.float32)
    vel = torch.randn(2, 3, 1, 4, 2)
    x = 5.0 + vel * t.view(1, 1, 10, 1, 1)  # constant velocity
    mo = frame_motion(x)
    assert mo.shape == x.shape
    torch.testing.assert_close(mo, vel.expand_as(x))
    static = torch.randn(1, 3, 1, 5, 1).expand(1, 3, 8, 5, 1)
    assert torch.equal(frame_motion(static), torch.zeros(1, 3, 8, 5, 1))


def test_frame_motion_interpolates_along_time_only():
    x = torch.randn(2, 3, 7, 4, 2)
    diff = x[:, :, 1:] - x[:, :, :-1]  # (N, C, 6, V, M)
    mo = frame_motion(x)
    # linear resize 6 -> 7, align_corners=False: output i samples at (i + 0.5) * 6/7 - 0.5
    for i in range(7):
        s = min(max((i + 0.5) * 6 / 7 - 0.5, 0.0), 5.0)
        lo = int(s)
        hi = min(lo + 1, 5)
        w = s - lo
        expected = (1 - w) * diff[:, :, lo] + w * diff[:, :, hi]
        torch.testing.assert_close(mo[:, :, i], expected)


@pytest.mark.parametrize(
    ("preset", "v", "m", "expected", "dim"),
    [
        ("paper", 25, 2, 519_424, 4096),
        ("paper", 20, 1, 516_544, 4096),
        ("small", 25, 2, 36_960, 512),
        ("small", 20, 1, 36_240, 512),
    ],
)
def test_parameter_counts_and_shapes(preset, v, m, expected, dim):
    torch.manual_seed(0)
    enc = build_encoder("img", preset, num_joints=v, num_persons=m).eval()
    c, c2 = (64, 64) if preset == "paper" else (16, 32)
    assert n_params(enc) == expected == hcn_params(3, v, c, c2)
    assert enc.feature_dim == dim
    with torch.no_grad():
        assert enc(torch.randn(2, 3, 64, v, m)).shape == (2, dim)
    if preset == "paper":
        assert 0.4e6 < expected < 1.5e6  # paper rounds to "1.0M"; see img.py docstring


def test_feature_dim_follows_num_frames():
    enc = build_encoder("img", "paper", num_frames=50).eval()
    assert enc.feature_dim == 256 * (50 // 16) * (64 // 16) == 3072
    with torch.no_grad():
        assert enc(torch.randn(1, 3, 50, 25, 2)).shape == (1, 3072)
    with pytest.raises(ValueError, match=r"\(N, 3, 50, 25, 2\)"):
        enc(torch.randn(1, 3, 64, 25, 2))


def test_too_few_frames():
    with pytest.raises(SkelconError, match="num_frames >= 16"):
        build_encoder("img", "small", num_frames=8)


def _reference_hcn(enc: ImgEncoder, x: torch.Tensor) -> torch.Tensor:
    """The authors' HCN forward (one person at a time, bilinear motion resize), eval mode."""
    n, c, t, v, m = x.shape
    mo = x[:, :, 1:] - x[:, :, :-1]
    mo = mo.permute(0, 1, 4, 2, 3).reshape(n, c * m, t - 1, v)
    mo = F.interpolate(mo, size=(t, v), mode="bilinear", align_corners=False)
    mo = mo.reshape(n, c, m, t, v).permute(0, 1, 3, 4, 2)

    def stream(s, a):
        a = s.conv2(F.relu(s.conv1(a))).permute(0, 3, 2, 1)
        return F.max_pool2d(s.conv4(F.max_pool2d(s.conv3(a), 2)), 2)

    outs = []
    for i in range(m):
        a = torch.cat([stream(enc.position, x[..., i]), stream(enc.motion, mo[..., i])], 1)
        a = F.max_pool2d(F.relu(enc.conv5(a)), 2)
        outs.append(F.max_pool2d(F.relu(enc.conv6(a)), 2))
    return torch.stack(outs).amax(0).reshape(n, -1)


def test_matches_reference_per_person_loop():
    torch.manual_seed(1)
    enc = build_encoder("img", "small").eval()
    x = torch.randn(3, 3, 64, 25, 2)
    with torch.no_grad():
        torch.testing.assert_close(enc(x), _reference_hcn(enc, x), atol=1e-5, rtol=1e-5)


def test_invariant_to_person_order():
    torch.manual_seed(2)
    enc = build_encoder("img", "small").eval()
    x = torch.randn(2, 3, 64, 25, 2)
    with torch.no_grad():
        y = enc(x)
        torch.testing.assert_close(enc(x.flip(-1)), y, atol=1e-6, rtol=1e-6)
        # each person alone matters: changing person 1 changes the feature
        x2 = x.clone()
        x2[..., 1] *= 3.0
        assert (enc(x2) - y).abs().max() > 1e-4


def test_gradients_reach_all_parameters():
    torch.manual_seed(3)
    enc = build_encoder("img", "small", num_joints=20, num_persons=1, dropout=0.0)
    enc(torch.randn(4, 3, 64, 20, 1)).pow(2).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_dropout_only_in_training():
    torch.manual_seed(4)
    enc = build_encoder("img", "small")
    x = torch.randn(2, 3, 64, 25, 2)
    enc.train()
    assert not torch.equal(enc(x), enc(x))
    enc.eval()
    assert torch.equal(enc(x), enc(x))
