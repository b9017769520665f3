"""3D stick figures drawn from a :class:`~skelcon.data.layouts.JointLayout`'s bones.

Poses are first rotated into a viewing frame (right, forward, up) computed from the
layout's spine and shoulder joints, so a person stands upright and faces the camera
whatever the data's coordinate convention (for NTU-prepared data, spine on +z and
shoulders on +x, the rotation is close to the identity). Each drawn pose is one
``Line3DCollection`` with one segment per bone of ``layout.bones`` whose two joints are
drawn (:func:`drawn_joints`: missing joints are NaN, :func:`skelcon.viz.poses.pose_view`);
the person's left side is blue, the right side red, the trunk grey.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mpl_toolkits.mplot3d import Axes3D
from mpl_toolkits.mplot3d.art3d import Line3DCollection

from ..data.layouts import JointLayout

LEFT, RIGHT, TRUNK = "#1f77b4", "#d62728", "#555555"
ELEV, AZIM = 12.0, 70.0  # camera: slightly above, in front and a little to the person's right


def bone_colors(layout: JointLayout) -> list[str]:
    """One colour per bone: left limbs blue, right limbs red, the rest grey."""
    out = []
    for child, _ in layout.bones:
        name = layout.joints[child]
        out.append(LEFT if "left" in name else RIGHT if "right" in name else TRUNK)
    return out


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-8 else None


def view_rotation(x: np.ndarray, layout: JointLayout, num_frames: int | None = None) -> np.ndarray:
    """Rotation ``R (3, 3)`` whose rows are the person's right, forward and up directions.

    x: (3, T, V, M) one sample. ``up`` is the mean spine vector (base -> top) of person
    0 over its valid frames, ``right`` the mean shoulder vector (left -> right) made
    orthogonal to it, ``forward = up x right``. Falls back to the identity when those
    joints are degenerate. ``R @ p`` gives a joint in viewing coordinates.
    """
    t = x.shape[1] if num_frames is None else max(1, min(int(num_frames), x.shape[1]))
    p = x[:, :t, :, 0]  # (3, t, V)
    base, top = layout.spine
    left, right = layout.shoulders
    up = _unit((p[:, :, top] - p[:, :, base]).mean(axis=1))
    side = (p[:, :, right] - p[:, :, left]).mean(axis=1)
    if up is None:
        return np.eye(3)
    r = _unit(side - side.dot(up) * up)
    if r is None:
        return np.eye(3)
    return np.stack([r, np.cross(up, r), up])


def to_view(x: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Apply ``rot (3, 3)`` to the coordinate axis 0 of ``x (3, ...)``; all-zero joints stay zero."""
    return np.tensordot(rot, x, axes=(1, 0))


def drawn_joints(pose: np.ndarray) -> np.ndarray:
    """Which joints of drawable coordinates ``pose (K, ...)`` are drawn: ``(...)`` bool,
    those with every coordinate finite (:func:`skelcon.viz.poses.pose_view` marks a
    missing joint NaN)."""
    return np.isfinite(pose).all(axis=0)


def present_persons(x: np.ndarray, frame: int) -> list[int]:
    """Persons of ``frame`` of ``x (K, T, V, M)`` with a drawn joint off the origin (an
    absent person is all NaN in drawable coordinates, all 0 in stored ones)."""
    p = x[:, frame]  # (K, V, M)
    seen = drawn_joints(p) & np.any(p != 0, axis=0)  # (V, M)
    return [m for m in range(x.shape[3]) if seen[:, m].any()]


def draw_pose(
    ax: Axes3D,
    pose: np.ndarray,
    layout: JointLayout,
    *,
    colors: Sequence[str] | str | None = None,
    linewidth: float = 2.0,
    alpha: float = 1.0,
) -> Line3DCollection:
    """Draw one skeleton ``pose (3, V)`` as 3D segments: one per bone of the layout whose
    two joints are drawn (a NaN joint is missing, :func:`drawn_joints`)."""
    bones = np.asarray(layout.bones, dtype=np.int64)  # (B, 2)
    keep = drawn_joints(pose)[bones].all(axis=1)  # (B,)
    cols = colors if colors is not None else bone_colors(layout)
    if not isinstance(cols, str):
        cols = [c for c, k in zip(cols, keep, strict=True) if k]
    segs = pose.T[bones[keep]]  # (B', 2, 3)
    coll = Line3DCollection(segs, colors=cols, linewidths=linewidth, alpha=alpha, capstyle="round")
    ax.add_collection3d(coll)
    return coll


def draw_frame(
    ax: Axes3D, x: np.ndarray, layout: JointLayout, frame: int, **kw
) -> list[Line3DCollection]:
    """Draw every present person of ``frame`` of ``x (3, T, V, M)`` (viewing coordinates)."""
    persons = present_persons(x, frame) or [0]
    return [draw_pose(ax, x[:, frame, :, m], layout, **kw) for m in persons]


def pose_limits(x: np.ndarray, frames: Sequence[int], margin: float = 0.06) -> np.ndarray:
    """Cube limits ``(3, 2)`` holding every present joint of ``frames`` of ``x (3, T, V, M)``."""
    pts = [x[:, f, :, m] for f in frames for m in (present_persons(x, f) or [0])]
    allp = np.concatenate(pts, axis=1) if pts else np.zeros((3, 1))
    allp = allp[:, drawn_joints(allp)]
    allp = allp if allp.size else np.zeros((3, 1))
    lo, hi = allp.min(axis=1), allp.max(axis=1)
    center = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
    return np.stack([center - half, center + half], axis=1)


def merge_limits(*limits: np.ndarray) -> np.ndarray:
    """The cube holding all the given cube limits."""
    lo = np.min([lim[:, 0] for lim in limits], axis=0)
    hi = np.max([lim[:, 1] for lim in limits], axis=0)
    center, half = (lo + hi) / 2, float((hi - lo).max()) / 2
    return np.stack([center - half, center + half], axis=1)


def style_pose_axes(
    ax: Axes3D, limits: np.ndarray, *, elev: float = ELEV, azim: float = AZIM
) -> None:
    """Equal-scale cube, orthographic camera in front of the person, no axis clutter."""
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.set_zlim(*limits[2])
    ax.set_box_aspect((1, 1, 1), zoom=1.3)
    ax.set_proj_type("ortho")
    ax.view_init(elev=elev, azim=azim)
    ax.set_axis_off()
    # a faint floor line under the feet gives the figure a ground
    (x0, x1), (y0, y1), z0 = limits[0], limits[1], limits[2][0]
    ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], [z0] * 5, color="#dddddd", linewidth=0.6)


def draw_pose_2d(
    ax,
    pose: np.ndarray,
    layout: JointLayout,
    *,
    colors: Sequence[str] | str | None = None,
    linewidth: float = 2.0,
    alpha: float = 1.0,
):
    """Draw one 2D skeleton ``pose (2, V)`` (image coordinates) as a ``LineCollection``
    of the layout's bones, leaving out bones with a missing end joint (NaN, as
    :func:`skelcon.viz.poses.pose_view` marks them; :func:`drawn_joints`)."""
    from matplotlib.collections import LineCollection

    bones = np.asarray(layout.bones, dtype=np.int64)  # (B, 2)
    keep = drawn_joints(pose)[bones].all(axis=1)
    cols = colors if colors is not None else bone_colors(layout)
    if not isinstance(cols, str):
        cols = [c for c, k in zip(cols, keep, strict=True) if k]
    coll = LineCollection(
        pose.T[bones[keep]], colors=cols, linewidths=linewidth, alpha=alpha, capstyle="round"
    )
    ax.add_collection(coll)
    return coll
