"""The standard skeleton normalisation, vectorised over samples: pad empty frames,
centre and rotate, as in the NTU RGB+D preparation behind the published numbers.

Every function works on float32 arrays laid out ``(C, T, V, M)`` (one sample) or
``(N, C, T, V, M)`` (``*_batch`` variants); no Python loop runs over frames or joints.
The behaviour reproduces the preparation behind the published NTU numbers bit for bit
up to float32 rounding, including its quirks:

* a frame or joint counts as "empty" when its coordinates *sum* to exactly 0;
* when a person's first frame is empty, all its non-empty frames are moved to the
  start (gaps removed); otherwise gaps inside the sequence stay empty;
* after the last non-empty frame the valid prefix is repeated cyclically to ``T``;
* the second rotation (shoulders to +x) tilts the spine off +z again;
* a rotation is skipped (identity) when the rotation axis or the angle is below
  1e-6, so a spine pointing along -z is left alone.

Typical use::

    x = select_bodies(bodies, 2)                 # (C, T, V, 4) -> (C, T, V, 2)
    x = normalize(x, 300, NTU25)                 # (C, 300, V, 2), float32
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DataFormatError
from .layouts import JointLayout

__all__ = [
    "align",
    "is_centred",
    "align_batch",
    "body_energy",
    "center",
    "center_batch",
    "fit_length",
    "normalize",
    "normalize_batch",
    "pad_null_frames",
    "pad_null_frames_batch",
    "require_finite",
    "rotation_to",
    "select_bodies",
]

_EPS = 1e-6


def body_energy(bodies: np.ndarray) -> np.ndarray:
    """Motion energy of each body: ``bodies (C, T, V, B) -> (B,)`` float64.

    Energy = sum over the C channels of the std of that channel over the body's
    non-empty frames (all joints pooled); 0 for a body with no non-empty frame.
    """
    b = np.asarray(bodies, dtype=np.float64)
    c, t, v, nb = b.shape
    valid = b.sum(axis=(0, 2)) != 0  # (T, B)
    cnt = valid.sum(axis=0) * v  # (B,) values per channel
    w = valid[None, :, None, :]
    denom = np.maximum(cnt, 1)
    mean = (b * w).sum(axis=(1, 2)) / denom  # (C, B)
    var = (((b - mean[:, None, None, :]) * w) ** 2).sum(axis=(1, 2)) / denom
    energy = np.sqrt(var).sum(axis=0)
    return np.where(cnt > 0, energy, 0.0)


def select_bodies(bodies: np.ndarray, k: int = 2, energy_channels: int | None = None) -> np.ndarray:
    """Keep the ``k`` most energetic bodies: ``(C, T, V, B) -> (C, T, V, k)``.

    Ties are broken as the reference does (ascending stable sort, reversed: the later
    body wins), and missing bodies (``B < k``) are zero-filled. ``energy_channels``:
    rank by the energy of the first that many channels only (default: all).
    """
    c, t, v, nb = bodies.shape
    energy = body_energy(bodies[:energy_channels])
    order = np.argsort(energy, kind="stable")[::-1][:k]
    out = np.zeros((c, t, v, k), dtype=bodies.dtype)
    out[..., : len(order)] = bodies[..., order]
    return out


def fit_length(x: np.ndarray, num_frames: int) -> np.ndarray:
    """Zero-extend or truncate the T axis of ``x (C, T, V, M)`` to ``num_frames``."""
    c, t, v, m = x.shape
    if t == num_frames:
        return x
    out = np.zeros((c, num_frames, v, m), dtype=x.dtype)
    n = min(t, num_frames)
    out[:, :n] = x[:, :n]
    return out


# --------------------------------------------------------------------------- padding


def pad_null_frames_batch(x: np.ndarray) -> np.ndarray:
    """Pad empty frames of every person: ``x (N, C, T, V, M) -> (N, C, T, V, M)``.

    A person whose first frame is empty has its non-empty frames moved to the start;
    then the frames after the last non-empty one repeat the prefix cyclically
    (frame ``t`` gets frame ``t % L``, ``L`` = last non-empty index + 1). All-empty
    persons stay zero.
    """
    n, c, t, v, m = x.shape
    valid = np.moveaxis(x.sum(axis=(1, 3)) != 0, 1, 2)  # (N, M, T)
    ar = np.arange(t)
    # compaction for persons whose first frame is empty (stable: valid frames first, in order)
    shift = ~valid[..., 0] & valid.any(axis=-1)  # (N, M)
    perm = np.where(shift[..., None], np.argsort(~valid, axis=-1, kind="stable"), ar)
    valid = np.take_along_axis(valid, perm, axis=-1)
    # cyclic repetition after the last valid frame
    last = np.where(valid.any(axis=-1), t - 1 - np.argmax(valid[..., ::-1], axis=-1), -1)
    length = last + 1  # (N, M); 0 for all-empty persons
    src_t = np.where(ar < length[..., None], ar, ar % np.maximum(length, 1)[..., None])
    src = np.take_along_axis(perm, src_t, axis=-1)  # (N, M, T) source frame of each frame
    idx = np.moveaxis(src, 1, 2)[:, None, :, None, :]  # (N, 1, T, 1, M)
    return np.take_along_axis(x, np.broadcast_to(idx, x.shape), axis=2)


def pad_null_frames(x: np.ndarray) -> np.ndarray:
    """:func:`pad_null_frames_batch` for one sample ``x (C, T, V, M)``."""
    return pad_null_frames_batch(x[None])[0]


# --------------------------------------------------------------------------- centring


def center_batch(x: np.ndarray, layout: JointLayout) -> np.ndarray:
    """Subtract joint ``layout.center`` of person 1 at each frame from every joint.

    ``x (N, C, T, V, M)``; joints whose coordinates sum to 0 stay 0. Where that joint
    is missing (all 0) in a frame, the mean of person 1's joints there is the centre
    instead (a missing joint never becomes the origin) — except in a clip already
    centred: its centre joint at exactly the origin in every frame where person 1 is
    seen, which a sensor never gives (the sensor's own position). Such a clip is left
    where it is, so centring twice equals centring once, as in the reference
    preprocessing (``x - x[center]``).
    """
    ref = x[:, :, :, layout.center : layout.center + 1, 0:1]  # (N, C, T, 1, 1)
    mask = (x.sum(axis=1, keepdims=True) != 0).astype(x.dtype)  # (N, 1, T, V, M)
    p1 = mask[:, :, :, :, 0:1]  # (N, 1, T, V, 1)
    mean = (x[:, :, :, :, 0:1] * p1).sum(axis=3, keepdims=True) / np.maximum(
        p1.sum(axis=3, keepdims=True), 1
    )
    centre_seen = p1[:, :, :, layout.center : layout.center + 1] > 0  # (N, 1, T, 1, 1)
    seen = p1.any(axis=3, keepdims=True)  # person 1 in the frame: (N, 1, T, 1, 1)
    centred = (~centre_seen | ~seen).all(axis=2, keepdims=True) & seen.any(axis=2, keepdims=True)
    ref = np.where(centre_seen | centred, ref, mean)
    return (x - ref) * mask


def center(x: np.ndarray, layout: JointLayout) -> np.ndarray:
    """:func:`center_batch` for one sample ``x (C, T, V, M)``."""
    return center_batch(x[None], layout)[0]


# --------------------------------------------------------------------------- rotation


def rotation_to(v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation matrices turning each vector ``v (N, 3)`` towards ``target (3,)``.

    Rotation about ``v x target`` by the angle between them (Euler-Rodrigues);
    identity where the axis or the angle is below 1e-6, or ``v`` is ~0. Returns
    ``(N, 3, 3)`` float64.
    """
    v = np.asarray(v)
    target = np.asarray(target, dtype=np.float64)
    # the angle from the unit vector in v's own precision, with the norm computed as
    # np.linalg.norm does for one vector (float32 data: bit-identical to the reference;
    # small angles amplify a 1-ulp norm difference). N is 1 per call in preparation.
    nv = np.array([np.linalg.norm(u) for u in v], dtype=v.dtype).reshape(-1, 1)
    unit = v / np.where(nv > 0, nv, 1)
    cos = unit.astype(np.float64) @ (target / np.linalg.norm(target))
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    v = v.astype(np.float64)
    axis = np.cross(v, target)
    theta = np.where(np.abs(v).sum(axis=-1) < _EPS, 0.0, theta)
    ident = (np.abs(axis).sum(axis=-1) < _EPS) | (np.abs(theta) < _EPS)
    na = np.linalg.norm(axis, axis=-1, keepdims=True)
    k = axis / np.where(na > 0, na, 1.0)
    a = np.cos(theta / 2.0)
    b, c, d = np.moveaxis(-k * np.sin(theta / 2.0)[:, None], -1, 0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    r = np.stack(
        [
            np.stack([aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)], -1),
            np.stack([2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)], -1),
            np.stack([2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc], -1),
        ],
        -2,
    )
    return np.where(ident[:, None, None], np.eye(3), r)


