"""The fast CPU paths of the STG and SEQ encoders against straightforward references.

STG: a reference 2s-AGCN forward written out per subset with ``F.conv2d`` (as in the
2s-AGCN / authors' code) on the encoder's own parameters. SEQ: ``nn.GRU`` itself
(the module the encoder owns). Forward and every gradient must agree within 1e-5 in
fp32 on a tiny input; the state_dict layout is pinned so old checkpoints load.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelcon.data.layouts import NTU25
from skelcon.encoders import StgEncoder, build_encoder, to_sequence
from skelcon.encoders.gru import bigru_forward


def _bn(x: torch.Tensor, bn: torch.nn.Module) -> torch.Tensor:
    return F.batch_norm(x, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)


def _ref_gcn(m, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    n, c, t, v = x.shape
    s, ci = m.num_subsets, m.inter_channels
    emb = F.conv2d(x, m.embed.weight, m.embed.bias)  # theta of subsets 0..S-1, then phi
    y = m.mix.bias.view(1, -1, 1, 1)
    for k in range(s):
        theta = emb[:, k * ci : (k + 1) * ci].permute(0, 3, 1, 2).reshape(n, v, ci * t)
        phi = emb[:, (s + k) * ci : (s + k + 1) * ci].reshape(n, ci * t, v)
        graph = torch.softmax(theta @ phi / (ci * t), dim=-2) + adjacency[k] + m.offset[k]
        agg = (x.reshape(n, c * t, v) @ graph).view(n, c, t, v)
        y = y + F.conv2d(agg, m.mix.weight[:, k * c : (k + 1) * c])
    y = _bn(y, m.bn)
    down = x if isinstance(m.down, torch.nn.Identity) else _bn(m.down[0](x), m.down[1])
    return F.relu(y + down)


def _ref_tcn(tc, x: torch.Tensor) -> torch.Tensor:
    conv = tc.conv
    return _bn(F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding), tc.bn)


def _ref_stg(enc: StgEncoder, x: torch.Tensor) -> torch.Tensor:
    n, c, t, v, m = x.shape
    h = _bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t), enc.data_bn)
    h = h.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
    for block in enc.blocks:
        y = _ref_tcn(block.tcn, _ref_gcn(block.gcn, h, enc.adjacency))
        if block.residual is not None:
            y = y + (
                h if isinstance(block.residual, torch.nn.Identity) else _ref_tcn(block.residual, h)
            )
        h = F.relu(y)
    return h.reshape(n, m, enc.feature_dim, -1).mean(dim=(1, 3))


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Non-trivial values everywhere (BN scales 1e-6 and offsets 1e-6 hide errors)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3 + (1.0 if "bn" in name else 0.0))


def _grads(out: torch.Tensor, inputs: list[torch.Tensor], seed: int) -> list[torch.Tensor]:
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    return list(torch.autograd.grad((out * w).sum(), inputs))


def test_stg_matches_reference_forward_and_gradients():
    torch.manual_seed(0)
    enc = StgEncoder(num_frames=12, layout=NTU25, channels=[8, 8, 16, 16], strides=[1, 2, 1, 2])
    _randomise(enc, 1)
    x = torch.randn(2, 3, 12, 25, 2, requires_grad=True)
    params = list(enc.parameters())
    fast, ref = enc(x), _ref_stg(enc, x)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(_grads(fast, [x, *params], 2), _grads(ref, [x, *params], 2), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_stg_state_dict_layout_is_unchanged():
    """The keys and shapes of a block, as checkpoints written before the fast path have them."""
    enc = StgEncoder(num_frames=8, layout=NTU25, channels=[8, 16], strides=[1, 2])
    shapes = {k: tuple(v.shape) for k, v in enc.state_dict().items() if k.startswith("blocks.1.")}
    expected = {
        "gcn.offset": (3, 25, 25),
        "gcn.embed.weight": (24, 8, 1, 1),
        "gcn.embed.bias": (24,),
        "gcn.mix.weight": (16, 24, 1, 1),
        "gcn.mix.bias": (16,),
        "gcn.down.0.weight": (16, 8, 1, 1),
        "gcn.down.0.bias": (16,),
        "tcn.conv.weight": (16, 16, 9, 1),
        "tcn.conv.bias": (16,),
        "residual.conv.weight": (16, 8, 1, 1),
        "residual.conv.bias": (16,),
    }
    for key, shape in expected.items():
        assert shapes.pop(f"blocks.1.{key}") == shape, key
    bn = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    for prefix in ("gcn.bn", "gcn.down.1", "tcn.bn", "residual.bn"):
        for name in bn:
            shapes.pop(f"blocks.1.{prefix}.{name}")
    assert not shapes  # nothing else


@pytest.mark.parametrize("readout", ["last", "ends"])
def test_seq_matches_nn_gru_forward_and_gradients(readout):
    torch.manual_seed(3)
    enc = build_encoder(
        "seq", "small", num_joints=20, num_persons=1, readout=readout, hidden_size=16, num_layers=3
    )
    x = torch.randn(3, 3, 10, 20, 1, requires_grad=True)
    out, h_n = enc.gru(to_sequence(x))  # the reference: nn.GRU on the same parameters
    h = enc.hidden_size
    ref = out[:, -1] if readout == "last" else torch.cat([h_n[-2], h_n[-1]], dim=1)
    fast = enc(x)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    params = list(enc.parameters())
    g_fast = _grads(fast, [x, *params], 4)
    g_ref = _grads(ref, [x, *params], 4)
    for a, b in zip(g_fast, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert fast.shape == (3, 2 * h)


def test_seq_top_reverse_weights_get_a_zero_gradient_as_with_nn_gru():
    """The last-step readout skips the top reverse recurrence, but its recurrent weights
    still get a (zero) gradient, so SGD's weight decay treats them as nn.GRU's do."""
    enc = build_encoder("seq", "small", num_joints=20, num_persons=1)
    enc(torch.randn(2, 3, 6, 20, 1)).sum().backward()
    grad = enc.gru.weight_hh_l1_reverse.grad
    assert grad is not None and torch.count_nonzero(grad) == 0
    assert torch.count_nonzero(enc.gru.weight_hh_l0_reverse.grad) > 0


def test_bigru_no_grad_and_bf16_autocast():
    torch.manual_seed(5)
    gru = torch.nn.GRU(6, 8, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 7, 6)
    with torch.no_grad():
        ref = gru(x)[0]
        torch.testing.assert_close(bigru_forward(x, gru, "all"), ref, atol=1e-5, rtol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = bigru_forward(x, gru, "last")
    assert low.dtype == torch.float32  # state and output stay fp32; matmuls were bf16
    assert 0 < (low - ref[:, -1]).abs().max() < 0.05
    low.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gru.parameters())


def test_bigru_rejects_unsupported_modules():
    with pytest.raises(ValueError, match="bidirectional batch_first"):
        bigru_forward(torch.randn(1, 2, 3), torch.nn.GRU(3, 4, batch_first=True))


def test_packed_and_plain_step_gemms_agree(monkeypatch):
    """The oneDNN pre-packed per-step GEMM (CPU) and the plain batched GEMM it replaces."""
    from skelcon.encoders import gru as gru_module

    torch.manual_seed(6)
    gru = torch.nn.GRU(5, 12, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(4, 6, 5)
    packed = bigru_forward(x, gru, "last")
    g_packed = _grads(packed, list(gru.parameters()), 7)
    monkeypatch.setattr(gru_module, "_packed_gemm_available", lambda dtype=None: False)
    plain = bigru_forward(x, gru, "last")
    torch.testing.assert_close(packed, plain, atol=1e-5, rtol=1e-5)
    for a, b in zip(g_packed, _grads(plain, list(gru.parameters()), 7), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_compiled_seq_encoder_runs_the_recurrence_eagerly():
    """torch.compile of a SEQ encoder (``--set compile=true``) breaks the graph at the
    recurrence (pre-packed oneDNN weights) instead of failing, and matches eager."""
    torch.manual_seed(8)
    enc = build_encoder("seq", "small", num_joints=20, num_persons=1, hidden_size=8)
    x = torch.randn(2, 3, 5, 20, 1)
    eager = enc(x)
    enc.compile()
    compiled = enc(x)
    torch.testing.assert_close(compiled, eager, atol=1e-6, rtol=1e-6)
    compiled.sum().backward()
    assert enc.gru.weight_ih_l0.grad is not None
