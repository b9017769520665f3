"""Argument and input-shape checks shared by the encoders."""

from __future__ import annotations

import torch

from ..errors import SkelconError


def check_positive(what: str, value: int) -> None:
    """A size that must be a positive integer (user configuration)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SkelconError(f"{what} must be a positive integer, got {value!r}")


def check_sizes(encoder: str, **sizes: int) -> None:
    """:func:`check_positive` for every keyword, named ``"<encoder> encoder <key>"``."""
    for name, value in sizes.items():
        check_positive(f"{encoder} encoder {name}", value)


def check_input(
    x: torch.Tensor,
    in_channels: int,
    num_joints: int,
    num_persons: int,
    name: str,
    num_frames: int | None = None,
) -> None:
    """``x`` must be ``(N, C, T, V, M)`` with the sizes the encoder was built for."""
    t = "T" if num_frames is None else num_frames
    expected = f"(N, {in_channels}, {t}, {num_joints}, {num_persons})"
    if x.dim() != 5:
        raise ValueError(f"{name} encoder expects x of shape {expected}, got {tuple(x.shape)}")
    _, c, frames, v, m = x.shape
    if (c, v, m) != (in_channels, num_joints, num_persons) or (
        num_frames is not None and frames != num_frames
    ):
        raise ValueError(f"{name} encoder expects x of shape {expected}, got {tuple(x.shape)}")
