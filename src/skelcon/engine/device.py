"""Device selection from config: ``auto`` picks CUDA when present."""

from __future__ import annotations

import torch

from ..errors import SkelconError


def resolve_device(name: str) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> a usable :class:`torch.device`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SkelconError(
            f"device {name!r} is not valid (valid: auto, cpu, cuda, cuda:N)"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SkelconError(
                f"device {name!r} requested but CUDA is not available (use cpu or auto)"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SkelconError(
                f"device {name!r} does not exist ({torch.cuda.device_count()} CUDA devices)"
            )
    return dev
