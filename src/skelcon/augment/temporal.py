"""Temporal crop-resize (paper Section 3.1.2).

A crop of the valid frames of each sample is resampled to a fixed number of frames
with linear interpolation; the first and last output frames are exactly the first
and last frames of the crop. Everything is batched: one ``(N, out_len)`` grid of
frame indices and weights, one gather along the time axis.
"""

from __future__ import annotations

from fractions import Fraction

import torch

from ..errors import SkelconError

__all__ = ["CENTER_CROP_RATIO", "center_crop_resize", "crop_lengths", "temporal_crop_resize"]

# the evaluation input: the centre crop of this share of the valid frames
CENTER_CROP_RATIO = 0.95


def _check_input(x: torch.Tensor, num_frames: torch.Tensor | list[int]) -> torch.Tensor:
    """Validate ``x: (N, C, T, V, M)``; return ``num_frames`` as ``(N,)`` int64 in ``[1, T]``."""
    if x.dim() != 5:
        raise SkelconError(f"expected a skeleton batch (N, C, T, V, M), got shape {tuple(x.shape)}")
    n, t = x.shape[0], x.shape[2]
    if t < 1:
        raise SkelconError(f"skeleton batch has no frames (shape {tuple(x.shape)})")
    nf = torch.as_tensor(num_frames, device=x.device).long().reshape(-1)
    if nf.numel() != n:
        raise SkelconError(f"num_frames has {nf.numel()} entries for a batch of {n} samples")
    return nf.clamp(1, t)


def _check_out_len(out_len: int) -> None:
    if int(out_len) < 1:
        raise SkelconError(f"out_len={out_len} must be >= 1")


def _resample(
    x: torch.Tensor, start: torch.Tensor, length: torch.Tensor, out_len: int
) -> torch.Tensor:
    """Resample frames ``[start, start + length)`` of each sample to ``out_len`` frames.

    x: (N, C, T, V, M); start, length: (N,) int64 with ``length >= 1`` and
    ``start + length <= T``. Output frame ``i`` sits at crop position
    ``i * (length - 1) / (out_len - 1)``, computed in exact integer arithmetic so
    both end frames are reproduced exactly. Returns (N, C, out_len, V, M).
    """
    n, c, _, v, m = x.shape
    denom = max(out_len - 1, 1)
    i = torch.arange(out_len, device=x.device, dtype=torch.long)
    num = i[None, :] * (length[:, None] - 1)  # (N, out_len)
    lo = start[:, None] + torch.div(num, denom, rounding_mode="floor")
    last = (start + length - 1)[:, None]
    hi = torch.minimum(lo + 1, last)
    w = (num % denom).to(x.dtype) / denom  # (N, out_len) in [0, 1)

    def take(idx: torch.Tensor) -> torch.Tensor:
        idx = idx[:, None, :, None, None].expand(n, c, out_len, v, m)
        return torch.gather(x, 2, idx)

    return torch.lerp(take(lo), take(hi), w[:, None, :, None, None])


def crop_lengths(num_frames: torch.Tensor, ratio: torch.Tensor, min_len: int = 1) -> torch.Tensor:
    """Crop length ``min(max(floor(ratio * n), min_len), n)``; all (N,) tensors, int64 result."""
    raw = torch.floor(ratio * num_frames.to(ratio.dtype)).long()
    return torch.minimum(raw.clamp(min=max(int(min_len), 1)), num_frames)


def temporal_crop_resize(
    x: torch.Tensor,
    num_frames: torch.Tensor,
    out_len: int = 64,
    l_min: float = 0.1,
    l_max: float = 1.0,
    min_len: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop of the valid frames, resized to ``out_len`` frames.

    x: (N, C, T, V, M); num_frames: (N,) int64 valid frame counts (clamped to
    ``[1, T]``). Per sample ``ratio ~ U[l_min, l_max]``, crop length
    ``max(floor(ratio * n_valid), min_len)`` capped at ``n_valid``, start uniform in
    ``[0, n_valid - length]``. Returns (N, C, out_len, V, M).
    """
    _check_out_len(out_len)
    if not 0.0 < l_min <= l_max <= 1.0:
        raise SkelconError(
            f"crop ratio range [l_min={l_min}, l_max={l_max}] must satisfy 0 < l_min <= l_max <= 1"
        )
    if int(min_len) < 1:
        raise SkelconError(f"min_len={min_len} must be >= 1")
    nf = _check_input(x, num_frames)
    n = x.shape[0]
    u = torch.rand(2, n, generator=generator, device=x.device)
    ratio = l_min + (l_max - l_min) * u[0]
    length = crop_lengths(nf, ratio, min_len)
    slack = nf - length  # start in [0, slack]
    start = torch.floor(u[1] * (slack + 1).to(u.dtype)).long()
    start = torch.minimum(start, slack)
    return _resample(x, start, length, int(out_len))


def _decimal_fraction(ratio: float) -> tuple[int, int]:
    """``ratio`` as ``(numerator, denominator)`` of the decimal it is written as
    (``0.95 -> (19, 20)``), the denominator at most 10**6."""
    frac = Fraction(repr(float(ratio))).limit_denominator(10**6)
    return frac.numerator, frac.denominator


def center_crop_resize(
    x: torch.Tensor,
    num_frames: torch.Tensor,
    out_len: int = 64,
    ratio: float = CENTER_CROP_RATIO,
) -> torch.Tensor:
    """Deterministic centre crop of ``ratio`` of the valid frames, resized to ``out_len``.

    x: (N, C, T, V, M); num_frames: (N,) int64. Crop length
    ``max(floor(ratio * n_valid), 1)`` (exact, with ``ratio`` read as the decimal it is
    written as), start ``(n_valid - length) // 2``; integer tensor arithmetic only, so
    the function traces and exports (TorchScript, ONNX) with dynamic ``N`` and ``T``.
    Returns (N, C, out_len, V, M).
    """
    _check_out_len(out_len)
    if not 0.0 < ratio <= 1.0:
        raise SkelconError(f"centre crop ratio={ratio} must be in (0, 1]")
    nf = _check_input(x, num_frames)
    # exact integer arithmetic: the ratio as the fraction its decimal form means (0.95 ->
    # 19/20), so 0.95 * 100 floors to 95, not 94, in eager PyTorch and in exported
    # graphs alike (an ONNX exporter may store a float64 constant as float32)
    num, den = _decimal_fraction(ratio)
    length = torch.minimum(torch.div(nf * num, den, rounding_mode="floor").clamp(min=1), nf)
    start = torch.div(nf - length, 2, rounding_mode="floor")
    return _resample(x, start, length, int(out_len))
