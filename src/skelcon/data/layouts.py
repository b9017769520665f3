"""Joint layouts as data: joint names, bones, and the joints normalisation aligns.

A :class:`JointLayout` is everything the rest of skelcon needs to know about a
skeleton: the graph encoder builds its adjacency from ``bones``, normalisation
centres on ``center`` and aligns (3D) or scales by (2D) ``spine`` and ``shoulders``,
augmentations take the joint count from ``num_joints``, figures draw the bones.
Indices are 0-based.

Every layout is a small YAML file. The built-in ones (``ntu25``, ``kinect20``,
``coco17``, ``openpose18``, ``openpose25``) ship in ``skelcon/resources/layouts``;
a user's own is given as a path wherever a layout name is accepted
(``--layout my_rig.yaml``)::

    name: my_rig                       # optional (default: the file name)
    joints: [pelvis, chest, head, l_hand, r_hand]
    bones:                             # [child, parent] pairs, names or 0-based indices
      - [chest, pelvis]
      - [head, chest]
      - [l_hand, chest]
      - [r_hand, chest]
    center: pelvis                     # the joint every frame is centred on
    up: [pelvis, chest]                # base -> top: aligned with +z (3D); body length (2D)
    left_right: [l_hand, r_hand]       # the person's left -> right: aligned with +x (3D)

A prepared dataset's ``meta.json`` keeps the layout's full definition
(:meth:`JointLayout.to_dict`, key ``layout_def``), so the data work without the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import SkelconError, choices_message
from ..utils.text import read_text, yaml_error_message

__all__ = [
    "BUILTIN_LAYOUTS",
    "JointLayout",
    "KINECT20",
    "LAYOUTS",
    "NTU25",
    "get_layout",
    "layout_from_dict",
    "layout_from_meta",
    "load_layout",
    "read_layout_file",
]

BUILTIN_LAYOUTS = ("ntu25", "kinect20", "coco17", "openpose18", "openpose25")
_KEYS = ("name", "description", "joints", "bones", "center", "up", "left_right")


@dataclass(frozen=True)
class JointLayout:
    """A skeleton layout.

    ``bones`` are ``(child, parent)`` pairs pointing towards ``center`` (inward);
    ``spine`` is ``(base, top)`` ("up" in a layout file) whose vector normalisation
    aligns with +z (3D) or whose length is the body scale (2D); ``shoulders`` is
    ``(left, right)`` ("left_right") whose vector it aligns with +x (3D).
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    center: int
    spine: tuple[int, int]
    shoulders: tuple[int, int]
    description: str = field(default="", compare=False)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def __post_init__(self) -> None:
        v = len(self.joints)
        used = [j for b in self.bones for j in b] + [self.center, *self.spine, *self.shoulders]
        bad = [j for j in used if not 0 <= j < v]
        if bad:
            raise ValueError(f"layout {self.name}: joint indices {bad} outside 0..{v - 1}")

    @property
    def builtin(self) -> bool:
        """True when this is exactly the packaged layout of the same name."""
        return self.name in BUILTIN_LAYOUTS and _builtin(self.name) == self

    def to_dict(self) -> dict[str, Any]:
        """The layout as plain JSON/YAML values (joint names in ``bones`` etc.);
        :func:`layout_from_dict` reads it back to an equal layout."""
        j = self.joints
        return {
            "name": self.name,
            "description": self.description,
            "joints": list(j),
            "bones": [[j[a], j[b]] for a, b in self.bones],
            "center": j[self.center],
            "up": [j[self.spine[0]], j[self.spine[1]]],
            "left_right": [j[self.shoulders[0]], j[self.shoulders[1]]],
        }

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


# --------------------------------------------------------------------------- parsing


