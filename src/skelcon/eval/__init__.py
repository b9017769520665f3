"""Downstream protocols on a pre-trained (or random) encoder."""

from .encoder import ConcatEncoder, LoadedEncoder, load_encoder, parse_representations
from .features import extract_features
from .knn import knn_accuracy, knn_predict
from .linear import freeze, linear_eval

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
