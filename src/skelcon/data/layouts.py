"""Joint layouts as data: joint names, bones, and the joints normalisation aligns.

A :class:`JointLayout` is everything the rest of skelcon needs to know about a
skeleton: the graph encoder builds its adjacency from ``bones``, normalisation
centres on ``center`` and aligns ``spine`` and ``shoulders``, augmentations take the
joint count from ``num_joints``. Indices are 0-based.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SkelconError, choices_message


@dataclass(frozen=True)
class JointLayout:
    """A skeleton layout.

    ``bones`` are ``(child, parent)`` pairs pointing towards ``center`` (inward);
    ``spine`` is ``(base, top)`` whose vector normalisation aligns with +z and
    ``shoulders`` is ``(left, right)`` whose vector it aligns with +x.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    center: int
    spine: tuple[int, int]
    shoulders: tuple[int, int]

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def __post_init__(self) -> None:
        v = len(self.joints)
        used = [j for b in self.bones for j in b] + [self.center, *self.spine, *self.shoulders]
        bad = [j for j in used if not 0 <= j < v]
        if bad:
            raise ValueError(f"layout {self.name}: joint indices {bad} outside 0..{v - 1}")

    def adjacency(self) -> np.ndarray:
        """Spatial-partition adjacency ``(3, V, V)`` float32: identity, inward, outward.

        Each of the inward and outward matrices is column-normalised by in-degree,
        as in ST-GCN / 2s-AGCN, so ``x @ A[k]`` averages over neighbours.
        """
        v = self.num_joints
        inward = np.zeros((v, v), dtype=np.float64)
        for child, parent in self.bones:
            inward[parent, child] = 1.0
        outward = inward.T.copy()

        def norm(a: np.ndarray) -> np.ndarray:
            deg = a.sum(axis=0)
            inv = np.where(deg > 0, 1.0 / np.maximum(deg, 1e-12), 0.0)
            return a * inv[None, :]

        return np.stack([np.eye(v), norm(inward), norm(outward)]).astype(np.float32)


def _bones_1based(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)


NTU25 = JointLayout(
    name="ntu25",
    joints=(
        "spine_base",
        "spine_mid",
        "neck",
        "head",
        "shoulder_left",
        "elbow_left",
        "wrist_left",
        "hand_left",
        "shoulder_right",
        "elbow_right",
        "wrist_right",
        "hand_right",
        "hip_left",
        "knee_left",
        "ankle_left",
        "foot_left",
        "hip_right",
        "knee_right",
        "ankle_right",
        "foot_right",
        "spine_shoulder",
        "handtip_left",
        "thumb_left",
        "handtip_right",
        "thumb_right",
    ),  # fmt: skip
    bones=_bones_1based(
        [
            (1, 2),
            (2, 21),
            (3, 21),
            (4, 3),
            (5, 21),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 21),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
            (22, 23),
            (23, 8),
            (24, 25),
            (25, 12),
        ]
    ),  # fmt: skip
    center=1,
    spine=(0, 1),
    shoulders=(4, 8),
)

KINECT20 = JointLayout(
    name="kinect20",
    joints=(
        "hip_center",
        "spine",
        "shoulder_center",
        "head",
        "shoulder_left",
        "elbow_left",
        "wrist_left",
        "hand_left",
        "shoulder_right",
        "elbow_right",
        "wrist_right",
        "hand_right",
        "hip_left",
        "knee_left",
        "ankle_left",
        "foot_left",
        "hip_right",
        "knee_right",
        "ankle_right",
        "foot_right",
    ),  # fmt: skip
    bones=_bones_1based(
        [
            (2, 1),
            (3, 2),
            (4, 3),
            (5, 3),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 3),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
        ]
    ),  # fmt: skip
    center=1,
    spine=(0, 1),
    shoulders=(4, 8),
)

LAYOUTS: dict[str, JointLayout] = {lay.name: lay for lay in (NTU25, KINECT20)}


def get_layout(name: str) -> JointLayout:
    """The registered layout called ``name`` (``ntu25``, ``kinect20``)."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise SkelconError(choices_message("joint layout", name, sorted(LAYOUTS))) from None
