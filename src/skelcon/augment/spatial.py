"""Spatial augmentations (paper Section 3.1.1): shear and joint jitter.

Both act on the coordinates of ``x: (N, C, T, V, M)`` with one ``K x K`` matrix per
sample (``K = coords``, the leading coordinate channels: 3 for 3D joints, 2 for 2D
image joints), shared by all frames and persons; a joint ``p`` (a column vector)
becomes ``S @ p``. Channels after the coordinates (a pose estimator's confidence,
:mod:`skelcon.data.channels`) are left as they are. Padding frames (all zeros) stay
zero.
"""

from __future__ import annotations

import torch

from ..config import JITTER_MODES
from ..errors import SkelconError, choices_message

__all__ = ["JITTER_MODES", "apply_matrix", "joint_dropout", "joint_jitter", "joint_noise", "shear"]


def _check_coords(x: torch.Tensor, coords: int | None) -> int:
    """The number of coordinate channels of ``x`` (``coords``, or all of C = 2 or 3)."""
    k = x.shape[1] if coords is None and x.dim() == 5 else coords
    if x.dim() != 5 or k not in (2, 3) or k > x.shape[1]:
        raise SkelconError(
            "spatial augmentation needs joints x: (N, C, T, V, M) with 2 or 3 leading "
            f"coordinate channels, got shape {tuple(x.shape)} with coords={coords}"
        )
    return int(k)


def apply_matrix(x: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    """Multiply every joint's first ``K`` channels by its sample's matrix: x (N, C, T, V, M),
    mat (N, K, K), K <= C; the other channels are returned unchanged."""
    k = mat.shape[-1]
    moved = torch.einsum("nij,njtvm->nitvm", mat.to(x.dtype), x[:, :k])
    return moved if k == x.shape[1] else torch.cat([moved, x[:, k:]], dim=1)


def _uniform(shape: tuple[int, ...], low: float, high: float, x: torch.Tensor, generator):
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
    return low + (high - low) * u


def shear(
    x: torch.Tensor,
    magnitude: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    return_matrix: bool = False,
    coords: int | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Shear every joint by ``S = [[1, a, b], [c, 1, d], [e, f, 1]]``, one S per sample
    (``[[1, a], [c, 1]]`` in the image plane for 2D joints).

    x: (N, C, T, V, M) whose first ``coords`` channels (default: all, C = 2 or 3) are
    coordinates; off-diagonals ~ U[-magnitude, magnitude]. Returns the sheared
    (N, C, T, V, M) tensor, and the (N, K, K) matrices if ``return_matrix``.
    """
    k = _check_coords(x, coords)
    if magnitude < 0:
        raise SkelconError(f"shear magnitude={magnitude} must be >= 0")
    n = x.shape[0]
    eye = torch.eye(k, device=x.device, dtype=x.dtype)
    off = _uniform((n, k, k), -magnitude, magnitude, x, generator)
    mat = off * (1 - eye) + eye
    out = apply_matrix(x, mat)
    return (out, mat) if return_matrix else out


def joint_jitter(
    x: torch.Tensor,
    num_joints: int = 15,
    mode: str = "paper",
    generator: torch.Generator | None = None,
    *,
    coords: int | None = None,
) -> torch.Tensor:
    """Corrupt ``num_joints`` randomly chosen joints of each sample.

    x: (N, C, T, V, M) whose first ``coords`` channels (default: all, C = 2 or 3) are
    coordinates. Per sample exactly ``j = num_joints`` of the V joints are chosen.
    ``mode="paper"``: their coordinates (all frames and persons) are multiplied by one
    random K x K matrix with entries ~ U[-1, 1]. ``mode="reference"`` (the authors'
    code): with p = 1/2 that, otherwise their coordinates are set to zero. Channels
    after the coordinates are kept. Returns (N, C, T, V, M).
    """
    k = _check_coords(x, coords)
    if mode not in JITTER_MODES:
        raise SkelconError(choices_message("jitter mode", mode, JITTER_MODES))
    n, _, _, v, _ = x.shape
    j = int(num_joints)
    if not 0 <= j <= v:
        raise SkelconError(f"jitter num_joints={num_joints} must be between 0 and V={v} joints")
    scores = torch.rand(n, v, generator=generator, device=x.device)
    chosen = scores.topk(j, dim=1).indices  # (N, j), distinct per row
    mask = torch.zeros(n, v, dtype=torch.bool, device=x.device)
    mask.scatter_(1, chosen, True)
    mat = _uniform((n, k, k), -1.0, 1.0, x, generator)
    moved = apply_matrix(x, mat)
    if mode == "reference":
        transform = torch.rand(n, generator=generator, device=x.device) < 0.5
        zeroed = torch.cat([torch.zeros_like(x[:, :k]), x[:, k:]], dim=1)
        moved = torch.where(transform[:, None, None, None, None], moved, zeroed)
    return torch.where(mask[:, None, None, :, None], moved, x)


def joint_noise(
    x: torch.Tensor,
    sigma: float,
    generator: torch.Generator | None = None,
    *,
    coords: int | None = None,
) -> torch.Tensor:
    """Add i.i.d. Gaussian noise of std ``sigma`` (the data's units: body lengths for
    normalised 2D joints, metres for 3D) to the coordinates of every present joint.

    x: (N, C, T, V, M); a missing joint (every coordinate exactly 0, skelcon's marker,
    padding frames included) stays 0, and channels after the coordinates are kept. Not
    in the paper: a view of its own per-frame jitter, so two views of a clip do not share
    the clip's own estimator noise exactly (docs/pretraining.md, section 6).
    """
    k = _check_coords(x, coords)
    if not sigma >= 0:
        raise SkelconError(f"noise sigma={sigma} must be >= 0")
    if sigma == 0:
        return x
    present = (x[:, :k] != 0).any(dim=1, keepdim=True)  # (N, 1, T, V, M)
    eps = torch.randn(x[:, :k].shape, generator=generator, device=x.device, dtype=x.dtype)
    moved = x[:, :k] + sigma * eps * present
    return moved if k == x.shape[1] else torch.cat([moved, x[:, k:]], dim=1)


def joint_dropout(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Mark each joint of each frame and person missing (every channel 0) with
    probability ``p``: x (N, C, T, V, M) -> same shape. Not in the paper: it makes the
    pattern of missing joints differ between two views of a clip (docs/pretraining.md,
    section 6)."""
    if not 0 <= p < 1:
        raise SkelconError(f"joint dropout p={p} must be in [0, 1)")
    if p == 0:
        return x
    n, _, t, v, m = x.shape
    keep = torch.rand((n, 1, t, v, m), generator=generator, device=x.device) >= p
    return x * keep.to(x.dtype)
