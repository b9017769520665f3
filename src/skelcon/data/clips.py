"""Turning one clip as pose pipelines write it into a prepared sample.

Shared by the readers of other tools' output (``import-pyskl``, ``prepare
kinetics-skeleton``, ``prepare folder``): a clip arrives as keypoints ``(M, T, V, C)``
(persons, frames, joints, channels); :func:`clip_to_sample` keeps at most ``T_max``
frames (uniformly subsampled when longer) and ``M_max`` persons (the most confident,
or for data without a score the ones that move most), lays it out ``(C, T_max, V,
M_max)`` and optionally normalises it (:class:`ClipNorm`): the 3D preparation
(:func:`~skelcon.data.normalize.normalize`) for ``x, y, z`` data, the image-coordinate
one (:func:`~skelcon.data.normalize2d.normalize_2d`) for ``x, y[, score]`` data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SkelconError
from .channels import coord_count
from .layouts import JointLayout
from .normalize import body_energy, normalize, require_finite
from .normalize2d import normalize_2d
from .pku import resample_indices

__all__ = [
    "MISSING_ENCODINGS",
    "ClipNorm",
    "clip_norm",
    "clip_to_sample",
    "mark_missing",
    "missing_summary",
    "nonfinite_note",
    "parse_image_size",
]

MISSING_ENCODINGS = {
    "nan": "NaN/inf",
    "zero": "(0, 0)",
    "score0": "score 0",
    "sentinel": "-1 coordinates",
}
"""How pose estimators write a joint they did not detect (key -> how reports name it)."""


def mark_missing(kp: np.ndarray, channels: Sequence[str]) -> tuple[np.ndarray, dict[str, int]]:
    """Read every "not detected" encoding of ``kp (M, T, V, C)`` as missing.

    A joint is missing when any channel is NaN or infinite (``nan``), its coordinates are all
    exactly 0 (``zero``: skelcon's own convention), all exactly -1 (``sentinel``), or
    its score is <= 0 where ``channels`` has a ``score`` (``score0``). Missing joints
    get 0 in every channel (score 0 included), so they are never taken for a real
    joint, nor for the centre by the normalisations (which skip zero joints).

    Returns ``(kp float32 copy, counts)``: the missing joints per encoding (keys of
    :data:`MISSING_ENCODINGS`); ``zero`` counts only the person-frames in which the
    person has some detected joint (an absent person is all zero by convention).
    """
    kp = np.asarray(kp, dtype=np.float32)
    k = coord_count(channels)
    nan = ~np.isfinite(kp).all(-1)
    xy = kp[..., :k]
    sentinel = ~nan & (xy == -1).all(-1)
    zero = ~nan & (xy == 0).all(-1)
    score0 = np.zeros_like(nan)
    if "score" in channels and kp.shape[-1] == len(channels):
        score0 = ~nan & ~sentinel & ~zero & (kp[..., list(channels).index("score")] <= 0)
    missing = nan | sentinel | zero | score0
    present = (~missing).any(-1, keepdims=True)  # (M, T, 1): the person is there
    masks = (nan, zero & present, score0, sentinel)
    counts = {key: int(m.sum()) for key, m in zip(MISSING_ENCODINGS, masks, strict=True)}
    return np.where(missing[..., None], np.float32(0), kp), counts


def missing_summary(counts: dict[str, int]) -> str:
    """``"12 missing joints read as 0 (NaN 2, (0, 0) 10)"`` from summed
    :func:`mark_missing` counts; empty when nothing was missing."""
    total = sum(counts.get(key, 0) for key in MISSING_ENCODINGS)
    if not total:
        return ""
    parts = ", ".join(
        f"{name} {counts[key]}" for key, name in MISSING_ENCODINGS.items() if counts.get(key)
    )
    return f"{total} missing joints read as 0 ({parts})"


@dataclass(frozen=True)
class ClipNorm:
    """How a clip is normalised: ``enabled`` (else stored as read), the 2D options
    ``score_threshold`` (joints scoring below it are dropped) and ``image_size``
    ``(width, height)`` (image mapped to [-1, 1] on its longer side)."""

    enabled: bool = False
    score_threshold: float = 0.0
    image_size: tuple[float, float] | None = None

    def describe(self, channels: Sequence[str]) -> str:
        """One line for meta.json."""
        if not self.enabled:
            return "none: coordinates as read"
        if coord_count(channels) == 3:
            return (
                "3D: null frames padded, centred on the layout centre, spine to +z, shoulders to +x"
            )
        parts = [
            "2D: centred on the layout centre joint per frame, divided by the median "
            "length of the layout's up joints"
        ]
        if self.image_size:
            parts.append(f"image {self.image_size[0]:g}x{self.image_size[1]:g} mapped to [-1, 1]")
        if self.score_threshold > 0:
            parts.append(f"joints scoring below {self.score_threshold:g} zeroed")
        return "; ".join(parts)

    def check(self, channels: Sequence[str], where: str) -> None:
        """Refuse options the data cannot take (one line naming ``where``)."""
        if not self.enabled and (self.score_threshold > 0 or self.image_size):
            raise SkelconError(
                f"{where}: --score-threshold and --image-size act in the 2D "
                "normalisation: add --normalize"
            )
        if self.score_threshold > 0 and "score" not in channels:
            raise SkelconError(
                f"{where}: --score-threshold needs a score channel; the data have {list(channels)}"
            )
        if self.enabled and coord_count(channels) == 3 and len(channels) != 3:
            raise SkelconError(
                f"{where}: --normalize: the 3D normalisation needs x, y, z only; "
                f"these are {list(channels)}"
            )
        if (
            self.enabled
            and coord_count(channels) == 3
            and (self.image_size or self.score_threshold)
        ):
            raise SkelconError(
                f"{where}: --image-size and --score-threshold are for 2D data; "
                f"these are {list(channels)}"
            )


def person_order(kp: np.ndarray, channels: Sequence[str]) -> np.ndarray:
    """Persons of ``kp (M, T, V, C)`` best first: by summed score when there is a score
    channel (ST-GCN's choice), else by motion energy (the NTU choice)."""
    if "score" in channels:
        key = kp[..., list(channels).index("score")].sum(axis=(1, 2))
    else:
        key = body_energy(np.moveaxis(kp[..., : coord_count(channels)], (0, 3), (3, 0)))
    return np.argsort(-key, kind="stable")


def clip_to_sample(
    kp: np.ndarray,
    layout: JointLayout,
    channels: Sequence[str],
    t_max: int,
    m_max: int,
    norm: ClipNorm,
    where: str,
) -> tuple[np.ndarray, int, dict]:
    """``kp (M, T, V, C)`` -> ``(x (C, t_max, V, m_max) float32, num_frames, info)``.

    ``info`` notes what was changed (``resampled_from``, ``persons_dropped``). Raises
    :class:`~skelcon.errors.DataFormatError` (via ``require_finite``) naming ``where``
    when normalisation overflows.
    """
    kp = np.asarray(kp, dtype=np.float32)
    m, t, v, c = kp.shape
    info: dict = {}
    if m > m_max:
        kp = kp[np.sort(person_order(kp, channels)[:m_max])]
        info["persons_dropped"] = m - m_max
    idx = resample_indices(t, t_max)
    if len(idx) < t:
        info["resampled_from"] = t
    x = np.zeros((c, t_max, v, m_max), dtype=np.float32)
    x[:, : len(idx), :, : kp.shape[0]] = kp[:, idx].transpose(3, 1, 2, 0)
    if norm.enabled:
        if coord_count(channels) == 3:
            if c != 3:
                raise SkelconError(f"{where}: 3D normalisation needs x, y, z only, got {channels}")
            x = normalize(x, t_max, layout)
        else:
            x = normalize_2d(
                x,
                layout,
                channels,
                score_threshold=norm.score_threshold,
                image_size=norm.image_size,
            )
        x = require_finite(x, where)
    return x, len(idx), info


def parse_image_size(text: str | None) -> tuple[float, float] | None:
    """``"1920x1080"`` -> ``(1920.0, 1080.0)``; None stays None; else a one-line error."""
    if text is None:
        return None
    parts = str(text).lower().replace(",", "x").split("x")
    try:
        w, h = (float(p) for p in parts)
    except ValueError:
        w = h = float("nan")
    if not (w > 0 and h > 0 and np.isfinite(w) and np.isfinite(h)):
        raise SkelconError(
            f"image_size {text!r} must be WIDTHxHEIGHT, e.g. 1920x1080", param="image_size"
        )
    return w, h


def clip_norm(normalize: bool, score_threshold: float, image_size: str | None) -> ClipNorm:
    """The :class:`ClipNorm` of ``normalize``, ``score_threshold`` (>= 0) and ``image_size``
    (``"WIDTHxHEIGHT"`` or None)."""
    thr = float(score_threshold)
    if not (np.isfinite(thr) and 0 <= thr):
        raise SkelconError(
            f"score_threshold must be >= 0, got {score_threshold}", param="score_threshold"
        )
    return ClipNorm(bool(normalize), thr, parse_image_size(image_size))


def nonfinite_note(records: list[dict[str, Any]]) -> str:
    """One line on the joints read as missing because they held NaN or infinity."""
    joints = sum(r["joints"] for r in records)
    first = records[0]
    return (
        f"{joints} joints in {len(records)} samples held NaN or infinity and were read as "
        f"missing (0) (first: {first['name']}, {first['joints']}; all in meta.json "
        "nonfinite_joints)"
    )
