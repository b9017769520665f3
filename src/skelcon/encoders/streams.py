"""Input streams: joint, bone and motion, the first step of every encoder.

The field's three input streams (AimCLR, CMD, ActCLR, PYSKL after 2s-AGCN / MS-G3D):

- ``joint``: the coordinates as they come;
- ``bone``: each joint minus its parent, ``x[..., v, :] - x[..., parent(v), :]``, the parent
  being the other end of the layout bone that names ``v`` as its child; a joint that is no
  bone's child (the layout's root: NTU's spine_shoulder, as in AimCLR's 25 pairs) is its
  own parent, a zero bone;
- ``motion``: frame differences ``x[:, :, t + 1] - x[:, :, t]``, the last frame zero.

The transform runs inside the encoder (:class:`InputStream`, an encoder's
``input_stream``), so it comes after augmentation on every view of pre-training, and
every evaluation, ``embed``, the Python API and the exported graph apply it to the joint
input they are given, identically.

Missing joints (skelcon stores an undetected joint as every channel exactly 0) stay 0:
a bone is 0 where either of its joints is missing, a motion is 0 where the joint is
missing in either frame (the references difference the raw zeros, which turns a joint
that disappears into a jump the size of its position). With ``center_origin`` (data
centred on the layout's ``center`` joint of person 1, without a score channel) that
joint is present at the origin in every frame where another joint of person 1 is. Only
the ``coords`` coordinate channels are differenced; a further channel (a detector's
score) becomes the mean of the two joints' values.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import STREAMS
from ..data.layouts import JointLayout
from ..errors import SkelconError, choices_message

__all__ = [
    "STREAMS",
    "InputStream",
    "bone_parents",
    "bone_stream",
    "joint_presence",
    "motion_stream",
]


def bone_parents(layout: JointLayout) -> list[int]:
    """``parents[v]``: the joint each joint's bone starts from (its own index for a root).

    From the layout's ``(child, parent)`` bones. Raises :class:`SkelconError` when a
    joint is the child of two bones (the bone stream needs a tree towards the centre).
    """
    parents = list(range(layout.num_joints))
    seen: dict[int, int] = {}
    for child, parent in layout.bones:
        if child in seen:
            j = layout.joints
            raise SkelconError(
                f"layout {layout.name}: joint {j[child]!r} is the child of two bones "
                f"({j[child]}-{j[seen[child]]} and {j[child]}-{j[parent]}); the bone stream "
                "needs each joint to be the child of at most one bone, listed [child, parent] "
                "towards the centre"
            )
        seen[child] = parent
        parents[child] = parent
    return parents


def joint_presence(x: torch.Tensor, center: int | None = None) -> torch.Tensor:
    """Which joints of ``x: (N, C, T, V, M)`` are present: ``(N, 1, T, V, M)`` bool.

    A joint is missing when every channel is exactly 0; ``center`` (the centre joint of
    data centred on it, at the origin) counts as present in every frame where another
    joint of person 1 is.
    """
    present = (x != 0).any(dim=1, keepdim=True)
    if center is None:
        return present
    is_center = torch.arange(x.shape[3], device=x.device) == center  # (V,)
    first = torch.arange(x.shape[4], device=x.device) == 0  # (M,): person 1
    others = (present[..., :1] & ~is_center[:, None]).any(dim=3, keepdim=True)  # (N,1,T,1,1)
    return present | (others & is_center[:, None] & first)


def _combine(a: torch.Tensor, b: torch.Tensor, both: torch.Tensor, coords: int) -> torch.Tensor:
    """``a - b`` on the coordinate channels, the mean of any further channels, 0 where
    ``both`` is False."""
    diff = a[:, :coords] - b[:, :coords]
    if a.shape[1] > coords:
        diff = torch.cat([diff, 0.5 * (a[:, coords:] + b[:, coords:])], dim=1)
    return diff * both.to(diff.dtype)


def bone_stream(
    x: torch.Tensor,
    parents: torch.Tensor | Sequence[int],
    *,
    coords: int | None = None,
    center: int | None = None,
) -> torch.Tensor:
    """Bones of ``x: (N, C, T, V, M)`` -> same shape: joint minus parent joint.

    ``parents``: ``(V,)`` indices (:func:`bone_parents`); ``coords``: the leading
    coordinate channels (default all); ``center``: see :func:`joint_presence`. Zero
    where the joint or its parent is missing, and for a root.
    """
    idx = torch.as_tensor(parents, dtype=torch.long, device=x.device)
    k = x.shape[1] if coords is None else coords
    present = joint_presence(x, center)
    both = present & present.index_select(3, idx)
    return _combine(x, x.index_select(3, idx), both, k)


def motion_stream(
    x: torch.Tensor, *, coords: int | None = None, center: int | None = None
) -> torch.Tensor:
    """Motion of ``x: (N, C, T, V, M)`` -> same shape: ``x[:, :, t+1] - x[:, :, t]``, the
    last frame 0; 0 where the joint is missing in either frame (see :func:`bone_stream`
    for ``coords`` and ``center``)."""
    k = x.shape[1] if coords is None else coords
    present = joint_presence(x, center)
    nxt = torch.cat([x[:, :, 1:], torch.zeros_like(x[:, :, :1])], dim=2)
    both = present & torch.cat([present[:, :, 1:], torch.zeros_like(present[:, :, :1])], dim=2)
    return _combine(nxt, x, both, k)


class InputStream(nn.Module):
    """The input stream of an encoder: ``x: (N, C, T, V, M)`` joints -> the ``stream``,
    same shape (the module doc). Holds no weights: a checkpoint's ``state_dict`` is the
    same for every stream (the stream is recorded in its data spec).

    ``layout`` gives the bones; ``coords`` the coordinate channels (default all);
    ``center_origin``: the data are centred on ``layout.center`` of person 1 and have no
    score channel (:func:`joint_presence`). Raises :class:`SkelconError` for an unknown
    stream or a layout that is not a tree (bone).
    """

    def __init__(
        self,
        stream: str = "joint",
        layout: JointLayout | None = None,
        *,
        coords: int | None = None,
        center_origin: bool = False,
    ) -> None:
        super().__init__()
        if stream not in STREAMS:
            raise SkelconError(choices_message("stream", stream, STREAMS), param="stream")
        if stream == "bone" and layout is None:
            raise SkelconError("the bone stream needs the skeleton layout", param="stream")
        self.stream = stream
        self.coords = coords
        self.center = layout.center if center_origin and layout is not None else None
        parents = bone_parents(layout) if stream == "bone" and layout is not None else []
        self.register_buffer("parents", torch.tensor(parents, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stream == "bone":
            return bone_stream(x, self.parents, coords=self.coords, center=self.center)
        if self.stream == "motion":
            return motion_stream(x, coords=self.coords, center=self.center)
        return x

    def extra_repr(self) -> str:
        return f"stream={self.stream!r}"


def as_input_stream(stream: str | InputStream, layout: JointLayout | None) -> InputStream:
    """An encoder's ``stream`` argument as a module: an :class:`InputStream` as given, a
    name built on ``layout`` with every channel a coordinate (what
    :meth:`skelcon.engine.build.DataSpec.stream_module` refines from the data)."""
    return stream if isinstance(stream, InputStream) else InputStream(stream, layout)
