"""CPU capabilities: every precision mode runs where oneDNN has no native bf16 GEMMs
(x86-64 with AVX2 only), simulated in-process by forcing the check false and in a
subprocess by capping oneDNN's and PyTorch's ISA (``ONEDNN_MAX_CPU_ISA=AVX2``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import torch

from skelcon.encoders import gru as gru_module
from skelcon.encoders.gru import bigru_forward
from skelcon.utils import cpu

AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def test_caps_describe_this_cpu():
    caps = cpu.cpu_caps()
    assert caps.isa and caps.model
    assert caps.describe().startswith(caps.model)
    assert cpu.native_cpu_precision("fp32")
    assert cpu.native_cpu_precision("bf16") == caps.bf16_gemm
    assert "fp32" in cpu.precision_note("bf16", fallback=True)


def test_bf16_gru_without_native_bf16_takes_the_plain_path(monkeypatch):
    """With the capability forced off, the bf16 BiGRU never asks oneDNN for a bf16 pack,
    and still matches fp32 nn.GRU within bf16's precision (forward and gradients)."""
    monkeypatch.setattr(gru_module, "cpu_caps", lambda: cpu.CpuCaps("x", "AVX2", False, False))
    assert not gru_module._packed_gemm_available(torch.bfloat16)
    assert gru_module._packed_gemm_available(torch.float32) == gru_module._packed_gemm_available()
    packs: list[bool] = []
    monkeypatch.setattr(gru_module._StepGemm, "__init__", _spy_init(packs))
    torch.manual_seed(3)
    gru = torch.nn.GRU(6, 16, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 9, 6)
    ref = gru(x)[0][:, -1]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = bigru_forward(x, gru, "last")
    assert packs and not any(p for p in packs), "a bf16 step GEMM was pre-packed"
    assert 0 < (low - ref).abs().max() < 0.05
    low.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in gru.parameters())


def _spy_init(record: list):
    orig = gru_module._StepGemm.__init__

    def init(self, w, b, batch, dtype, out_dtype):
        orig(self, w, b, batch, dtype, out_dtype)
        record.append(self.packed is not None and dtype == torch.bfloat16)

    return init


def test_bf16_training_step_on_a_simulated_avx2_cpu():
    """A real AVX2-only oneDNN (ISA capped in a fresh process): the capability check says
    no, and a bf16 SEQ+STG step of the model runs and stays close to fp32."""
    code = textwrap.dedent("""
        import torch
        from skelcon.utils.cpu import cpu_caps
        from skelcon.encoders.registry import build_encoder
        assert not cpu_caps().bf16_gemm, cpu_caps()
        torch.manual_seed(0)
        enc = build_encoder("seq", "small", num_joints=25, num_persons=2)
        x = torch.randn(4, 3, 12, 25, 2)
        ref = enc(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = enc(x)
        low.float().sum().backward()
        err = (low.float() - ref).abs().max().item()
        assert 0 < err < 0.1, err
        print("ok", cpu_caps().isa, err)
    """)
    env = {**os.environ, **AVX2_ONLY}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok AVX2"), out.stdout
