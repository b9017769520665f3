"""Converting keypoints from one joint layout to another, by tables shipped as data.

A pose estimator's layout is rarely the one a model was trained on: MediaPipe Pose
(``skelcon extract``) gives 33 landmarks, RTMPose COCO's 17, and the datasets skelcon
prepares are NTU's 25 Kinect joints, COCO-17, OpenPose 18 or 25. A *retarget table*
says how to make each joint of the target layout from the source's:

* one source joint (``shoulder_left: left_shoulder``);
* the mean of several (``spine_base: [left_hip, right_hip]``): the coordinates are
  averaged, the score is the smallest of theirs, and the joint is missing when any of
  them is;
* missing (``hand_left: null``): every channel 0, score 0, skelcon's convention for a
  joint the estimator did not find.

The tables are YAML files in ``skelcon/resources/retarget/<source>_to_<target>.yaml``
(:func:`tables_dir`), one per pair, every target joint listed once::

    source: coco17
    target: ntu25
    description: "Kinect v2 / NTU joints from COCO-17"
    joints:
      spine_base: [left_hip, right_hip]
      shoulder_left: left_shoulder
      hand_left: null
      ...

"Left" is the subject's own left in every shipped layout (NTU/Kinect, COCO, OpenPose,
MediaPipe), so left joints map to left joints. Python use::

    from skelcon.data.retarget import find_conversion
    conv = find_conversion(source_layout, target_layout)       # None: no table
    y = conv(x, score_channel=2)    # x (..., V_source, C) -> (..., V_target, C)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import SkelconError
from ..utils.text import read_text, yaml_error_message
from .layouts import JointLayout

__all__ = [
    "Conversion",
    "RetargetTable",
    "conversion_pairs",
    "conversions_from",
    "find_conversion",
    "load_table",
    "no_conversion_message",
    "read_table_file",
    "tables_dir",
]

_KEYS = ("source", "target", "description", "joints")


def tables_dir() -> Path:
    """The folder of the shipped tables, ``skelcon/resources/retarget``."""
    return Path(str(resources.files("skelcon") / "resources" / "retarget"))


@dataclass(frozen=True)
class RetargetTable:
    """One table (module doc): ``source`` and ``target`` layout names and, for every
    target joint (in the file's order), the names of the source joints it is the mean
    of (``()``: missing)."""

    source: str
    target: str
    joints: tuple[tuple[str, tuple[str, ...]], ...]
    description: str = ""
    path: str = ""

    def sources(self, joint: str) -> tuple[str, ...]:
        """The source joints of target ``joint`` (``()``: missing); KeyError if unknown."""
        return dict(self.joints)[joint]

    def bind(self, source: JointLayout, target: JointLayout) -> Conversion:
        """This table as index arrays for these two layouts. Raises
        :class:`SkelconError` naming the table file when the layouts are not the ones
        it was written for: a target joint it does not define or defines but the
        layout lacks, a source joint the source layout lacks."""
        where = f"retarget table {self.path or f'{self.source}_to_{self.target}'}"
        defined = dict(self.joints)
        lacking = [j for j in target.joints if j not in defined]
        extra = [j for j in defined if j not in target.joints]
        if lacking or extra:
            what = (
                f"does not define {target.name} joint {lacking[0]!r}"
                if lacking
                else f"defines {extra[0]!r}, which layout {target.name} lacks"
            )
            raise SkelconError(f"{where}: {what}")
        index = {n: i for i, n in enumerate(source.joints)}
        unknown = [s for _, srcs in self.joints for s in srcs if s not in index]
        if unknown:
            raise SkelconError(
                f"{where}: source joint {unknown[0]!r} is not a joint of layout {source.name}"
            )
        vs, vt = source.num_joints, target.num_joints
        width = max((len(s) for _, s in self.joints), default=1) or 1
        weights = np.zeros((vs, vt), dtype=np.float64)
        gather = np.zeros((vt, width), dtype=np.int64)
        made = np.zeros(vt, dtype=bool)
        for t, name in enumerate(target.joints):
            srcs = [index[s] for s in defined[name]]
            if not srcs:
                continue
            made[t] = True
            weights[srcs, t] = 1.0 / len(srcs)
            gather[t] = srcs + [srcs[0]] * (width - len(srcs))  # padding repeats: min, all
        return Conversion(self, source, target, weights, gather, made)


@dataclass(frozen=True)
class Conversion:
    """A :class:`RetargetTable` bound to its two layouts: ``weights (V_source,
    V_target)`` (column ``t`` averages the sources of target joint ``t``), ``gather
    (V_target, K)`` (the source indices of each target joint, padded by repeating its
    first) and ``made (V_target,)`` (False: the joint is missing by definition)."""

    table: RetargetTable
    source: JointLayout
    target: JointLayout
    weights: np.ndarray
    gather: np.ndarray
    made: np.ndarray

    def __call__(self, x: np.ndarray, score_channel: int | None = None) -> np.ndarray:
        """``x (..., V_source, C)`` -> ``(..., V_target, C)`` float (x's dtype when
        floating, else float64).

        A source joint is missing when any channel is not finite, or with
        ``score_channel`` (the index of the confidence in ``C``) when its score is
        ``<= 0``, else when every channel is 0. A target joint's coordinates are the
        mean of its sources', its score (``score_channel``) the smallest of theirs; it
        is missing, every channel 0, when any source is missing or the table makes
        none. One matrix product and one gather over all leading axes; no loop.
        Raises :class:`SkelconError` when ``x`` is not ``(..., V_source, C)``."""
        a = np.asarray(x)
        if a.ndim < 2 or a.shape[-2] != self.source.num_joints:
            raise SkelconError(
                f"keypoints of shape {list(a.shape)}: expected (..., {self.source.num_joints}, C) "
                f"in layout {self.source.name}"
            )
        if score_channel is not None and not -a.shape[-1] <= score_channel < a.shape[-1]:
            raise SkelconError(
                f"score_channel {score_channel} is outside the {a.shape[-1]} channels",
                param="score_channel",
            )
        a = a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)
        finite = np.isfinite(a).all(axis=-1)
        if score_channel is None:
            present = finite & (a != 0).any(axis=-1)
        else:
            with np.errstate(invalid="ignore"):
                present = finite & (a[..., score_channel] > 0)
        clean = np.where(present[..., None], a, 0).astype(a.dtype, copy=False)
        w = self.weights.astype(a.dtype, copy=False)
        out = np.swapaxes(np.swapaxes(clean, -1, -2) @ w, -1, -2)  # (..., V_target, C)
        ok = present[..., self.gather].all(axis=-1) & self.made  # (..., V_target)
        if score_channel is not None:
            out[..., score_channel] = clean[..., self.gather, score_channel].min(axis=-1)
        return np.where(ok[..., None], out, 0).astype(a.dtype, copy=False)


# ------------------------------------------------------------------------ reading tables


def _table_from_dict(d: Any, where: str) -> RetargetTable:
    """Validate a parsed table (module doc); one-line :class:`SkelconError` naming
    ``where``, the key and what is valid."""
    if not isinstance(d, dict):
        raise SkelconError(f"{where}: a retarget table is a mapping with keys {', '.join(_KEYS)}")
    unknown = sorted(str(k) for k in d if k not in _KEYS)
    if unknown:
        raise SkelconError(f"{where}: {unknown[0]}: unknown key (valid: {', '.join(_KEYS)})")
    for key in ("source", "target"):
        if not isinstance(d.get(key), str) or not d[key].strip():
            raise SkelconError(f"{where}: {key}: must be a layout name, got {d.get(key)!r}")
    joints = d.get("joints")
    if not isinstance(joints, dict) or not joints:
        raise SkelconError(f"{where}: joints: must map every target joint to its sources")
    out: list[tuple[str, tuple[str, ...]]] = []
    for name, value in joints.items():
        key = f"joints: {name}"
        if not isinstance(name, str):
            raise SkelconError(f"{where}: {key}: a joint name must be a string")
        if value is None:
            srcs: tuple[str, ...] = ()
        elif isinstance(value, str):
            srcs = (value,)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            srcs = tuple(value)
        else:
            raise SkelconError(
                f"{where}: {key}: must be a source joint, a list of them (their mean) or "
                f"null (missing), got {value!r}"
            )
        if len(set(srcs)) != len(srcs):
            raise SkelconError(f"{where}: {key}: a source joint is listed twice in {list(srcs)}")
        out.append((name, srcs))
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise SkelconError(f"{where}: description: must be a string, got {desc!r}")
    return RetargetTable(d["source"].strip(), d["target"].strip(), tuple(out), desc, where)


def read_table_file(path: str | os.PathLike[str]) -> RetargetTable:
    """A retarget table YAML file (module doc); one-line :class:`SkelconError` naming
    the file (and line for a YAML syntax error) on any problem."""
    p = Path(path)
    try:
        data = yaml.safe_load(read_text(p, "retarget table"))
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        raise SkelconError(yaml_error_message("retarget table", p, e)) from None
    table = _table_from_dict(data, p.name)
    if p.stem != f"{table.source}_to_{table.target}":
        raise SkelconError(
            f"{p.name}: converts {table.source} to {table.target}, so its file is named "
            f"{table.source}_to_{table.target}.yaml"
        )
    return table


@cache
def conversion_pairs() -> tuple[tuple[str, str], ...]:
    """``(source, target)`` of every shipped table, sorted."""
    pairs = []
    for f in sorted(tables_dir().glob("*_to_*.yaml")):
        source, _, target = f.stem.partition("_to_")
        pairs.append((source, target))
    return tuple(pairs)


def conversions_from(source: str) -> list[str]:
    """The target layouts a shipped table converts ``source`` to, sorted."""
    return [t for s, t in conversion_pairs() if s == source]


@cache
def load_table(source: str, target: str) -> RetargetTable | None:
    """The shipped table converting layout ``source`` to ``target``; None when there
    is none."""
    if (source, target) not in conversion_pairs():
        return None
    return read_table_file(tables_dir() / f"{source}_to_{target}.yaml")


def find_conversion(source: JointLayout, target: JointLayout) -> Conversion | None:
    """The shipped conversion from ``source`` to ``target`` (by their names), bound to
    them; None when no table converts between those names. Raises
    :class:`SkelconError` when a layout's joints are not those its name's table was
    written for (a user's layout file reusing a built-in name)."""
    table = load_table(source.name, target.name)
    return None if table is None else table.bind(source, target)


def no_conversion_message(source: str, target: str) -> str:
    """``no conversion from mediapipe33 to kinect20 (from mediapipe33: coco17, ntu25,
    ...)``: the other half of a refusal."""
    others = conversions_from(source)
    return f"no conversion from {source} to {target} (" + (
        f"from {source}: {', '.join(others)})" if others else f"none from {source})"
    )
