"""SEQ encoder: joint-major sequence, a real bidirectional GRU, last-step feature.

Parameter counts asserted here (also in the seq.py docstring):
  paper (3 x 1024, bidirectional), NTU 150 inputs: 44,998,656; KINECT20 1 person: 44,445,696
  small (2 x 128, bidirectional),  NTU 150 inputs:    511,488; KINECT20 1 person:    442,368
"""

from __future__ import annotations

import pytest
import torch

from skelcon.encoders import SeqEncoder, build_encoder, to_sequence
from skelcon.errors import SkelconError


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def bigru_params(inputs: int, hidden: int, layers: int) -> int:
    """Hand count: per layer and direction 3 gates x (W_ih, W_hh, b_ih, b_hh)."""
    total, size = 0, inputs
    for _ in range(layers):
        total += 2 * 3 * (hidden * size + hidden * hidden + 2 * hidden)
        size = 2 * hidden
    return total


def test_to_sequence_is_joint_major():
    n, c, t, v, m = 2, 3, 4, 5, 2
    idx = torch.arange(n * c * t * v * m, dtype=torch.float32).reshape(n, c, t, v, m)
    seq = to_sequence(idx)
    assert seq.shape == (n, t, c * v * m)
    for vv in range(v):
        for cc in range(c):
            for mm in range(m):
                k = vv * (c * m) + cc * m + mm
                assert torch.equal(seq[:, :, k], idx[:, cc, :, vv, mm])


@pytest.mark.parametrize(
    ("preset", "v", "m", "expected", "dim"),
    [
        ("paper", 25, 2, 44_998_656, 2048),
        ("paper", 20, 1, 44_445_696, 2048),
        ("small", 25, 2, 511_488, 256),
        ("small", 20, 1, 442_368, 256),
    ],
)
def test_parameter_counts(preset, v, m, expected, dim):
    enc = build_encoder("seq", preset, num_joints=v, num_persons=m)
    assert enc.feature_dim == dim
    assert n_params(enc) == expected
    hidden, layers = (1024, 3) if preset == "paper" else (128, 2)
    assert expected == bigru_params(3 * v * m, hidden, layers)
    if preset == "paper" and v == 25:
        assert 44e6 < expected < 46e6  # ~45 M (the paper's "10M" is not this architecture)


def test_paper_forward_batch1():
    torch.manual_seed(0)
    enc = build_encoder("seq", "paper")
    with torch.no_grad():
        y = enc(torch.randn(1, 3, 64, 25, 2))
    assert y.shape == (1, 2048)
    assert torch.isfinite(y).all()


def test_small_kinect20_one_person():
    enc = build_encoder("seq", "small", num_joints=20, num_persons=1)
    assert enc.gru.input_size == 60
    assert enc(torch.randn(3, 3, 16, 20, 1)).shape == (3, 256)


