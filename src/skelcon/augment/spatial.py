"""Spatial augmentations (paper Section 3.1.1): shear and joint jitter.

Both act on the coordinate axis of ``x: (N, C=3, T, V, M)`` with one 3x3 matrix per
sample, shared by all frames and persons; a joint ``p`` (a column vector) becomes
``S @ p``. Padding frames (all zeros) stay zero.
"""

from __future__ import annotations

import torch

from ..errors import SkelconError, choices_message

__all__ = ["JITTER_MODES", "apply_matrix", "joint_jitter", "shear"]

JITTER_MODES = ("paper", "reference")


def _check_coords(x: torch.Tensor) -> None:
    if x.dim() != 5 or x.shape[1] != 3:
        raise SkelconError(
            f"spatial augmentation needs 3D joints x: (N, 3, T, V, M), got shape {tuple(x.shape)}"
        )


def apply_matrix(x: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    """Multiply every joint by its sample's matrix: x (N, 3, T, V, M), mat (N, 3, 3)."""
    return torch.einsum("nij,njtvm->nitvm", mat.to(x.dtype), x)


def _uniform(shape: tuple[int, ...], low: float, high: float, x: torch.Tensor, generator):
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
    return low + (high - low) * u


def shear(
    x: torch.Tensor,
    magnitude: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    return_matrix: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Shear every joint by ``S = [[1, a, b], [c, 1, d], [e, f, 1]]``, one S per sample.

    x: (N, 3, T, V, M); off-diagonals ~ U[-magnitude, magnitude]. Returns the
    sheared (N, 3, T, V, M) tensor, and the (N, 3, 3) matrices if ``return_matrix``.
    """
    _check_coords(x)
    if magnitude < 0:
        raise SkelconError(f"shear magnitude={magnitude} must be >= 0")
    n = x.shape[0]
    eye = torch.eye(3, device=x.device, dtype=x.dtype)
    off = _uniform((n, 3, 3), -magnitude, magnitude, x, generator)
    mat = off * (1 - eye) + eye
    out = apply_matrix(x, mat)
    return (out, mat) if return_matrix else out


def joint_jitter(
    x: torch.Tensor,
    num_joints: int = 15,
    mode: str = "paper",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Corrupt ``num_joints`` randomly chosen joints of each sample.

    x: (N, 3, T, V, M). Per sample exactly ``j = num_joints`` of the V joints are
    chosen. ``mode="paper"``: those joints (all frames and persons) are multiplied by
    one random 3x3 matrix with entries ~ U[-1, 1]. ``mode="reference"`` (the
    authors' code): with p = 1/2 that, otherwise the chosen joints are set to zero.
    Returns (N, 3, T, V, M).
    """
    _check_coords(x)
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
    mat = _uniform((n, 3, 3), -1.0, 1.0, x, generator)
    moved = apply_matrix(x, mat)
    if mode == "reference":
        transform = torch.rand(n, generator=generator, device=x.device) < 0.5
        moved = torch.where(transform[:, None, None, None, None], moved, torch.zeros_like(moved))
    return torch.where(mask[:, None, None, :, None], moved, x)
