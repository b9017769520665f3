"""Contrastive pre-training: InfoNCE, key queues, momentum encoders, SkeletonMoCo."""

from .gather import concat_all_gather
from .loss import info_nce
from .moco import SkeletonMoCo, contrast_pairs
from .momentum import init_key_from_query, momentum_update
from .queue import FeatureQueue

__all__ = [
    "FeatureQueue",
    "SkeletonMoCo",
    "concat_all_gather",
    "contrast_pairs",
    "info_nce",
    "init_key_from_query",
    "momentum_update",
]
