"""Feature extraction for the evaluation protocols: :func:`extract_features` lives in
:mod:`skelcon.engine.features` (the pre-training kNN monitor uses it too) and is
re-exported here, where the protocols import it."""

from __future__ import annotations

from ..engine.features import extract_features

__all__ = ["extract_features"]
