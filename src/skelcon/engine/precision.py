"""Mixed precision and compilation of the encoders, as one small helper of the loop.

``precision``: ``fp32`` (default), ``bf16`` or ``fp16``. The encoders and projection
heads run under :func:`torch.autocast` (matmuls and convolutions in the low
precision, reductions and normalisations in fp32, as PyTorch's autocast op lists
decide); the InfoNCE loss, the queues and the optimizer stay fp32. ``fp16`` adds a
:class:`torch.amp.GradScaler` (dynamic loss scaling, skipped steps on overflow);
``bf16`` has fp32's range and needs none. On a CPU without native GEMMs of the mode
(bf16 on an AVX2-only x86 CPU, fp16 on most CPUs; :mod:`skelcon.utils.cpu`) the
encoders run in fp32 instead, the fastest path there, and a run says so once. On CUDA, fp32 matmuls and convolutions may
use TF32 (``tf32``, on by default: Ampere and newer, about 10 bits of mantissa in the
products, fp32 accumulation). ``compile`` wraps every encoder in :func:`torch.compile`
in place (``nn.Module.compile``), so checkpoints keep their keys.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import TYPE_CHECKING, Any

import torch

from ..config import PRECISIONS
from ..errors import SkelconError
from ..utils.cpu import native_cpu_precision, precision_note

if TYPE_CHECKING:
    from ..contrast import SkeletonMoCo

# the autocast dtype of each of config.PRECISIONS (None: fp32, no autocast)
DTYPES: dict[str, torch.dtype | None] = dict(
    zip(PRECISIONS, (None, torch.bfloat16, torch.float16), strict=True)
)


class Precision:
    """The autocast context, loss scaling and optimizer step of one precision mode.

    ``mode`` is one of :data:`PRECISIONS` for ``device``; :meth:`autocast` is the
    context the encoders run in, :meth:`step` does ``backward`` and ``opt.step`` (with
    loss scaling for fp16). Raises :class:`SkelconError` for an unknown mode.
    """

    def __init__(
        self, mode: str, device: torch.device, tf32: bool = True, *, emulated: bool = False
    ):
        if mode not in PRECISIONS:
            raise SkelconError(f"precision {mode!r} is not valid (valid: {', '.join(PRECISIONS)})")
        self.mode = mode
        self.device = torch.device(device)
        # On a CPU without native GEMMs of the mode (bf16 on an AVX2-only x86, fp16 on
        # most CPUs) PyTorch emulates it, 20-40x slower than fp32 (docs/scaling.md): the
        # fastest path there is fp32, said once by notes(). ``emulated=True`` keeps the
        # low precision anyway (tests of its numerics).
        self.fallback = (
            self.device.type == "cpu"
            and mode != "fp32"
            and not emulated
            and not native_cpu_precision(mode)
        )
        self.dtype = None if self.fallback else DTYPES[mode]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
            torch.backends.cudnn.allow_tf32 = bool(tf32)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The autocast context of the encoders (a no-op for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def notes(self) -> list[str]:
        """What this mode does on this CPU (native or emulated low precision), said once
        at the start of a run; nothing for fp32 or on other devices."""
        if self.device.type != "cpu" or self.mode == "fp32":
            return []
        return [precision_note(self.mode, self.fallback)]

    def step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """``loss.backward()`` then ``opt.step()``, through the GradScaler for fp16."""
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.step(opt)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The loss scaler's state (empty unless fp16), for checkpoints."""
        return self.scaler.state_dict() if self.scaler.is_enabled() else {}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)


def apply_precision(model: SkeletonMoCo, precision: Precision) -> None:
    """Make ``model`` (a :class:`~skelcon.contrast.SkeletonMoCo`) run its encoders in
    ``precision``."""
    model.autocast = precision.autocast


def compile_encoders(model: SkeletonMoCo, enabled: bool) -> None:
    """``torch.compile`` every query and key encoder of ``model`` in place (keys of
    ``state_dict`` unchanged). Raises :class:`SkelconError` when compilation is not
    possible here (no C++ compiler for the CPU backend)."""
    if not enabled:
        return
    device = next(model.parameters()).device
    if device.type == "cpu" and not (
        shutil.which(os.environ.get("CXX", "g++")) or shutil.which("gcc")
    ):
        raise SkelconError(
            "compile=true on CPU needs a C++ compiler (g++ or $CXX) on PATH; install one "
            "or run with compile=false"
        )
    for group in (model.query_encoders, model.key_encoders):
        for enc in group.values():
            enc.compile()
