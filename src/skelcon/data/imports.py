"""Importing datasets prepared by other skeleton repositories.

``skelcon prepare import-npy``: the ST-GCN-style folder many self-supervised skeleton
repositories use::

    train_data_joint.npy   (N, C, T, V, M) float   (or train_data.npy)
    train_label.pkl        (names, labels) pickle: list of str, list of int (0-based;
                           --label-base 1 for labels 1..C; an empty class is warned about)
    train_num_frame.npy    (N,) int                (optional: else last non-zero frame + 1)
    val_data_joint.npy, val_label.pkl, val_num_frame.npy

The arrays are memory-mapped and streamed into the writer; the data are stored as
they are (already prepared) unless ``--normalize`` applies
:func:`~skelcon.data.normalize.normalize`. Benchmark ``default``: ``train`` and
``test`` (from ``val_*``).

``skelcon prepare import-pyskl``: a PYSKL / mmaction2 annotation pickle
``{"split": {name: [frame_dir, ...]}, "annotations": [{"frame_dir", "label",
"keypoint": (M, T, V, C), "total_frames", ...}]}``. Split keys ``<bench>_train`` /
``<bench>_val`` / ``<bench>_test`` become benchmark ``<bench>`` with splits ``train`` /
``test`` (``val`` is the test split); bare ``train`` / ``val`` form benchmark
``default``, ``train1`` / ``test1`` benchmark ``split1``. C (2 to 4) comes from the
data, M is padded to the most persons of any annotation, T to the longest one (or
``--max-frames``, longer ones uniformly subsampled). 2D keypoints with a
``keypoint_score`` (M, T, V) become channels ``x, y, score`` (C = 3; ``--no-score``
drops it: C = 2); ``--normalize`` applies the 2D normalisation
(:mod:`skelcon.data.normalize2d`) to 2D keypoints, with ``--score-threshold`` and
``--image-size``. Other annotation keys (``img_shape`` ...) are ignored.

Channels, both importers: ``--channels`` names what C holds; without it
:func:`~skelcon.data.channels.resolve_channels` decides (C = 3 on a 2D layout is
``x, y, score``, said on screen and in meta.json ``channels_assumed``, refused when
that score is not in [0, 1]). An npy file in PYSKL's / mmaction2's ``(N, M, T, V, C)``
order is read so when its shape or first samples show it (:func:`npy_axis_order`;
said on screen and in meta.json ``axes_assumed``; ``--axes`` to choose; data that
back both orders are refused). Arrays whose axes look transposed otherwise
(:func:`axes_problem`) are refused (npy) or the annotation skipped with its reason
(PYSKL). Joints holding NaN or infinity are read as missing (0) and counted (meta.json
``nonfinite_joints``).

Both pickles are read with :mod:`skelcon.data.safe_pickle`, which resolves only numpy's
array and scalar globals (any pickle protocol, Python 2 or 3). Annotations with no
person or no frame are skipped with their reason, never stored as all-zero samples.
"""

from __future__ import annotations

import collections
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.io import npy_error
from ..utils.text import read_text, text_lines
from .channels import (
    check_channels,
    check_score_range,
    coord_count,
    layout_dims,
    resolve_channels,
)
from .clips import (
    ClipNorm,
    clip_to_sample,
    mark_missing,
    missing_summary,
    nonfinite_note,
)
from .layouts import JointLayout, load_layout
from .normalize import normalize, require_finite
from .normalize2d import normalize_2d
from .pipeline import Sample, run_prepare
from .prepared import PreparedWriter, prepare_cleanup
from .safe_pickle import load_label_pickle, load_restricted, short_repr

MAX_CLASSES = 100_000  # a label at or above this is a damaged file, not a class
SPLIT_KEY_RE = re.compile(r"(?:(?P<bench>.+)_)?(?P<split>train|val|test)(?P<num>\d*)")


def read_class_names(path: str | os.PathLike | None, num_classes: int) -> list[str]:
    """Class names from a text file (one per line), or ``class_0`` .. for ``None``."""
    if num_classes > MAX_CLASSES:
        raise SkelconError(f"labels need {num_classes} classes (at most {MAX_CLASSES} supported)")
    if path is None:
        return [f"class_{i}" for i in range(num_classes)]
    names = [s for _, s in text_lines(read_text(path, "--classes file"))]
    if len(names) < num_classes:
        raise SkelconError(
            f"classes {str(path)!r} names {len(names)} classes but the labels need {num_classes}",
            param="classes",
        )
    return names


def empty_class_warning(
    tool: str, labels: list[int], class_list: list[str], label_base: int
) -> str:
    """A warning naming the classes below the largest label that no sample has.

    Labels ``1..C`` read as 0-based leave class 0 empty and shift every class name by
    one: the warning then says to pass ``--label-base 1``. Returns ``""`` when every
    class has samples.
    """
    present = set(labels)
    empty = [c for c in range(max(present, default=-1) + 1) if c not in present]
    if not empty:
        return ""
    shown = ", ".join(f"{c} ({class_list[c]})" for c in empty[:5]) + (
        " ..." if len(empty) > 5 else ""
    )
    msg = f"{tool}: warning: {len(empty)} class(es) have no samples: {shown}"
    if empty[0] == 0 and label_base == 0:
        msg += "; the labels start at 1: if they are 1-based, rerun with --label-base 1"
    return msg


