"""Checkpoints: atomic saves, ``weights_only`` loads, RNG state capture."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SkelconError
from ..utils.io import atomic_path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file, ``fsync``, then rename onto ``path``.

    A crash at any point leaves ``path`` as it was; a full disk raises a one-line
    :class:`SkelconError` saying the previous checkpoint is intact.
    """
    path = Path(path)
    kept = f" (the previous {path.name} is intact)" if path.exists() else " (nothing was written)"
    with atomic_path(path, kept=kept) as tmp, open(tmp, "wb") as f:
        # through a Python file object, so a full disk surfaces as OSError(ENOSPC)
        torch.save(state, f)


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A run directory means its ``last.pt``; a file is taken as is."""
    p = Path(path)
    if p.is_dir():
        p = p / "last.pt"
    if not p.is_file():
        raise SkelconError(
            f"checkpoint {str(path)!r} not found (give a run directory or a .pt file)"
        )
    return p


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a skelcon checkpoint safely (``weights_only=True``)."""
    p = resolve_checkpoint(path)
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here is a bad user file
        text = str(e).strip()
        if not zipfile.is_zipfile(p):  # torch.save writes a zip archive
            why = "truncated, corrupt or not a checkpoint file"
        elif "weights_only" in text or "Weights only load failed" in text:
            why = "it holds objects other than tensors and plain values (refused, not run)"
        elif isinstance(e, (OSError, EOFError)) or "zip" in text or "archive" in text:
            why = "truncated, corrupt or not a torch file"
        else:
            why = (
                f"not a readable checkpoint ({text.splitlines()[0] if text else type(e).__name__})"
            )
        raise SkelconError(f"cannot load checkpoint {str(p)!r}: {why}") from None
    if not isinstance(state, dict) or "config" not in state or "model" not in state:
        raise SkelconError(f"{str(p)!r} is not a skelcon checkpoint (no config/model entries)")
    return state


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) RNG states, in weights_only-safe types."""
    np_state = np.random.get_state()
    state = {
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "numpy": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate((state["python_version"], tuple(state["python"]), None))
    np.random.set_state(
        ("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0)
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
