"""Normalisation of 2D joints in image coordinates (pose-estimator keypoints).

The 3D preparation (:mod:`skelcon.data.normalize`) rotates the spine onto +z; image
joints have no depth to rotate in, and a camera's pixels depend on the resolution and
on how far the person stands. :func:`normalize_2d_batch` therefore, per sample
``x (N, C, T, V, M)`` whose channels are ``x, y`` or ``x, y, score``
(:mod:`skelcon.data.channels`):

1. drops low-confidence joints: a joint whose score is below ``score_threshold`` has
   every channel set to 0 (0 marks a missing joint everywhere in skelcon; OpenPose and
   most estimators write ``(0, 0, 0)`` for an undetected joint already);
2. optionally maps the image to ``[-1, 1]`` on its longer side, aspect ratio kept:
   ``p' = (p - size / 2) / (max(size) / 2)`` with ``image_size = (width, height)`` in
   pixels (for keypoints already in ``[0, 1]``, pass ``(1, 1)``);
3. centres every frame on the layout's ``center`` joint of person 1 (where it is
   missing in a frame: the mean of person 1's joints there, else of everyone's);
4. divides by a body length: the median over frames and persons of the distance
   between the layout's ``up`` joints (its "spine"; e.g. hip to neck), or, when those
   are never both present, the median diagonal of the person's bounding box.

Missing joints stay exactly 0; the score channel is kept as it is (bar step 1). The y
axis keeps the image convention (pointing down); figures flip it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .channels import check_channels, coord_count
from .layouts import JointLayout

__all__ = ["normalize_2d", "normalize_2d_batch"]


def _nanmedian(a: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Median over ``axis`` ignoring NaN; NaN where every value is NaN (no warning)."""
    moved = np.moveaxis(a, axis, tuple(range(-len(axis), 0)))
    flat = moved.reshape(*moved.shape[: moved.ndim - len(axis)], -1)
    srt = np.sort(flat, axis=-1)  # NaN last
    cnt = (~np.isnan(flat)).sum(axis=-1)
    lo = np.take_along_axis(srt, np.maximum((cnt - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(srt, np.maximum(cnt // 2, 0)[..., None], -1)[..., 0]
    return np.where(cnt > 0, (lo + hi) / 2, np.nan)


def normalize_2d_batch(
    x: np.ndarray,
    layout: JointLayout,
    channels: Sequence[str] = ("x", "y"),
    *,
    score_threshold: float = 0.0,
    image_size: tuple[float, float] | None = None,
    center: bool = True,
    scale: bool = True,
) -> np.ndarray:
    """Normalise 2D joints ``x (N, C, T, V, M)`` -> same shape float32 (module doc).

    ``channels``: ``("x", "y")`` or ``("x", "y", "score")``; ``score_threshold``:
    joints scoring below it are zeroed (needs a score channel when > 0);
    ``image_size``: ``(width, height)`` in the coordinates' unit (pixels), or None.
    """
    ch = check_channels(channels, x.shape[1], "2D normalisation")
    k = coord_count(ch)
    if k != 2:
        raise ValueError(f"normalize_2d_batch needs 2D joints (x, y[, score]), got {ch}")
    x = np.array(x, dtype=np.float32)  # a copy
    n, c, t, v, m = x.shape
    if score_threshold > 0:
        if c == k:
            raise ValueError("score_threshold needs a score channel")
        x *= (x[:, k] >= score_threshold)[:, None]  # (N, 1, T, V, M)
    valid = (x[:, :k] != 0).any(axis=1)  # (N, T, V, M): a joint at exactly (0, 0) is missing
    xy = x[:, :k].astype(np.float64)
    if image_size is not None:
        size = np.asarray(image_size, dtype=np.float64)
        if size.shape != (2,) or not (size > 0).all() or not np.isfinite(size).all():
            raise ValueError(f"image_size must be (width, height) > 0, got {image_size}")
        xy = (xy - size[None, :, None, None, None] / 2) / (size.max() / 2)
    if center:
        w1 = valid[:, :, :, 0]  # (N, T, V) person 1
        cnt1 = w1.sum(axis=2)
        mean1 = (xy[..., 0] * w1[:, None]).sum(axis=3) / np.maximum(cnt1, 1)[:, None]
        wall = valid.sum(axis=(2, 3))
        mean_all = (xy * valid[:, None]).sum(axis=(3, 4)) / np.maximum(wall, 1)[:, None]
        joint = xy[:, :, :, layout.center, 0]  # (N, 2, T)
        ref = np.where(
            w1[:, None, :, layout.center],
            joint,
            np.where(cnt1[:, None] > 0, mean1, mean_all),
        )
        xy = xy - ref[:, :, :, None, None]
    if scale:
        base, top = layout.spine
        both = valid[:, :, base] & valid[:, :, top]  # (N, T, M)
        length = np.linalg.norm(xy[:, :, :, top] - xy[:, :, :, base], axis=1)
        body = _nanmedian(np.where(both & (length > 0), length, np.nan), (1, 2))  # (N,)
        inf = np.inf
        lo = np.where(valid[:, None], xy, inf).min(axis=3)  # (N, 2, T, M)
        hi = np.where(valid[:, None], xy, -inf).max(axis=3)
        diag = np.linalg.norm(np.where(np.isfinite(lo), hi - lo, 0.0), axis=1)  # (N, T, M)
        box = _nanmedian(np.where(diag > 0, diag, np.nan), (1, 2))
        body = np.where(np.isnan(body), box, body)
        body = np.where(np.isnan(body) | (body <= 0), 1.0, body)
        xy = xy / body[:, None, None, None, None]
    x[:, :k] = np.where(valid[:, None], xy, 0.0)
    return x


def normalize_2d(
    x: np.ndarray, layout: JointLayout, channels: Sequence[str] = ("x", "y"), **kw
) -> np.ndarray:
    """:func:`normalize_2d_batch` for one sample ``x (C, T, V, M)``."""
    return normalize_2d_batch(x[None], layout, channels, **kw)[0]