def repeat_period(x: np.ndarray) -> int:
    """The smallest ``L`` with ``x[:, t] == x[:, t - L]`` for every frame ``t >= L`` of
    ``x (C, T, V, M)``, exactly; ``T`` when there is none.

    This is how 2s-AGCN's ``pre_normalization`` (and the repositories built on it) pad a
    clip of ``L`` frames to ``T``: by repeating its frames, ``x[t] = x[t mod L]``; its
    later centring and rotation act on every frame alike, so the copies stay
    bit-identical. Real motion-capture frames are never bit-identical over a whole
    period, so a period found here is the clip's true length.
    """
    t = x.shape[1]
    if t < 2:
        return t
    frames = np.ascontiguousarray(np.moveaxis(x, 1, 0).reshape(t, -1))
    _, ids = np.unique(frames, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    for period in np.flatnonzero(ids[1:] == ids[0]) + 1:  # candidates: frame 0 recurs there
        if np.array_equal(ids[period:], ids[: t - period]):
            return int(period)
    return t


def infer_num_frames(x: np.ndarray) -> tuple[int, str]:
    """The true length of an ``x (C, T, V, M)`` imported without ``*_num_frame.npy``.

    Zero padding at the end is dropped first (``"zero"``); then a repeat period
    (:func:`repeat_period`, ``"repeat"``); ``"none"`` when the clip fills ``T``.
    """
    nf = valid_frames(x)
    how = "zero" if nf < x.shape[1] else "none"
    period = repeat_period(x[:, :nf])
    if period < nf:
        return period, "repeat"
    return nf, how


def frames_note(inferred: dict[str, int]) -> str:
    """What was inferred about clip lengths, for the screen (``""`` if nothing was)."""
    if not inferred.get("zero") and not inferred.get("repeat") and not inferred.get("none"):
        return ""
    parts = [
        f"{inferred[k]} {what}"
        for k, what in (
            (
                "repeat",
                "padded by repeating their frames (2s-AGCN pre_normalization): true "
                "length = the repeat period",
            ),
            ("zero", "zero-padded: length = last non-zero frame + 1"),
            ("none", "fill every frame"),
        )
        if inferred.get(k)
    ]
    return "no *_num_frame.npy, clip lengths inferred: " + "; ".join(parts)


def valid_frames(x: np.ndarray) -> int:
    """1 + the last frame of ``x (C, T, V, M)`` holding a non-zero value (at least 1)."""
    nz = np.flatnonzero(np.abs(x).sum(axis=(0, 2, 3)) > 0)
    return int(nz[-1]) + 1 if len(nz) else 1


def _real_numeric(dtype: np.dtype) -> bool:
    """Integer or floating point (not bool, complex, strings, dates or objects)."""
    return bool(np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))


def _load_npy(path: Path) -> np.ndarray:
    """Memory-map an ``.npy`` file; any damage (header, size, pickled objects) is a
    one-line error."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as e:  # a damaged header raises ValueError, SyntaxError, TokenError...
        raise SkelconError(f"cannot read {str(path)!r}: {npy_error(e)}") from None


MAX_PERSONS = 10
"""More persons than frames *and* more than this: the person and frame axes look swapped."""


def axes_problem(shape: Sequence[int], axes: str, layout: JointLayout) -> str:
    """Why an array of ``shape`` with axes ``axes`` (e.g. ``"NCTVM"``, ``"MTVC"``) looks
    like another axis order, or "" when it fits: the joint axis must have the layout's
    joint count, C must be 2 to 4, and the persons must not outnumber the frames by
    far (``M > T`` and ``M > MAX_PERSONS``: frames and persons swapped). The reason
    names what each axis holds and which order the shape would fit."""
    dims = dict(zip(axes, (int(n) for n in shape), strict=True))
    v, c, t, m = dims["V"], dims["C"], dims["T"], dims["M"]
    got = "(" + ", ".join(f"{a}={n}" for a, n in dims.items()) + ")"
    want = "(" + ", ".join(axes) + ")"
    if v != layout.num_joints:
        where = [a for a, n in dims.items() if n == layout.num_joints and a != "N"]
        hint = (
            f"; axis {where[0]} has {layout.num_joints}: are the axes in another order?"
            if where
            else " (--layout: choose the layout of the data)"
        )
        return (
            f"shape {got} has V={v} joints but layout {layout.name} has "
            f"{layout.num_joints}{hint}; expected {want}"
        )
    if not 2 <= c <= 4:
        return (
            f"shape {got} has C={c} channels (expected 2 to 4: x,y[,z][,score]); are the "
            f"axes in another order? expected {want}"
        )
    if m > t and m > MAX_PERSONS:
        return (
            f"shape {got} has {m} persons but only {t} frames: the frame and person axes "
            f"look swapped; expected {want}"
        )
    return ""


NPY_ORDERS = {"NCTVM": (0, 1, 2, 3, 4), "NMTVC": (0, 4, 2, 3, 1)}
"""The axis orders of an import-npy data file, as the permutation to ``(N, C, T, V, M)``:
ST-GCN's ``(N, C, T, V, M)`` and PYSKL's / mmaction2's ``(N, M, T, V, C)``."""
ORDER_NAMES = {"NCTVM": "(N, C, T, V, M)", "NMTVC": "(N, M, T, V, C)"}


