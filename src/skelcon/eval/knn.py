"""Nearest-neighbour retrieval for ``skelcon eval knn``: the scoring lives in
:mod:`skelcon.engine.knn` (the pre-training kNN monitor uses it too) and is re-exported
here, where the protocols import it."""

from __future__ import annotations

from ..engine.knn import knn_accuracy, knn_predict, knn_scores

__all__ = ["knn_predict", "knn_scores", "knn_accuracy"]
