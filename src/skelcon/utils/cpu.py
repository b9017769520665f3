"""What this CPU can do, asked once: its model, the vector ISA PyTorch dispatches to, and
whether oneDNN has native bf16 / fp16 GEMMs here.

PyTorch's CPU wheels run on any x86-64 CPU with AVX2 and on aarch64, but some of its
oneDNN entry points (the pre-packed linear that PyTorch's inference freezing uses,
``mkldnn._reorder_linear_weight``) refuse bf16 unless the CPU has AVX-512 BW/VL/DQ or
AVX-NE-CONVERT (x86) or bf16 instructions (aarch64). Every fast path that needs such an
instruction asks :func:`cpu_caps` first and falls back to a plain kernel otherwise.

The answer follows oneDNN's own ``ONEDNN_MAX_CPU_ISA`` environment variable, so
``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`` makes an AVX-512 machine behave as an
AVX2-only one for PyTorch and oneDNN alike (the test suite runs so in CI, see
``.ci/run``).
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class CpuCaps:
    """``model``: the CPU's marketing name; ``isa``: PyTorch's dispatch level (``AVX512``,
    ``AVX2``, ``DEFAULT``, ``SVE256``, ...); ``bf16_gemm`` / ``fp16_gemm``: oneDNN has
    native low-precision GEMMs here (otherwise low precision is emulated and usually
    slower than fp32)."""

    model: str
    isa: str
    bf16_gemm: bool
    fp16_gemm: bool

    def describe(self) -> str:
        """One line for logs, e.g. ``AMD EPYC (x86_64, AVX512, native bf16 GEMM)``."""
        low = [n for n, ok in (("bf16", self.bf16_gemm), ("fp16", self.fp16_gemm)) if ok]
        native = f"native {'/'.join(low)} GEMM" if low else "no native bf16/fp16 GEMM"
        return f"{self.model} ({platform.machine()}, {self.isa}, {native})"


def _model_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")) and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _ask(op: str) -> bool:
    fn = getattr(torch.ops.mkldnn, op, None)
    try:
        return bool(torch.backends.mkldnn.is_available() and fn is not None and fn())  # type: ignore[no-untyped-call]
    except RuntimeError:
        return False


@functools.cache
def cpu_caps() -> CpuCaps:
    """This process's CPU capabilities (computed once)."""
    return CpuCaps(
        model=_model_name(),
        isa=torch.backends.cpu.get_cpu_capability(),
        bf16_gemm=_ask("_is_mkldnn_bf16_supported"),
        fp16_gemm=_ask("_is_mkldnn_fp16_supported"),
    )


def native_cpu_precision(mode: str) -> bool:
    """Whether this CPU has native GEMMs of ``mode`` (``fp32`` always; ``bf16`` / ``fp16``
    as :func:`cpu_caps` says)."""
    caps = cpu_caps()
    return {"fp32": True, "bf16": caps.bf16_gemm, "fp16": caps.fp16_gemm}[mode]


def precision_note(mode: str, fallback: bool) -> str:
    """One log line on what ``mode`` (``bf16`` | ``fp16``) does on this CPU: native
    low-precision GEMMs, or (``fallback``) fp32 because the mode would be emulated."""
    caps = cpu_caps()
    if not fallback:
        native = "native" if native_cpu_precision(mode) else "emulated (slow)"
        return f"precision {mode} on {caps.describe()}: {native} {mode} GEMMs"
    return (
        f"precision {mode} on {caps.describe()}: {mode} would be emulated here, 20-40x "
        f"slower than fp32, so the encoders run in fp32 (the fastest path on this CPU); "
        "set precision=fp32 to say so"
    )