def layout_from_dict(
    d: Any, source: str = "layout", default_name: str | None = None
) -> JointLayout:
    """Validate a layout definition (a parsed layout YAML or ``meta["layout_def"]``).

    Joints in ``bones``, ``center``, ``up`` and ``left_right`` are joint names or
    0-based indices. Raises :class:`SkelconError` naming ``source``, the key and what
    is valid.
    """

    def bad(key: str, what: str) -> SkelconError:
        return SkelconError(f"{source}: {key}: {what}")

    if not isinstance(d, dict):
        raise SkelconError(
            f"{source}: a layout is a mapping with keys {', '.join(_KEYS[2:])} "
            f"(got {type(d).__name__})"
        )
    unknown = sorted(str(k) for k in d if k not in _KEYS)
    if unknown:
        raise bad(unknown[0], f"unknown key (valid: {', '.join(_KEYS)})")
    missing = [k for k in ("joints", "bones", "center", "up", "left_right") if k not in d]
    if missing:
        raise bad(missing[0], "missing (a layout needs joints, bones, center, up, left_right)")
    name = d.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise bad("name", f"must be a non-empty one-line string, got {name!r}")
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise bad("description", f"must be a string, got {desc!r}")
    joints = d["joints"]
    if not isinstance(joints, list) or not joints:
        raise bad("joints", "must be a non-empty list of joint names")
    if not all(isinstance(j, str) and j.strip() for j in joints):
        raise bad("joints", "every joint name must be a non-empty string")
    dup = sorted({j for j in joints if joints.count(j) > 1})
    if dup:
        raise bad("joints", f"joint name {dup[0]!r} appears twice")
    index = {n: i for i, n in enumerate(joints)}
    v = len(joints)

    def joint(value: Any, key: str) -> int:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            if 0 <= value < v:
                return value
            raise bad(key, f"joint index {value} outside 0..{v - 1}")
        elif isinstance(value, str) and value in index:
            return index[value]
        shown = ", ".join(joints[:8]) + (", ..." if v > 8 else "")
        raise bad(
            key,
            f"unknown joint {value!r} (valid: a name of joints ({shown}) or an index 0..{v - 1})",
        )

    def pair(value: Any, key: str) -> tuple[int, int]:
        if not isinstance(value, list) or len(value) != 2:
            raise bad(key, f"must be a pair [joint, joint], got {value!r}")
        a, b = joint(value[0], key), joint(value[1], key)
        if a == b:
            raise bad(key, f"the two joints must differ, got {value!r}")
        return a, b

    bones = d["bones"]
    if not isinstance(bones, list):
        raise bad("bones", "must be a list of [child, parent] pairs")
    bone_idx = tuple(pair(b, f"bones[{i}]") for i, b in enumerate(bones))
    seen: set[frozenset[int]] = set()
    for i, (a, b) in enumerate(bone_idx):
        if frozenset((a, b)) in seen:
            raise bad(f"bones[{i}]", f"bone {joints[a]}-{joints[b]} is listed twice")
        seen.add(frozenset((a, b)))
    return JointLayout(
        name=name.strip(),
        joints=tuple(joints),
        bones=bone_idx,
        center=joint(d["center"], "center"),
        spine=pair(d["up"], "up"),
        shoulders=pair(d["left_right"], "left_right"),
        description=desc,
    )


def read_layout_file(path: str | os.PathLike) -> JointLayout:
    """A layout YAML file (see the module doc); one-line :class:`SkelconError` naming
    the file and the key on any problem."""
    p = Path(path)
    if not p.is_file():
        raise SkelconError(f"layout file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(read_text(p, "layout file"))
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # file:line:column, one line
        raise SkelconError(yaml_error_message("layout file", p, e)) from None
    return layout_from_dict(data, f"layout file {str(p)!r}", default_name=p.stem)


@cache
def _builtin(name: str) -> JointLayout:
    text = (
        resources.files("skelcon")
        .joinpath("resources", "layouts", f"{name}.yaml")
        .read_text(encoding="utf-8")
    )
    return layout_from_dict(yaml.safe_load(text), f"built-in layout {name}")


def get_layout(name: str) -> JointLayout:
    """The built-in layout called ``name`` (``ntu25``, ``kinect20``, ``coco17``,
    ``openpose18``, ``openpose25``)."""
    if name not in BUILTIN_LAYOUTS:
        raise SkelconError(
            choices_message("joint layout", name, BUILTIN_LAYOUTS) + " or a layout YAML file"
        )
    return _builtin(name)


def load_layout(spec: str | os.PathLike | JointLayout) -> JointLayout:
    """A layout from a built-in name, a YAML file path, or a layout itself.

    A value ending in ``.yaml``/``.yml`` or naming an existing file is read as a file
    (:func:`read_layout_file`); anything else must be a built-in name.
    """
    if isinstance(spec, JointLayout):
        return spec
    s = str(spec)
    if s in BUILTIN_LAYOUTS:
        return _builtin(s)
    if s.lower().endswith((".yaml", ".yml")) or os.sep in s or Path(s).is_file():
        return read_layout_file(s)
    return get_layout(s)


def layout_from_meta(meta: dict) -> JointLayout:
    """The layout of a prepared dataset (or a checkpoint's data spec): its stored
    definition ``layout_def`` when present, else the built-in ``layout`` name."""
    d = meta.get("layout_def")
    if d is not None:
        return layout_from_dict(d, f"the layout stored with dataset {meta.get('dataset')!r}")
    return get_layout(str(meta["layout"]))


LAYOUTS: dict[str, JointLayout] = {n: _builtin(n) for n in BUILTIN_LAYOUTS}
NTU25 = LAYOUTS["ntu25"]
KINECT20 = LAYOUTS["kinect20"]