def _order_evidence(head: np.ndarray, layout: JointLayout) -> str:
    """Why ``head (n, C, T, V, M)`` (the first samples, in one candidate order) looks
    right in that order, or "": its last channel is a confidence in [0, 1] (C = 3 on a
    2D layout, or C = 4), or a person other than the first is all zero (padding) in a
    sample where the first is not."""
    c, m = head.shape[1], head.shape[4]
    x = np.nan_to_num(head.astype(np.float64, copy=False), nan=0.0, posinf=2.0, neginf=-2.0)
    if c == 4 or (c == 3 and layout_dims(layout) == 2):
        last = x[:, -1]
        if last.size and last.min() >= 0 and last.max() <= 1 and last.any():
            return f"its last channel is a score in [0, 1] (C={c})"
    if m >= 2:
        present = x.any(axis=(1, 2, 3))  # (n, M)
        if (present[:, 0] & ~present[:, 1:].all(axis=1)).any():
            return "a person other than the first is all zero (padding) in some samples"
    return ""


def npy_axis_order(
    data: np.ndarray,
    layout: JointLayout,
    channels: Sequence[str] | None = None,
    axes: str | None = None,
    where: str = "data",
) -> tuple[str, str]:
    """The axis order of a 5-D import-npy array: ``(key of NPY_ORDERS, why)``; ``why``
    is "" for the standard ``(N, C, T, V, M)`` taken as documented.

    ``(N, M, T, V, C)`` (as PYSKL and mmaction2 write) is taken when its shape fits
    (V the layout's joints, C = 2..4, M = 1..:data:`MAX_PERSONS`, C = the count of
    ``channels`` (``--channels``) when given) and either the standard order does not fit or
    the first samples say so (:func:`_order_evidence`: a score channel, padding
    persons) while they say nothing for the standard order. ``axes`` (``--axes``)
    names the order instead. Raises a one-line :class:`SkelconError` naming ``where``,
    both readings and ``--axes`` when both orders fit and the data back both, or when
    ``--channels`` fits only the other order and the data do not back it."""
    shape = tuple(int(n) for n in data.shape)
    if axes is not None:
        if axes not in NPY_ORDERS:
            raise SkelconError(f"axes {axes!r}: valid are {', '.join(NPY_ORDERS)}", param="axes")
        return axes, ("" if axes == "NCTVM" else f"--axes {axes}")

    def channels_fit(c: int) -> bool:
        return channels is None or c == len(channels)

    _, m, t, v, c = shape  # as (N, M, T, V, C)
    std_shape = not axes_problem(shape, "NCTVM", layout)
    std = std_shape and channels_fit(m)
    alt = (
        v == layout.num_joints and 2 <= c <= 4 and 1 <= m <= min(MAX_PERSONS, t) and channels_fit(c)
    )
    if not alt or shape[0] == 0:
        return "NCTVM", ""
    n_head = min(shape[0], 64)
    head = np.asarray(data[:n_head])
    std_why = _order_evidence(head, layout) if std else ""
    alt_why = _order_evidence(head.transpose(NPY_ORDERS["NMTVC"]), layout)
    as_alt = f"{ORDER_NAMES['NMTVC']} with M={m} persons and C={c} channels"
    as_std = f"{ORDER_NAMES['NCTVM']} with C={m} channels and M={c} persons"
    got = f"{where} of shape {list(shape)}"
    if not std_shape:
        return "NMTVC", f"only {ORDER_NAMES['NMTVC']} fits the shape"
    if alt_why and std_why:
        raise SkelconError(
            f"{got} fits both {as_std} ({std_why}) and {as_alt} ({alt_why}); pass --axes NCTVM "
            "or --axes NMTVC to say which"
        )
    if alt_why and not std:
        return "NMTVC", f"--channels {','.join(channels or ())} and {alt_why}"
    if alt_why:
        return "NMTVC", alt_why
    if not std:  # --channels fits only the other order, and the data do not back it
        raise SkelconError(
            f"channels {','.join(channels or ())} names {len(channels or ())} channels but "
            f"{where} has C={m} (shape {list(shape)} as {ORDER_NAMES['NCTVM']}); as {as_alt} "
            "it would fit, but nothing in the data shows that order: pass --axes NMTVC if it "
            "is written so, else fix --channels",
            param="channels",
        )
    return "NCTVM", ""


