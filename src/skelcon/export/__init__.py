"""Use a pre-trained encoder outside skelcon: ``skelcon export`` writes it as a
TorchScript or ONNX graph with its input contract beside it (:mod:`.writer`,
:mod:`.graph`, :mod:`.contract`).

The names below are imported lazily (PEP 562), so ``skelcon export --help`` does not
import torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import EXPORT_FORMATS as FORMATS  # the one list (config.py)

__all__ = ["FORMATS", "contract_path", "export_encoder", "load_exported"]

if TYPE_CHECKING:
    from .writer import contract_path, export_encoder, load_exported


def __getattr__(name: str) -> Any:
    if name not in ("contract_path", "export_encoder", "load_exported"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import writer

    value = getattr(writer, name)
    globals()[name] = value
    return value
