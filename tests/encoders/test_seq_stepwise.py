"""The SEQ encoder's stepwise recurrence (``seq.recurrence: stepwise``, the authors' GRU).

References: a loop over ``nn.GRUCell``s with the GRU's weights, written from the
definition (in every layer both directions read frames 0..T-1 from the zero state, on
the concatenated outputs of the layer below), and the GRU called on one frame at a time
with its hidden state carried over, as the authors' code calls it.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from skelcon.config import PretrainConfig, load_config
from skelcon.encoders import build_encoder, to_sequence
from skelcon.encoders.gru import stepwise_forward, stepwise_fused
from skelcon.engine.build import DataSpec, build_encoders
from skelcon.errors import SkelconError


def cell_loop(gru: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """``x: (N, T, F)`` -> ``(N, T, 2H)`` with one ``GRUCell`` per layer and direction."""
    n, t, _ = x.shape
    inp = x
    for layer in range(gru.num_layers):
        halves = []
        for s in ("", "_reverse"):
            cell = nn.GRUCell(inp.shape[-1], gru.hidden_size).to(x.dtype)
            cell.weight_ih = getattr(gru, f"weight_ih_l{layer}{s}")
            cell.weight_hh = getattr(gru, f"weight_hh_l{layer}{s}")
            cell.bias_ih = getattr(gru, f"bias_ih_l{layer}{s}")
            cell.bias_hh = getattr(gru, f"bias_hh_l{layer}{s}")
            h = x.new_zeros(n, gru.hidden_size)
            steps = []
            for i in range(t):  # forwards, for both directions
                h = cell(inp[:, i], h)
                steps.append(h)
            halves.append(torch.stack(steps, 1))
        inp = torch.cat(halves, -1)
    return inp


def frame_per_call(gru: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """The GRU fed one frame per call, its state carried over: ``(N, T, 2H)``."""
    out, h = gru(x[:, :1])
    outs = [out]
    for i in range(1, x.shape[1]):
        out, h = gru(x[:, i : i + 1], h)
        outs.append(out)
    return torch.cat(outs, 1)


def _gru(layers: int = 3, hidden: int = 8, inputs: int = 6) -> nn.GRU:
    torch.manual_seed(0)
    return nn.GRU(inputs, hidden, layers, bidirectional=True, batch_first=True).double()


def test_stepwise_matches_a_cell_loop_and_frame_per_call():
    gru = _gru()
    x = torch.randn(3, 7, 6, dtype=torch.float64)
    with torch.no_grad():
        ref = cell_loop(gru, x)
        assert torch.allclose(frame_per_call(gru, x), ref, atol=1e-12)
        assert torch.allclose(stepwise_forward(x, gru), ref, atol=1e-12)
        assert torch.allclose(stepwise_fused(x, gru), ref, atol=1e-12)
        # the bidirectional GRU on the same weights computes something else
        assert (gru(x)[0] - ref).abs().max() > 1e-3


def test_stepwise_gradients_match_autograd_of_the_reference():
    gru = _gru(layers=2)
    x = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 5, 16, dtype=torch.float64)
    (stepwise_forward(x, gru) * w).sum().backward()
    ours = [x.grad.clone()] + [p.grad.clone() for p in gru.parameters()]
    x.grad = None
    gru.zero_grad()
    (cell_loop(gru, x) * w).sum().backward()
    ref = [x.grad] + [p.grad for p in gru.parameters()]
    for a, b in zip(ours, ref, strict=True):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")
def test_encoder_option_is_the_authors_model():
    torch.manual_seed(1)
    enc = build_encoder("seq", "small", recurrence="stepwise").double()
    x = torch.randn(2, 3, 9, 25, 2, dtype=torch.float64)
    with torch.no_grad():
        ref = frame_per_call(enc.gru, to_sequence(x))[:, -1]
        assert torch.allclose(enc(x), ref, atol=1e-12)
        traced = torch.jit.trace(enc, x, check_trace=False)  # the fused path, as exported
        assert torch.allclose(traced(x), ref, atol=1e-12)
    default = build_encoder("seq", "small")
    assert default.recurrence == "bidirectional"  # skelcon's default is unchanged


def test_bad_recurrences_are_one_line():
    with pytest.raises(SkelconError, match="unknown seq encoder recurrence 'backwards'"):
        build_encoder("seq", "small", recurrence="backwards")
    with pytest.raises(SkelconError, match="readout 'ends' needs the bidirectional"):
        build_encoder("seq", "small", recurrence="stepwise", readout="ends")
    with pytest.raises(SkelconError, match="seq.recurrence"):
        load_config(PretrainConfig, None, ["seq.recurrence=sideways"]).validate()


def test_config_reaches_the_encoder_and_the_checkpoint_spec():
    cfg = load_config(PretrainConfig, None, ["seq.recurrence=stepwise", "preset=small"])
    cfg.validate()
    meta = {"shape": [4, 3, 30, 25, 2], "layout": "ntu25", "dataset": "tiny"}
    spec = DataSpec.from_meta(meta, 16, cfg.seq_init, cfg.stream, cfg.seq.recurrence)
    assert spec.to_dict()["seq_recurrence"] == "stepwise"
    assert DataSpec.from_dict(spec.to_dict()) == spec
    assert build_encoders(["seq"], "small", spec.to_dict())["seq"].recurrence == "stepwise"
    plain = DataSpec.from_meta(meta, 16)
    assert "seq_recurrence" not in plain.to_dict()  # older checkpoints' specs are unchanged