def _find_npy_split(
    raw: Path,
    prefix: str,
    layout: JointLayout,
    label_base: int = 0,
    channels: Sequence[str] | None = None,
    axes: str | None = None,
) -> dict[str, Any] | None:
    data_path = next(
        (
            raw / f"{prefix}_{n}.npy"
            for n in ("data_joint", "data")
            if (raw / f"{prefix}_{n}.npy").is_file()
        ),
        None,
    )
    label_path = raw / f"{prefix}_label.pkl"
    if data_path is None and not label_path.is_file():
        return None
    if data_path is None:
        raise SkelconError(f"{str(label_path)!r} has no {prefix}_data_joint.npy beside it")
    if not label_path.is_file():
        raise SkelconError(f"{str(data_path)!r} has no {prefix}_label.pkl beside it")
    data = _load_npy(data_path)
    if data.ndim != 5:
        raise SkelconError(
            f"{data_path} has shape {tuple(data.shape)}; expected 5 dims (N, C, T, V, M)"
        )
    if not _real_numeric(data.dtype):
        raise SkelconError(f"{data_path} holds {data.dtype} values; expected real numbers")
    if 0 in data.shape[1:]:
        raise SkelconError(f"{data_path} has shape {tuple(data.shape)}: C, T, V and M must be >= 1")
    order, why = npy_axis_order(data, layout, channels, axes, str(data_path))
    stored = tuple(int(n) for n in data.shape)
    if order != "NCTVM":  # a view: the memory map is read sample by sample as before
        data = data.transpose(NPY_ORDERS[order])
    problem = axes_problem(data.shape, "NCTVM", layout)
    if problem:
        raise SkelconError(f"{data_path}: {problem}")
    axes_info = None
    if order != "NCTVM":
        axes_info = {
            "file": str(data_path),
            "shape": list(stored),
            "read_as": ORDER_NAMES[order],
            "why": why,
        }
    names, labels = load_label_pickle(label_path)
    labels = [v - label_base for v in labels]
    if len(names) != data.shape[0]:
        raise SkelconError(
            f"{label_path} lists {len(names)} samples but {data_path} holds {data.shape[0]}"
        )
    if labels and min(labels) < 0:
        raise SkelconError(
            f"{label_path}: label {min(labels) + label_base} is below --label-base {label_base}"
        )
    if labels and max(labels) >= MAX_CLASSES:
        raise SkelconError(
            f"{label_path}: label {max(labels) + label_base} is not below {MAX_CLASSES + label_base}"
        )
    frames_path = raw / f"{prefix}_num_frame.npy"
    frames = None
    if frames_path.is_file():
        raw_frames = np.asarray(_load_npy(frames_path))
        if raw_frames.ndim != 1 or not _real_numeric(raw_frames.dtype):
            raise SkelconError(
                f"{frames_path} must be a 1-D array of frame counts, got {raw_frames.dtype} "
                f"of shape {raw_frames.shape}"
            )
        if not np.array_equal(raw_frames, np.round(raw_frames)):  # NaN, Inf, 2.5
            raise SkelconError(f"{frames_path} holds values that are not whole frame counts")
        frames = np.clip(raw_frames, -1, 2**62).astype(np.int64)
        if len(frames) != data.shape[0]:
            raise SkelconError(f"{frames_path} has {len(frames)} entries, expected {data.shape[0]}")
    return {
        "data": data,
        "names": names,
        "labels": labels,
        "frames": frames,
        "data_path": str(data_path),
        "axes": axes_info,
        "order": order,
    }