def _rotate(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Apply ``r (N, 3, 3)`` to every joint of ``x (N, 3, T, V, M)`` (float64 maths)."""
    n = x.shape[0]
    out = r @ x.reshape(n, 3, -1).astype(np.float64)  # (N, 3, T*V*M)
    return out.astype(x.dtype).reshape(x.shape)


def reference_frames(x: np.ndarray, layout: JointLayout) -> np.ndarray:
    """Per sample of ``x (N, C, T, V, M)``, the first frame in which person 1 has both
    ``layout.spine`` and both ``layout.shoulders`` joints (not all-zero): ``(N,)`` int,
    0 where no frame has them. A joint a pose estimator missed in frame 0 must not set
    the rotation of the whole clip. Call it before centring (which zeroes the centre)."""
    (b0, b1), (s0, s1) = layout.spine, layout.shoulders
    ok = (x[:, :, :, [b0, b1, s0, s1], 0] != 0).any(axis=1).all(axis=-1)  # (N, T)
    return np.where(ok.any(axis=1), ok.argmax(axis=1), 0)


def align_batch(x: np.ndarray, layout: JointLayout, frames: np.ndarray | None = None) -> np.ndarray:
    """Rotate each sample ``x (N, 3, T, V, M)`` so that, in frame ``frames[n]`` (default
    0; see :func:`reference_frames`) of person 1, the ``layout.spine`` vector points
    along +z, then the ``layout.shoulders`` vector along +x (two successive rotations;
    the second may tilt the spine again)."""
    (b0, b1), (s0, s1) = layout.spine, layout.shoulders
    n = np.arange(x.shape[0])
    f = np.zeros(x.shape[0], dtype=np.int64) if frames is None else np.asarray(frames)
    spine = x[n, :, f, b1, 0] - x[n, :, f, b0, 0]  # (N, 3) float32, as the reference
    x = _rotate(x, rotation_to(spine, np.array([0.0, 0.0, 1.0])))
    shoulders = x[n, :, f, s1, 0] - x[n, :, f, s0, 0]
    return _rotate(x, rotation_to(shoulders, np.array([1.0, 0.0, 0.0])))


def align(x: np.ndarray, layout: JointLayout) -> np.ndarray:
    """:func:`align_batch` for one sample ``x (3, T, V, M)``."""
    return align_batch(x[None], layout)[0]


# --------------------------------------------------------------------------- all steps


def normalize_batch(x: np.ndarray, layout: JointLayout) -> np.ndarray:
    """Pad null frames, centre, align: ``x (N, 3, T, V, M) -> (N, 3, T, V, M)`` float32.
    The rotation comes from the first frame with the spine and shoulder joints present
    (:func:`reference_frames`: frame 0 in the reference preprocessing)."""
    x = pad_null_frames_batch(np.asarray(x, dtype=np.float32))
    frames = reference_frames(x, layout)
    return align_batch(center_batch(x, layout), layout, frames)


def normalize(x: np.ndarray, num_frames: int, layout: JointLayout) -> np.ndarray:
    """The standard preparation of one sample.

    ``x (3, T, V, M)`` holds the selected persons (person 1 first), zeros where a
    person is absent. ``num_frames`` is the output length ``T_max``: ``x`` is
    zero-extended (or truncated) to it before the empty frames are padded, so the
    output is ``(3, num_frames, V, M)`` float32.
    """
    x = fit_length(np.asarray(x, dtype=np.float32), int(num_frames))
    return normalize_batch(x[None], layout)[0]


def require_finite(x: np.ndarray, where: str | None = None) -> np.ndarray:
    """``x`` itself when every value is finite, else :class:`DataFormatError`.

    For the output of :func:`normalize`: finite float32 input can still overflow
    (coordinates near 3e38 square to Inf in the rotation), and a prepared sample must
    never hold NaN or Inf.
    """
    if not np.isfinite(x).all():
        raise DataFormatError(
            "coordinates too large to normalise (the result is not finite)", where
        )
    return x


def is_centred(meta: Mapping[str, Any]) -> bool:
    """Whether a prepared dataset's frames are centred on its layout's ``center`` joint
    of person 1 (which then lies at exactly the origin), from its meta.json.

    ``normalization`` (or ``normalisation``) names it (``"none: coordinates as read"``:
    not centred); else a ``normalized`` flag decides; else True: the built-in
    preparations without either entry (NTU RGB+D 3D, PKU-MMD, NW-UCLA, synthetic) centre
    every frame.
    """
    for key in ("normalization", "normalisation"):
        text = meta.get(key)
        if isinstance(text, str) and text.strip():
            return "centre" in text or "center" in text
    if isinstance(meta.get("normalized"), bool):
        return bool(meta["normalized"])
    return True