def _gru_cell_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step from the definition (PyTorch gate order r, z, n)."""
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    ir, iz, inn = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    cand = torch.tanh(inn + r * hn)
    return (1 - z) * cand + z * h


def test_one_layer_feature_matches_definition():
    """Forward half = state after reading frames 0..T-1; backward half = reverse
    direction's output at T-1, i.e. one step from zero on the last frame only."""
    torch.manual_seed(1)
    enc = SeqEncoder(num_joints=4, num_persons=1, hidden_size=5, num_layers=1)
    x = torch.randn(2, 3, 7, 4, 1)
    with torch.no_grad():
        y = enc(x)
        seq = to_sequence(x)
        g = enc.gru
        h = torch.zeros(2, 5)
        for t in range(seq.shape[1]):
            h = _gru_cell_step(
                seq[:, t], h, g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0
            )
        hb = _gru_cell_step(
            seq[:, -1],
            torch.zeros(2, 5),
            g.weight_ih_l0_reverse,
            g.weight_hh_l0_reverse,
            g.bias_ih_l0_reverse,
            g.bias_hh_l0_reverse,
        )
    torch.testing.assert_close(y[:, :5], h, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(y[:, 5:], hb, atol=1e-5, rtol=1e-5)


def test_one_layer_backward_half_ignores_early_frames():
    """A real reverse direction: at the last step it has only read the last frame."""
    torch.manual_seed(2)
    enc = SeqEncoder(num_joints=4, num_persons=1, hidden_size=8, num_layers=1)
    x = torch.randn(2, 3, 10, 4, 1)
    x2 = x.clone()
    x2[:, :, 0] += 1.0
    with torch.no_grad():
        y, y2 = enc(x), enc(x2)
    assert not torch.allclose(y[:, :8], y2[:, :8])
    torch.testing.assert_close(y[:, 8:], y2[:, 8:])


def test_multilayer_both_halves_see_early_frames_and_time_order():
    torch.manual_seed(3)
    enc = build_encoder("seq", "small")
    h = enc.hidden_size
    # Short sequence: at random init a GRU's memory of frame 0 fades within ~60 steps.
    x = torch.randn(2, 3, 12, 25, 2)
    x2 = x.clone()
    x2[:, :, :2] += 0.5
    with torch.no_grad():
        y, y2, yr = enc(x), enc(x2), enc(x.flip(2))
    assert (y[:, :h] - y2[:, :h]).abs().max() > 1e-4
    assert (y[:, h:] - y2[:, h:]).abs().max() > 1e-4
    assert (y - yr).abs().max() > 1e-3


def test_gradients_last_readout():
    """All parameters learn, except the top reverse recurrent weights: at t = T-1 the
    top backward direction is one step from a zero state (documented in SeqEncoder)."""
    torch.manual_seed(4)
    enc = build_encoder("seq", "small", num_joints=20, num_persons=1)
    enc(torch.randn(4, 3, 8, 20, 1)).pow(2).sum().backward()
    dead = f"gru.weight_hh_l{enc.num_layers - 1}_reverse"
    for name, p in enc.named_parameters():
        if name == dead:
            assert p.grad is None or p.grad.abs().sum() == 0
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_ends_readout_definition_and_gradients():
    torch.manual_seed(5)
    enc = build_encoder("seq", "small", num_joints=20, num_persons=1, readout="ends")
    x = torch.randn(4, 3, 8, 20, 1)
    y = enc(x)
    out, _ = enc.gru(to_sequence(x))
    h = enc.hidden_size
    torch.testing.assert_close(y, torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=1))
    y.pow(2).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bad_readout():
    with pytest.raises(SkelconError, match="readout 'mean'.*last, ends"):
        build_encoder("seq", "small", readout="mean")


def test_wrong_input_shape():
    enc = build_encoder("seq", "small")
    with pytest.raises(ValueError, match=r"\(N, 3, T, 25, 2\)"):
        enc(torch.randn(2, 3, 64, 20, 2))


def test_xavier_init_of_every_2d_gru_weight():
    import math

    from skelcon.encoders import build_encoder

    torch.manual_seed(0)
    enc = SeqEncoder(hidden_size=16, num_layers=2, init="xavier")
    for name, p in enc.gru.named_parameters():
        if p.dim() == 2:  # xavier-uniform bound sqrt(6 / (fan_in + fan_out))
            bound = math.sqrt(6 / (p.shape[0] + p.shape[1]))
            assert p.abs().max() <= bound and p.abs().max() > 0.9 * bound, name
        else:  # biases keep PyTorch's U(-1/sqrt(H), 1/sqrt(H))
            assert p.abs().max() <= 1 / math.sqrt(16), name
    default = SeqEncoder(hidden_size=16, num_layers=2)
    assert default.gru.weight_ih_l0.abs().max() <= 1 / math.sqrt(16)
    # the paper preset follows the authors; the small preset keeps PyTorch's default
    assert build_encoder("seq", "paper").init == "xavier"
    assert build_encoder("seq", "small").init == "default"
    with pytest.raises(SkelconError, match="init"):
        SeqEncoder(hidden_size=8, num_layers=1, init="orthogonal")