@prepare_cleanup()
def prepare_import_npy(
    raw: str | os.PathLike,
    out: str | os.PathLike,
    *,
    dataset: str | None = None,
    layout: str = "ntu25",
    classes: str | os.PathLike | None = None,
    normalize_data: bool = False,
    strict: bool = False,
    label_base: int = 0,
    progress: bool = True,
    channels: Sequence[str] | None = None,
    axes: str | None = None,
) -> Path:
    """Import an ST-GCN-style ``train_*/val_*`` npy folder into ``out``.

    ``channels`` names what C holds (default by C: ``x, y, z`` / ``x, y``); e.g.
    ``["x", "y", "score"]`` for ST-GCN's Kinetics npy files (``layout="openpose18"``),
    whose ``--normalize`` is then the 2D normalisation. ``axes``: ``"NCTVM"`` or
    ``"NMTVC"`` (default: :func:`npy_axis_order` decides; a file read as ``(N, M, T,
    V, C)`` is said on screen and in meta.json ``axes_assumed``)."""
    raw = Path(raw)
    if not raw.is_dir():
        raise SkelconError(f"raw {str(raw)!r} is not a directory", param="raw")
    lay = load_layout(layout)
    if label_base not in (0, 1):
        raise SkelconError(f"label_base must be 0 or 1, got {label_base}", param="label_base")
    given = None if channels is None else check_channels(channels, None, "--channels")
    parts = {"train": _find_npy_split(raw, "train", lay, label_base, given, axes)}
    order = axes or (parts["train"]["order"] if parts["train"] is not None else None)
    if parts["train"] is None:
        raise SkelconError(
            f"raw {str(raw)!r} has no train_data_joint.npy + train_label.pkl (the import-npy layout)",
            param="raw",
        )
    parts["test"] = _find_npy_split(raw, "val", lay, label_base, given, order)  # as train
    if axes is None and parts["test"] is not None and parts["test"]["axes"] is not None:
        parts["test"]["axes"]["why"] = f"the order of {parts['train']['data_path']}"
    found = {s: p for s, p in parts.items() if p is not None}
    shapes = {s: tuple(p["data"].shape[1:]) for s, p in found.items()}
    c, t, v, m = shapes["train"]
    if len(set(shapes.values())) > 1:
        raise SkelconError(f"train and val data disagree on (C, T, V, M): {shapes}")
    data_path = found["train"]["data_path"]
    chans, assumed = resolve_channels(channels, c, lay, data_path)
    if normalize_data and chans == ["x", "y", "z", "score"]:
        raise SkelconError("--normalize of 3D data needs x, y, z only, these have a score too")
    if "score" in chans:  # a look at the first samples: is it a confidence?
        head = np.asarray(found["train"]["data"][:256, chans.index("score")], dtype=np.float64)
        head = head[np.isfinite(head)]
        if head.size:
            warn = check_score_range(head.min(), head.max(), chans, bool(assumed), data_path)
            if warn:
                print(f"import-npy: {warn}", file=sys.stderr)
    if assumed:
        print(f"import-npy: note: {assumed}")
    axes_assumed = [p["axes"] for p in found.values() if p["axes"] is not None]
    for a in axes_assumed:
        print(
            f"import-npy: note: {a['file']} of shape {a['shape']} read as {a['read_as']} "
            f"({a['why']}); meta.json 'axes_assumed' (--axes NCTVM reads it as "
            "(N, C, T, V, M))"
        )
    num_classes = max(max(p["labels"], default=-1) for p in found.values()) + 1
    class_list = read_class_names(classes, max(num_classes, 1))
    warning = empty_class_warning(
        "import-npy", [v for p in found.values() for v in p["labels"]], class_list, label_base
    )
    if warning:
        print(warning, file=sys.stderr)
    name = dataset or raw.name
    total = sum(len(p["labels"]) for p in found.values())
    writer = PreparedWriter(
        out,
        dataset=name,
        layout=lay,
        classes=class_list,
        capacity=total,
        max_frames=t,
        num_persons=m,
        channels=c,
        channel_names=chans,
    )

    def parse(task: tuple[str, int]) -> Sample:
        split, i = task
        p = found[split]
        x = np.array(p["data"][i], dtype=np.float32)  # a writable copy
        where = f"{p['data_path']}[{i}]"
        kp, counts = mark_missing(x.transpose(3, 1, 2, 0), chans)  # (M, T, V, C) and back
        x = kp.transpose(3, 1, 2, 0)
        missing.update(counts)
        if counts["nan"]:
            nonfinite.append({"name": p["names"][i], "split": split, "joints": counts["nan"]})
        if not np.any(x):
            raise DataFormatError("all-zero sample (no skeleton data)", where)
        if p["frames"] is not None:
            nf, how = int(p["frames"][i]), "file"
        else:
            nf, how = infer_num_frames(x)
            x[:, nf:] = 0  # the padding (zeros or repeated frames) is not part of the clip
        inferred[how] = inferred.get(how, 0) + 1
        if not 1 <= nf <= t:
            raise DataFormatError(f"num_frames {nf} outside 1..{t}", where)
        if normalize_data and coord_count(chans) == 3:
            x = require_finite(normalize(x, t, lay), where)
        elif normalize_data:
            x = require_finite(normalize_2d(x, lay, chans), where)
        return Sample(p["names"][i], x, p["labels"][i], nf)

    inferred: dict[str, int] = {}
    nonfinite: list[dict[str, Any]] = []
    missing: collections.Counter = collections.Counter()
    tasks = [(s, i) for s, p in found.items() for i in range(len(p["labels"]))]
    rows: dict[str, list[int]] = {s: [] for s in found}
    sink = _RowSink(writer, rows, tasks)
    run_prepare(
        tasks,
        parse,
        sink,
        workers=1,
        strict=strict,
        desc=f"import {name}",  # type: ignore[arg-type]
        name_fn=lambda task: found[task[0]]["names"][task[1]],
        progress=progress,
    )
    if "test" not in found:
        print(f"import-npy: no val_* files in {raw}: benchmark 'default' has only 'train'")
    note = frames_note(inferred)
    if note:
        print(f"import-npy: {note}")
    if nonfinite:
        print(f"import-npy: {nonfinite_note(nonfinite)}")
    if missing_summary(missing):
        print(f"import-npy: {missing_summary(missing)} (meta.json missing_joints)")
    print(
        f"import-npy: {len(writer)} samples written to {out} "
        + ", ".join(f"({s} {len(r)})" for s, r in rows.items())
        + f"; skipped {len(writer.skipped)}"
    )
    return writer.finalize(
        {"default": rows},
        source_format="npy",
        source=str(raw),
        normalized=bool(normalize_data),
        num_frames_source="num_frame.npy"
        if all(p["frames"] is not None for p in found.values())
        else "inferred where num_frame.npy is absent: zero padding dropped, then the repeat "
        "period of 2s-AGCN-style repeated-frame padding",
        num_frames_inferred=inferred,
        channels_assumed=assumed or None,
        axes_assumed=axes_assumed,
        nonfinite_joints=nonfinite,
        missing_joints=dict(missing),
    )


