"""Mixed precision (bf16, fp16 + loss scaling) and torch.compile: each trains, and one
step matches fp32 within a stated tolerance."""

from __future__ import annotations

import pytest
import torch
from tinydata import TINY_PRETRAIN

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.build import build_moco
from skelcon.engine.precision import Precision, apply_precision, compile_encoders
from skelcon.errors import SkelconError

SPEC = {
    "dataset": "tiny",
    "layout": "ntu25",
    "in_channels": 3,
    "num_joints": 25,
    "num_persons": 2,
    "num_frames": 16,
}
# one step's loss against fp32: bf16 keeps 8 bits of mantissa, fp16 11 (relative)
TOLERANCE = {"fp32": 1e-6, "bf16": 3e-2, "fp16": 5e-3}


def _model(mode: str, compiled: bool = False, reps: str = "seq+stg"):
    cfg = load_config(
        PretrainConfig, None, [*TINY_PRETRAIN, "moco.queue_size=64", f"representations={reps}"]
    )
    cfg.validate()
    torch.manual_seed(0)
    model = build_moco(cfg, SPEC)
    amp = Precision(mode, torch.device("cpu"), emulated=True)  # low precision on any CPU
    apply_precision(model, amp)
    compile_encoders(model, compiled)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
    return model, amp, opt


def _batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 16, 25, 2, generator=g), torch.randn(8, 3, 16, 25, 2, generator=g)


def _train(mode: str, steps: int, compiled: bool = False, reps: str = "seq+stg") -> list[float]:
    model, amp, opt = _model(mode, compiled, reps)
    q, k = _batch()
    losses = []
    for _ in range(steps):
        loss, _ = model(q, k, generator=torch.Generator().manual_seed(0))
        assert loss.dtype == torch.float32  # the loss stays fp32 under autocast
        amp.step(loss, opt)
        losses.append(float(loss.detach()))
    assert all(model.queues[r].keys.dtype == torch.float32 for r in model.representations)
    return losses


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bf16", "fp16"])
def test_mixed_precision_trains_and_matches_fp32(mode):
    ref = _train("fp32", 1)[0]
    losses = _train(mode, 6)
    assert abs(losses[0] - ref) <= TOLERANCE[mode] * abs(ref), (losses[0], ref)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert min(losses[-2:]) < losses[0] - 0.05, losses  # it learns the fixed batch


def test_autocast_really_lowers_precision():
    model, amp, _ = _model("bf16")
    seen = []
    hook = model.query_encoders["stg"].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    q, k = _batch()
    model(q, k)
    hook.remove()
    assert seen == [torch.bfloat16]  # the encoder ran in bf16, the loss in fp32 (above)
    model32, amp32, _ = _model("fp32")
    hook = model32.query_encoders["stg"].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    model32(q, k)
    assert seen[-1] == torch.float32


def test_fp16_scaler_state_is_kept():
    model, amp, opt = _model("fp16")
    q, k = _batch()
    loss, _ = model(q, k)
    amp.step(loss, opt)
    state = amp.state_dict()
    assert state["scale"] > 0
    again = Precision("fp16", torch.device("cpu"), emulated=True)
    again.load_state_dict(state)
    assert again.state_dict()["scale"] == state["scale"]
    assert Precision("bf16", torch.device("cpu")).state_dict() == {}


@pytest.mark.parametrize("native", [True, False])
def test_cpu_without_native_low_precision_runs_fp32_and_says_so(monkeypatch, native):
    """bf16 on an AVX2-only CPU (no native bf16 GEMM) is emulated, 20-40x slower than
    fp32: the encoders run in fp32 there and the run's note says why."""
    from skelcon.engine import precision as module

    monkeypatch.setattr(module, "native_cpu_precision", lambda mode: native)
    amp = Precision("bf16", torch.device("cpu"))
    assert amp.fallback is (not native)
    assert amp.dtype == (torch.bfloat16 if native else None)
    (note,) = amp.notes()
    assert ("run in fp32" in note) is (not native) and note.startswith("precision bf16 on ")
    fp16 = Precision("fp16", torch.device("cpu"))
    assert fp16.scaler.is_enabled() is native  # no loss scaling for an fp32 fallback
    assert Precision("fp32", torch.device("cpu")).notes() == []
    model, _, _ = _model("fp32")
    apply_precision(model, amp)
    seen = []
    hook = model.query_encoders["stg"].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    model(*_batch())
    hook.remove()
    assert seen == [torch.bfloat16 if native else torch.float32]


def test_unknown_precision_is_one_line():
    with pytest.raises(SkelconError, match="precision 'fp8' is not valid"):
        Precision("fp8", torch.device("cpu"))
    with pytest.raises(SkelconError, match="precision"):
        load_config(PretrainConfig, None, ["precision=half"]).validate()


@pytest.mark.slow
def test_compiled_encoders_match_eager():
    """Inductor on CPU (a C++ compiler); the graph encoder alone keeps the test short."""
    eager = _train("fp32", 3, reps="stg")
    compiled = _train("fp32", 3, compiled=True, reps="stg")
    torch.testing.assert_close(torch.tensor(compiled), torch.tensor(eager), rtol=1e-4, atol=1e-5)
    assert len(set(compiled)) == 3  # the weights moved between the steps
    model, _, _ = _model("fp32", compiled=True, reps="stg")
    plain, _, _ = _model("fp32", reps="stg")
    assert model.state_dict().keys() == plain.state_dict().keys()  # checkpoints unchanged
