"""Augmentations that turn a raw skeleton batch into contrastive views (paper Section 3.1)."""

from .spatial import JITTER_MODES, apply_matrix, joint_jitter, shear
from .temporal import CENTER_CROP_RATIO, center_crop_resize, crop_lengths, temporal_crop_resize
from .views import ViewMaker

__all__ = [
    "CENTER_CROP_RATIO",
    "JITTER_MODES",
    "ViewMaker",
    "apply_matrix",
    "center_crop_resize",
    "crop_lengths",
    "joint_jitter",
    "shear",
    "temporal_crop_resize",
]