class _RowSink:
    """Stands in for the writer in :func:`run_prepare`, remembering each task's row.

    ``run_prepare`` consumes results in task order, so the n-th ``add`` or ``skip``
    belongs to ``tasks[n]``; names may repeat across splits without clashing.
    """

    def __init__(self, writer: PreparedWriter, rows: dict[str, list[int]], tasks: Sequence[Any]):
        self.writer = writer
        self.rows = rows
        self.tasks = tasks
        self.n = 0

    def add(self, x: np.ndarray, label: int, num_frames: int, name: str) -> int:
        row = self.writer.add(x, label, num_frames, name)
        self.rows[self.tasks[self.n][0]].append(row)
        self.n += 1
        return row

    def skip(self, name: str, reason: str) -> None:
        self.writer.skip(name, reason)
        self.n += 1


# --------------------------------------------------------------------------- PYSKL


def split_key(key: str) -> tuple[str, str] | None:
    """PYSKL split key -> ``(benchmark, "train"|"test")``; None if not recognised."""
    m = SPLIT_KEY_RE.fullmatch(key)
    if m is None:
        return None
    bench = m.group("bench") or (f"split{m.group('num')}" if m.group("num") else "default")
    if m.group("bench") and m.group("num"):
        bench = f"{bench}{m.group('num')}"
    return bench, "train" if m.group("split") == "train" else "test"


def _check_pyskl(obj: Any, path: str) -> tuple[dict[str, list[str]], list[dict]]:
    if not isinstance(obj, dict) or "annotations" not in obj:
        raise SkelconError(
            f"{path}: not a PYSKL annotation pickle (expected a dict with 'annotations')"
        )
    anns = obj["annotations"]
    if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
        raise SkelconError(f"{path}: 'annotations' must be a list of dicts")
    splits = obj.get("split", {})
    if not isinstance(splits, dict) or not all(
        isinstance(k, str) and isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v)
        for k, v in splits.items()
    ):
        raise SkelconError(f"{path}: 'split' must map names to lists of frame_dir strings")
    return {k: list(v) for k, v in splits.items()}, anns


def _shown(name: Any) -> str:
    """A name as it goes into a one-line message: as is when a printable str, else a
    short quoted form (a non-str value may be a shared-reference bomb)."""
    if not isinstance(name, str):
        return short_repr(name)
    return name if name.isprintable() else repr(name)


def _ann_fields(a: dict, i: int, path: str, label_base: int = 0) -> tuple[str, int, np.ndarray]:
    """Validated ``(frame_dir, label, keypoint (M, T, V, C))`` of annotation ``i``."""
    fd = a.get("frame_dir")
    what = f"annotation {i}" + (f" ({_shown(fd)})" if isinstance(fd, str) else "")
    if not isinstance(fd, str) or not fd:
        raise DataFormatError(f"{what}: frame_dir must be a non-empty string", path)
    label = a.get("label")
    if (
        isinstance(label, (bool, np.bool_))
        or not isinstance(label, (int, np.integer))
        or not label_base <= label < MAX_CLASSES + label_base
    ):
        raise DataFormatError(
            f"{what}: label must be an int in {label_base}..{MAX_CLASSES + label_base - 1} "
            f"(--label-base {label_base}), got {short_repr(label)}",
            path,
        )
    kp = a.get("keypoint")
    if not isinstance(kp, np.ndarray) or kp.ndim != 4 or not _real_numeric(kp.dtype):
        shape = getattr(kp, "shape", None)
        raise DataFormatError(
            f"{what}: keypoint must be a numeric (M, T, V, C) array, got {shape}", path
        )
    if kp.shape[0] == 0 or kp.shape[1] == 0:
        raise DataFormatError(
            f"{what}: keypoint has no {'persons' if kp.shape[0] == 0 else 'frames'} "
            f"(shape {kp.shape}, expected (M >= 1, T >= 1, V, C))",
            path,
        )
    m, t, _, c = kp.shape
    if not 2 <= c <= 4:
        raise DataFormatError(
            f"{what}: keypoint shape {kp.shape} has C={c} channels, expected 2 to 4 "
            "(x,y[,z][,score]) as the last of (M, T, V, C)",
            path,
        )
    if m > t and m > MAX_PERSONS:
        raise DataFormatError(
            f"{what}: keypoint shape {kp.shape} has {m} persons but only {t} frames: it looks "
            "like (T, M, V, C); expected (M, T, V, C)",
            path,
        )
    tf = a.get("total_frames", kp.shape[1])
    if isinstance(tf, (int, np.integer)) and int(tf) == m != t:
        raise DataFormatError(
            f"{what}: total_frames {int(tf)} is keypoint axis 0 (persons) not axis 1 ({t}): "
            f"keypoint {kp.shape} looks like (T, M, V, C); expected (M, T, V, C)",
            path,
        )
    if not isinstance(tf, (int, np.integer)) or int(tf) != kp.shape[1]:
        raise DataFormatError(
            f"{what}: total_frames {short_repr(tf)} != keypoint frames {kp.shape[1]}", path
        )
    return fd, int(label) - label_base, kp


