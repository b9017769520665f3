"""Downstream protocols on a pre-trained (or random) encoder.

The names below are imported lazily (PEP 562): ``import skelcon.eval`` (and so building
the command line, ``skelcon --help``) does not import torch; ``from skelcon.eval import
load_encoder`` imports what it names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> submodule that defines it
_LAZY = {
    "ConcatEncoder": "encoder",
    "LoadedEncoder": "encoder",
    "load_encoder": "encoder",
    "parse_representations": "encoder",
    "extract_features": "features",
    "knn_accuracy": "knn",
    "knn_predict": "knn",
    "freeze": "linear",
    "linear_eval": "linear",
}
__all__ = [
    "ConcatEncoder",
    "LoadedEncoder",
    "extract_features",
    "freeze",
    "knn_accuracy",
    "knn_predict",
    "linear_eval",
    "load_encoder",
    "parse_representations",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports them
    from .encoder import ConcatEncoder, LoadedEncoder, load_encoder, parse_representations
    from .features import extract_features
    from .knn import knn_accuracy, knn_predict
    from .linear import freeze, linear_eval


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
