"""Encoders for the three skeleton representations: SEQ (Bi-GRU), IMG (HCN), STG (2s-AGCN).

Every encoder maps ``x: (N, C, T, V, M)`` to ``(N, feature_dim)`` and does its own
representation transform. Build one with :func:`build_encoder`.
"""

from .heads import LinearClassifier, ProjectionHead
from .img import ImgEncoder, frame_motion
from .registry import ENCODERS, PRESET_NAMES, PRESETS, build_encoder, encoder_kwargs
from .seq import SeqEncoder, to_sequence
from .stg import AdaptiveGraphConv, StgEncoder

__all__ = [
    "ENCODERS",
    "PRESETS",
    "PRESET_NAMES",
    "AdaptiveGraphConv",
    "ImgEncoder",
    "LinearClassifier",
    "ProjectionHead",
    "SeqEncoder",
    "StgEncoder",
    "build_encoder",
    "encoder_kwargs",
    "frame_motion",
    "to_sequence",
]