def _with_score(a: dict, kp: np.ndarray, i: int, path: str) -> np.ndarray:
    """2D ``kp (M, T, V, 2)`` with annotation ``i``'s ``keypoint_score (M, T, V)`` as a
    third channel; :class:`DataFormatError` when it is missing or of another shape."""
    sc = a.get("keypoint_score")
    what = f"annotation {i} ({_shown(a.get('frame_dir'))})"
    if not isinstance(sc, np.ndarray) or not _real_numeric(sc.dtype):
        raise DataFormatError(
            f"{what}: no numeric keypoint_score array (others have one; "
            "--no-score ignores the scores)",
            path,
        )
    if sc.shape != kp.shape[:3]:
        raise DataFormatError(
            f"{what}: keypoint_score shape {sc.shape} != keypoint (M, T, V) {kp.shape[:3]}", path
        )
    return np.concatenate([kp, sc[..., None].astype(kp.dtype, copy=False)], axis=-1)


def _refuse_duplicate_frame_dirs(anns: list[dict], raw: Path) -> None:
    """A ``frame_dir`` names one annotation (the split lists refer to them by it):
    checked before anything is parsed, the error names both annotations."""
    first: dict[str, int] = {}
    for i, a in enumerate(anns):
        fd = a.get("frame_dir")
        if not isinstance(fd, str):
            continue  # reported with the annotation
        if fd in first:
            raise SkelconError(
                f"{raw}: annotations {first[fd]} and {i} share frame_dir {_shown(fd)!r}; a "
                "frame_dir must name one annotation; nothing was written"
            )
        first[fd] = i


