"""Per-sample class scores beside an evaluation's ``metrics.json``: writing and reading.

Every protocol that classifies writes, in its ``--out`` directory:

* ``scores.npy``: float32, finite, row-aligned with the benchmark's prepared test split
  (row ``i`` is test clip ``i``, the split's order). ``(N, C)`` when the evaluation has
  one model (``linear``, ``knn``, and a fine-tuning protocol with one label fraction and
  one repeat); ``(M, N, C)`` when a fine-tuning protocol trained ``M`` models, in the
  order of ``metrics.json``'s ``results`` (fraction by fraction, repeats within each).
* ``scores.json``: the sidecar. ``format`` (:data:`SCORES_FORMAT`), ``layout``
  (``"(N, C)"`` or ``"(M, N, C)"``), ``shape``, ``dtype``, ``sha256`` of the array's
  bytes (a ``scores.npy`` from another run is refused), ``split`` (``test``), ``names``
  and ``labels`` (0-based) of the rows, ``classes`` (names, or ``None``), ``num_classes``,
  ``protocol``, ``representation``, ``stream``, ``dataset``, ``benchmark``,
  ``checkpoint``, ``random_init``, ``kind`` (what the scores are: ``logits``,
  ``knn similarity``, ``weighted sum``), ``kind_note`` (in words), ``top1`` of the
  arg-max, and ``models``: one entry per model (``top1``, and for fine-tuning
  ``fraction`` and ``repeat``), the first axis of an ``(M, N, C)`` array.

The arg-max of every row is the prediction the evaluation's metrics counted: the top-1
of ``metrics.json`` is ``(scores.argmax(-1) == labels).mean()`` (per model).

:func:`write_scores` writes both files atomically (array first: a sidecar always
describes the array beside it); :func:`read_scores` reads them back as a
:class:`SavedScores`, with a one-line :class:`~skelcon.errors.SkelconError` for a
missing or corrupt file, a wrong shape or dtype, a non-finite score, or names and
labels that do not match the array. Numpy only (no torch).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkelconError
from ..utils.io import atomic_write, write_json

SCORES_FILE = "scores.npy"
SIDECAR_FILE = "scores.json"
SCORES_FORMAT = 1

KIND_NOTES = {
    "logits": "the final classifier's logits on the centre-crop test input (no softmax)",
    "knn similarity": (
        "per class, the similarity of its nearest training clip; the kNN prediction is raised "
        "to just above the best other class where it is not already highest; a class without "
        "training clips scores below every other (m - (1 + |m|), m the row's lowest)"
    ),
    "weighted sum": "the weighted sum of the members' saved scores (no softmax)",
}


@dataclass(frozen=True)
class SavedScores:
    """The scores of one evaluation directory.

    ``scores``: float32 ``(M, N, C)`` (``M = 1`` for a single model; see
    :attr:`single`); ``names`` ``(N,)`` str and ``labels`` ``(N,)`` int64 of the test
    rows; ``info``: the whole sidecar; ``dir``: the directory read."""

    scores: np.ndarray
    names: np.ndarray
    labels: np.ndarray
    info: dict[str, Any]
    dir: Path

    @property
    def num_models(self) -> int:
        return int(self.scores.shape[0])

    @property
    def single(self) -> np.ndarray:
        """The ``(N, C)`` scores of a single-model evaluation (a programming error else)."""
        if self.num_models != 1:
            raise ValueError(f"{self.dir} holds {self.num_models} models")
        return self.scores[0]


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def write_scores(
    out_dir: str | os.PathLike,
    scores: np.ndarray | Sequence[np.ndarray],
    names: Sequence[str] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    kind: str,
    models: Sequence[dict[str, Any]] | None = None,
    **info: Any,
) -> dict[str, Any]:
    """Write ``out_dir/scores.npy`` and its sidecar ``scores.json``; returns the sidecar.

    ``scores``: ``(N, C)`` (one model) or ``(M, N, C)`` / a list of ``M`` ``(N, C)``
    arrays (tensors are accepted: anything ``np.asarray`` takes; stored as float32).
    ``names`` ``(N,)`` and ``labels`` ``(N,)`` (0-based) are the test split's, in row
    order. ``kind``: a key of :data:`KIND_NOTES`. ``models``: one dict per model
    (default: ``top1`` of each, computed here). ``info``: the sidecar's other entries
    (``protocol``, ``representation``, ``stream``, ``dataset``, ``benchmark``,
    ``checkpoint``, ``random_init``, ``classes``...).

    Raises :class:`SkelconError` (one line) for non-finite scores (a diverged
    classifier), and ``ValueError`` for shapes that disagree (a programming error)."""
    if isinstance(scores, list | tuple):
        arr = np.stack([np.asarray(s, dtype=np.float32) for s in scores])
    else:
        arr = np.asarray(scores, dtype=np.float32)
    one = arr.ndim == 2
    stacked = arr[None] if one else arr
    names = [str(n) for n in np.asarray(names).tolist()]
    labels_arr = np.asarray(labels, dtype=np.int64).reshape(-1)
    if stacked.ndim != 3 or stacked.shape[1] != len(names) or len(labels_arr) != len(names):
        raise ValueError(
            f"scores {arr.shape} do not match {len(names)} names and {len(labels_arr)} labels"
        )
    if not np.isfinite(stacked).all():
        bad = int((~np.isfinite(stacked)).any(axis=(0, 2)).sum())
        raise SkelconError(
            f"the {info.get('protocol', 'evaluation')} scores of {bad} of {len(names)} test "
            f"clips are not finite (NaN/Inf; a diverged classifier?); nothing written to {out_dir}"
        )
    tops = [float((s.argmax(1) == labels_arr).mean() * 100) for s in stacked]
    if models is None:
        models = [{"top1": t} for t in tops]
    if len(models) != stacked.shape[0]:
        raise ValueError(f"{len(models)} model entries for {stacked.shape[0]} score arrays")
    out = Path(out_dir)
    sidecar = {
        "format": SCORES_FORMAT,
        "scores": SCORES_FILE,
        "layout": "(N, C)" if one else "(M, N, C)",
        "shape": list(arr.shape),
        "dtype": "float32",
        "sha256": _sha256(arr),
        "split": "test",
        "kind": kind,
        "kind_note": KIND_NOTES.get(kind, kind),
        **info,
        "num_classes": int(arr.shape[-1]),
        "top1": tops[0] if one else None,
        "models": [dict(m) for m in models],
        "names": names,
        "labels": labels_arr.tolist(),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / SCORES_FILE, lambda p: _save_npy(p, arr))
    write_json(out / SIDECAR_FILE, sidecar)
    return sidecar


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would add ".npy" to a path
        np.save(f, arr, allow_pickle=False)


def _bad(path: Path, what: str) -> SkelconError:
    return SkelconError(f"{path}: {what}")


def read_scores(eval_dir: str | os.PathLike) -> SavedScores:
    """The scores an evaluation wrote to ``eval_dir`` (see the module doc).

    Raises a one-line :class:`SkelconError` naming the file for: a missing directory or
    file (written before per-sample scores existed: rerun the evaluation), a file that
    is not valid JSON / ``.npy``, a sidecar without names, labels or a known layout, an
    array whose shape, dtype or checksum is not the sidecar's, non-finite scores, labels
    outside ``[0, C)``, class names that are not ``C`` strings."""
    d = Path(eval_dir)
    side, npy = d / SIDECAR_FILE, d / SCORES_FILE
    if not d.is_dir():
        raise SkelconError(f"{d} is not a directory (give evaluation directories)")
    if not side.is_file() and ((d / "last.pt").is_file() or (d / "config.yaml").is_file()):
        raise SkelconError(
            f"{d} is a pre-training run, not an evaluation directory (give the --out of a "
            "`skelcon eval` command)"
        )
    for p in (side, npy):
        if not p.is_file():
            why = "an evaluation written before per-sample scores: rerun it"
            if not (d / "metrics.json").is_file() and not side.is_file() and not npy.is_file():
                why = "no metrics.json either: not an evaluation directory"
            raise _bad(p, f"missing ({why})")
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise _bad(side, f"not valid JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(info, dict):
        raise _bad(side, "must hold an object")
    fmt = info.get("format")
    if not isinstance(fmt, int) or fmt > SCORES_FORMAT:
        raise _bad(side, f"format {fmt!r} is not one this skelcon reads (1..{SCORES_FORMAT})")
    names, labels = info.get("names"), info.get("labels")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad(side, "'names' must be a list of strings")
    if not isinstance(labels, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in labels
    ):
        raise _bad(side, "'labels' must be a list of integers")
    if len(labels) != len(names):
        raise _bad(side, f"{len(names)} names but {len(labels)} labels")
    layout = info.get("layout")
    if layout not in ("(N, C)", "(M, N, C)"):
        raise _bad(side, f"layout {layout!r} is not valid (valid: '(N, C)', '(M, N, C)')")
    try:
        arr = np.load(npy, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - a damaged header raises ValueError, EOFError...
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _bad(npy, f"not a readable .npy file ({msg})") from None
    want_ndim = 2 if layout == "(N, C)" else 3
    if arr.dtype != np.float32 or arr.ndim != want_ndim or list(arr.shape) != info.get("shape"):
        raise _bad(
            npy,
            f"{arr.dtype} {tuple(arr.shape)} is not the {layout} float32 "
            f"{tuple(info.get('shape') or ())} its {SIDECAR_FILE} describes",
        )
    if info.get("sha256") not in (None, _sha256(arr)):
        raise _bad(npy, f"does not match the checksum in {SIDECAR_FILE} (written by another run?)")
    stacked = arr[None] if arr.ndim == 2 else arr
    if stacked.shape[1] != len(names) or stacked.shape[2] < 1:
        raise _bad(npy, f"{stacked.shape[1]} rows for the {len(names)} names of {SIDECAR_FILE}")
    if not np.isfinite(stacked).all():
        raise _bad(npy, "holds NaN or infinite scores")
    labels_arr = np.asarray(labels, dtype=np.int64)
    c = stacked.shape[2]
    if len(labels_arr) and (labels_arr.min() < 0 or labels_arr.max() >= c):
        raise _bad(side, f"labels must be class indices 0..{c - 1}")
    classes = info.get("classes")
    if classes is not None and (
        not isinstance(classes, list)
        or len(classes) != c
        or not all(isinstance(x, str) for x in classes)
    ):
        raise _bad(side, f"'classes' must be null or a list of the {c} class names")
    models = info.get("models")
    if not isinstance(models, list) or len(models) != stacked.shape[0]:
        raise _bad(side, f"'models' must list the {stacked.shape[0]} models of {SCORES_FILE}")
    return SavedScores(stacked, np.asarray(names, dtype=str), labels_arr, info, d)
