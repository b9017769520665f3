"""STG encoder (2s-AGCN joint stream): adjacency buffer, adaptive graph conv, pooling.

Parameter counts asserted here (also in the stg.py docstring):
  paper (64x4, 128x3, 256x3; stride 2 at blocks 5, 8): NTU25/M=2 3,451,274; KINECT20/M=1 3,444,344
  small (32, 64, 128; strides 4, 2, 1):              NTU25/M=2   269,477; KINECT20/M=1   267,272
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelcon.data.layouts import KINECT20, NTU25
from skelcon.encoders import AdaptiveGraphConv, StgEncoder, build_encoder
from skelcon.encoders.stg import _TemporalConv
from skelcon.errors import SkelconError


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    ("preset", "layout", "m", "expected", "dim"),
    [
        ("paper", NTU25, 2, 3_451_274, 256),
        ("paper", KINECT20, 1, 3_444_344, 256),
        ("small", NTU25, 2, 269_477, 128),
        ("small", KINECT20, 1, 267_272, 128),
    ],
)
def test_parameter_counts_and_shapes(preset, layout, m, expected, dim):
    torch.manual_seed(0)
    v = layout.num_joints
    enc = build_encoder("stg", preset, num_joints=v, num_persons=m, layout=layout).eval()
    assert n_params(enc) == expected
    assert enc.feature_dim == dim
    with torch.no_grad():
        assert enc(torch.randn(2, 3, 32, v, m)).shape == (2, dim)
    if preset == "paper":
        assert 3.0e6 < expected < 3.8e6


def test_paper_block_structure():
    enc = build_encoder("stg", "paper", layout=NTU25)
    assert [b.tcn.conv.out_channels for b in enc.blocks] == [64] * 4 + [128] * 3 + [256] * 3
    assert [b.tcn.conv.stride[0] for b in enc.blocks] == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    assert enc.blocks[0].residual is None  # first block: no residual
    assert isinstance(enc.blocks[1].residual, torch.nn.Identity)
    assert isinstance(enc.blocks[4].residual, _TemporalConv)
    assert enc.blocks[4].residual.conv.stride == (2, 1)
    assert enc.blocks[0].tcn.conv.kernel_size == (9, 1)
    assert enc.data_bn.num_features == 2 * 25 * 3
    assert enc.blocks[0].gcn.inter_channels == 16  # out / 4


def test_adjacency_is_a_buffer_that_moves():
    enc = build_encoder("stg", "small", num_joints=20, num_persons=1, layout=KINECT20)
    np.testing.assert_array_equal(enc.adjacency.numpy(), KINECT20.adjacency())
    assert "adjacency" in dict(enc.named_buffers())
    assert "adjacency" in enc.state_dict()
    assert all(p is not enc.adjacency for p in enc.parameters())
    enc64 = enc.to(torch.float64)
    assert enc64.adjacency.dtype == torch.float64
    meta = build_encoder("stg", "small", layout=NTU25).to("meta")
    assert meta.adjacency.device.type == "meta"


def test_layout_required_and_must_match():
    with pytest.raises(SkelconError, match="needs a joint layout"):
        build_encoder("stg", "small")
    with pytest.raises(SkelconError, match="kinect20.*20 joints.*num_joints=25"):
        build_encoder("stg", "small", num_joints=25, layout=KINECT20)
    with pytest.raises(SkelconError, match="one stride per block"):
        build_encoder("stg", "small", layout=NTU25, channels=[8, 16], strides=[1])


def test_graph_conv_matches_per_subset_definition():
    """sum_k W_k (x @ (A_k + B_k + C_k(x))) + bias, then BN, + down(x), ReLU."""
    torch.manual_seed(1)
    a = torch.from_numpy(NTU25.adjacency())
    gcn = AdaptiveGraphConv(6, 8, 25).eval()
    with torch.no_grad():
        gcn.offset.normal_(0, 0.1)
        gcn.bn.weight.fill_(1.0)
    x = torch.randn(3, 6, 10, 25)
    p, c, t, v = x.shape
    ci = gcn.inter_channels
    with torch.no_grad():
        y = gcn(x, a)
        w_e, b_e = gcn.embed.weight[:, :, 0, 0], gcn.embed.bias
        w_d = gcn.mix.weight[:, :, 0, 0]
        z = gcn.mix.bias.view(1, -1, 1, 1).expand(p, -1, t, v).clone()
        for k in range(3):
            th = torch.einsum("oc,pctv->potv", w_e[k * ci : (k + 1) * ci], x)
            th = th + b_e[k * ci : (k + 1) * ci].view(1, -1, 1, 1)
            lo = (3 + k) * ci
            ph = torch.einsum("oc,pctv->potv", w_e[lo : lo + ci], x)
            ph = ph + b_e[lo : lo + ci].view(1, -1, 1, 1)
            # scores[v, w] = sum_{c,t} theta[c,t,v] phi[c,t,w] / (ci*T), softmax over v
            scores = torch.einsum("pctv,pctw->pvw", th, ph) / (ci * t)
            g = torch.softmax(scores, dim=1) + a[k] + gcn.offset[k]
            agg = torch.einsum("pctv,pvw->pctw", x, g)
            z = z + torch.einsum("oc,pctw->potw", w_d[:, k * c : (k + 1) * c], agg)
        expected = torch.relu(gcn.bn(z) + gcn.down(x))
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-4)


def test_attention_is_normalised_over_source_joints():
    torch.manual_seed(2)
    a = torch.from_numpy(KINECT20.adjacency())
    gcn = AdaptiveGraphConv(3, 16, 20)
    with torch.no_grad():
        g = gcn.graphs(torch.randn(2, 3, 12, 20), a)
        att = g - a - gcn.offset
    assert g.shape == (2, 3, 20, 20)
    assert (att >= 0).all()
    torch.testing.assert_close(att.sum(dim=-2), torch.ones(2, 3, 20))


def test_invariant_to_person_order_at_init():
    """Mean over persons; the data BatchNorm is per person slot, so exact invariance
    holds while its statistics and affine weights are equal across slots (at init)."""
    torch.manual_seed(3)
    enc = build_encoder("stg", "small", layout=NTU25)
    x = torch.randn(3, 3, 16, 25, 2)
    with torch.no_grad():
        enc.eval()
        torch.testing.assert_close(enc(x.flip(-1)), enc(x), atol=1e-5, rtol=1e-5)
        enc.train()  # batch statistics per slot: swapping persons in the whole batch
        torch.testing.assert_close(enc(x.flip(-1)), enc(x), atol=1e-5, rtol=1e-5)


def test_mean_over_time_joints_persons():
    """The feature is the mean of the last block's output over persons, time and joints."""
    torch.manual_seed(4)
    enc = build_encoder("stg", "small", layout=NTU25).eval()
    x = torch.randn(2, 3, 40, 25, 2)
    captured = {}
    enc.blocks[-1].register_forward_hook(lambda mod, inp, out: captured.update(out=out))
    with torch.no_grad():
        y = enc(x)
    out = captured["out"]  # (N*M, C, T', V)
    assert out.shape == (4, 128, 5, 25)  # 40 -> 20 -> 20 -> 10 -> 5
    torch.testing.assert_close(y, out.view(2, 2, 128, 5, 25).mean(dim=(1, 3, 4)))


def test_any_number_of_frames():
    enc = build_encoder("stg", "small", layout=NTU25).eval()
    with torch.no_grad():
        assert enc(torch.randn(1, 3, 37, 25, 2)).shape == (1, 128)


def test_gradients_reach_all_parameters():
    torch.manual_seed(5)
    enc = StgEncoder(
        num_joints=20, num_persons=1, layout=KINECT20, channels=[8, 8, 16], strides=[1, 1, 2]
    )
    enc(torch.randn(3, 3, 12, 20, 1)).pow(2).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