@prepare_cleanup()
def prepare_import_pyskl(
    raw: str | os.PathLike,
    out: str | os.PathLike,
    *,
    dataset: str | None = None,
    layout: str = "ntu25",
    classes: str | os.PathLike | None = None,
    max_frames: int | None = None,
    normalize_data: bool = False,
    strict: bool = False,
    label_base: int = 0,
    progress: bool = True,
    score: bool = True,
    score_threshold: float = 0.0,
    image_size: tuple[float, float] | None = None,
    channels: Sequence[str] | None = None,
) -> Path:
    """Import a PYSKL / mmaction2 skeleton annotation pickle into ``out``.

    ``layout``: a built-in name or a layout YAML path. 2D keypoints with
    ``keypoint_score`` are stored as ``x, y, score`` unless ``score`` is False."""
    raw = Path(raw)
    if not raw.is_file():
        raise SkelconError(f"raw {str(raw)!r} is not a file (expected a PYSKL .pkl)", param="raw")
    lay = load_layout(layout)
    # the options first, before the (possibly large) pickle is read
    if max_frames is not None and max_frames < 1:
        raise SkelconError(f"max_frames must be at least 1, got {max_frames}", param="max_frames")
    if label_base not in (0, 1):
        raise SkelconError(f"label_base must be 0 or 1, got {label_base}", param="label_base")
    if channels is not None and not score and "score" in channels:
        raise SkelconError(
            f"--no-score drops the scores but --channels {','.join(channels)} "
            "names one; give one of them"
        )
    ClipNorm(bool(normalize_data), float(score_threshold), image_size).check(
        ["x", "y", "score"] if score_threshold > 0 else ["x", "y"], f"--raw {raw}"
    )  # 2D-only options without --normalize; the channels are checked once known
    splits, anns = _check_pyskl(load_restricted(raw, allow_numpy=True), str(raw))
    if not anns:
        raise SkelconError(f"{raw}: no annotations")
    _refuse_duplicate_frame_dirs(anns, raw)
    # shapes from the well-formed annotations; the bad ones are reported by the pipeline
    good, good_index = [], []
    for i, a in enumerate(anns):
        try:
            good.append(_ann_fields(a, i, str(raw), label_base))
            good_index.append(i)
        except DataFormatError:
            continue
    if not good:
        _ann_fields(anns[0], 0, str(raw), label_base)  # raises the first problem
    chans = {kp.shape[3] for _, _, kp in good}
    if len(chans) > 1:
        raise SkelconError(f"{raw}: keypoints mix {sorted(chans)} channels")
    c = chans.pop()
    bad_v = next((kp for _, _, kp in good if kp.shape[2] != lay.num_joints), None)
    if bad_v is not None:
        raise SkelconError(f"{raw}: keypoint {axes_problem(bad_v.shape, 'MTVC', lay)}")
    has_score = any("keypoint_score" in a for a in anns)
    channels, assumed = resolve_channels(
        channels, c, lay, f"{raw} keypoint", extra_score=score and has_score and c < 4
    )
    use_score = len(channels) == c + 1  # keypoint_score becomes the last channel
    norm = ClipNorm(bool(normalize_data), float(score_threshold), image_size)
    norm.check(channels, str(raw))
    if "score" in channels:
        lo, hi = np.inf, -np.inf
        for i, (_, _, kp) in zip(good_index, good, strict=True):
            sc = anns[i].get("keypoint_score") if use_score else kp[..., channels.index("score")]
            if isinstance(sc, np.ndarray) and sc.size and _real_numeric(sc.dtype):
                lo, hi = min(lo, np.nanmin(sc)), max(hi, np.nanmax(sc))
        if lo <= hi:
            warn = check_score_range(float(lo), float(hi), channels, bool(assumed), str(raw))
            if warn:
                print(f"import-pyskl: {warn}", file=sys.stderr)
    if assumed:
        print(f"import-pyskl: note: {assumed}")
    longest = max(kp.shape[1] for _, _, kp in good)
    t_max = max_frames or longest
    m_max = max(1, max(kp.shape[0] for _, _, kp in good))
    num_classes = max(label for _, label, _ in good) + 1
    class_list = read_class_names(classes, num_classes)
    warning = empty_class_warning(
        "import-pyskl", [label for _, label, _ in good], class_list, label_base
    )
    if warning:
        print(warning, file=sys.stderr)
    name = dataset or raw.stem
    writer = PreparedWriter(
        out,
        dataset=name,
        layout=lay,
        classes=class_list,
        capacity=len(anns),
        max_frames=t_max,
        num_persons=m_max,
        channels=len(channels),
        channel_names=channels,
    )

    def parse(i: int) -> Sample:
        fd, label, kp = _ann_fields(anns[i], i, str(raw), label_base)
        if kp.shape[3] != c or kp.shape[2] != lay.num_joints:
            raise DataFormatError(
                f"annotation {i} ({_shown(fd)}): keypoint shape {kp.shape}", str(raw)
            )
        if label >= len(class_list):
            raise DataFormatError(
                f"annotation {i} ({_shown(fd)}): label {label} >= {len(class_list)}", str(raw)
            )
        if use_score:
            kp = _with_score(anns[i], kp, i, str(raw))
        kp, counts = mark_missing(kp, channels)
        missing.update(counts)
        if counts["nan"]:
            nonfinite.append({"name": fd, "joints": counts["nan"]})
        x, nf, info = clip_to_sample(
            kp, lay, channels, t_max, m_max, norm, f"{raw} annotation {i} ({_shown(fd)})"
        )
        return Sample(fd, x, label, nf, info)

    nonfinite: list[dict[str, Any]] = []
    missing: collections.Counter = collections.Counter()
    tasks = list(range(len(anns)))
    report = run_prepare(
        tasks,
        parse,
        writer,
        workers=1,
        strict=strict,
        desc=f"import {name}",
        name_fn=lambda i: _shown(anns[i].get("frame_dir", f"annotation {i}")),
        progress=progress,
    )
    bench_splits: dict[str, dict[str, list[int]]] = {}
    ignored, unmatched = [], {}
    for key, names in splits.items():
        parsed = split_key(key)
        if parsed is None:
            ignored.append(key)
            continue
        bench, split = parsed
        if split in bench_splits.get(bench, {}):
            raise SkelconError(f"{raw}: split keys map twice to {bench}/{split} (e.g. {key!r})")
        rows = [report.indices[n] for n in names if n in report.indices]
        if len(rows) < len(names):
            unmatched[key] = len(names) - len(rows)
        bench_splits.setdefault(bench, {})[split] = rows
    if ignored:
        print(f"import-pyskl: ignored split keys {ignored} (not <bench>_train/_val/_test)")
    if not bench_splits:
        bench_splits = {"default": {"train": sorted(report.indices.values())}}
        print("import-pyskl: no usable split keys: all samples form default/train")
    print(
        f"import-pyskl: {len(writer)} samples (C={len(channels)} {','.join(channels)}, "
        f"T={t_max}, V={lay.num_joints}, M={m_max}) "
        f"written to {out}; benchmarks {sorted(bench_splits)}; skipped {len(report.skipped)}"
    )
    if nonfinite:
        print(f"import-pyskl: {nonfinite_note(nonfinite)}")
    if missing_summary(missing):
        print(f"import-pyskl: {missing_summary(missing)} (meta.json missing_joints)")
    resampled = [
        {"name": k, "frames": v["resampled_from"]}
        for k, v in sorted(report.info.items())
        if "resampled_from" in v
    ]
    return writer.finalize(
        bench_splits,
        source_format="pyskl",
        source=str(raw),
        normalized=bool(normalize_data),
        normalization=norm.describe(channels),
        split_keys={k: "/".join(p) for k in splits if (p := split_key(k))},
        ignored_split_keys=ignored,
        split_names_without_annotation=unmatched,
        resampled=resampled,
        channels_assumed=assumed or None,
        nonfinite_joints=nonfinite,
        missing_joints=dict(missing),
    )
