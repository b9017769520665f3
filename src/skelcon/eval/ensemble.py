"""``skelcon ensemble``: fuse the saved per-sample scores of several evaluations.

Each member is an evaluation directory with ``scores.npy`` + ``scores.json``
(:mod:`skelcon.eval.scores`) and ``metrics.json``, all on the same test split: the same
sample names in the same order, the same labels, classes, dataset and benchmark (each
mismatch is a one-line error naming both directories and the first differing item; the
same clips in another order are refused too, with a line that says so).

Fusion is the weighted sum of the members' raw saved scores (logits, or kNN
similarities), no softmax, as AimCLR / HiCLR fuse their joint, bone and motion streams
(``0.6 * joint + 0.6 * bone + 0.4 * motion``), CMD (equal) and PYSKL (1:1). Default
weights: exactly one ``joint``, one ``bone`` and one ``motion`` member (the ``stream`` of
each sidecar) get AimCLR's 0.6 / 0.6 / 0.4; any other set of members equal weights of 1.
Raw scores of different runs have different scales (a kNN similarity lies in [-1, 1],
logits do not): give ``weights`` chosen on something other than the test split when
that matters; nothing here looks at the test labels to pick them.

Members must hold one model each: a fine-tuning evaluation with several label fractions
or repeats (an ``(M, N, C)`` ``scores.npy``) is refused with a line saying so (run each
member with one fraction and ``--repeats 1``).

The ensemble directory gets what every protocol writes: ``scores.npy`` + ``scores.json``
(``kind`` "weighted sum", so ensembles can be fused and compared in turn) and
``metrics.json``, an :class:`~skelcon.eval.record.EvalRecord` of protocol ``ensemble``
with the :func:`~skelcon.eval.metrics.classification_metrics` of the fused scores and the
members (directory, protocol, representation, stream, kind, top-1, weight) under
``members``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.io import read_json, write_json
from ..utils.text import number_list
from .record import EvalRecord
from .scores import SavedScores, read_scores, write_scores

AIMCLR_WEIGHTS = {"joint": 0.6, "bone": 0.6, "motion": 0.4}
FUSION = "weighted sum of the members' raw saved scores (no softmax)"


def parse_weights(text: str) -> list[float]:
    """``"0.6,0.6,0.4"`` -> ``[0.6, 0.6, 0.4]``; a one-line :class:`SkelconError`
    (``param="weights"``) for an entry that is not a number."""
    return number_list(
        text,
        lambda part: (
            f"weights {text!r}: {part!r} is not a number "
            "(give one per evaluation directory, e.g. 0.6,0.6,0.4)"
        ),
        param="weights",
    )


def default_weights(streams: Sequence[str]) -> tuple[list[float], str]:
    """The default weights of members with these ``streams`` and the rule that gave them:
    AimCLR/HiCLR's 0.6 / 0.6 / 0.4 for exactly one joint, one bone and one motion member,
    else 1 each."""
    if sorted(streams) == sorted(AIMCLR_WEIGHTS):
        return [AIMCLR_WEIGHTS[s] for s in streams], "AimCLR/HiCLR default (joint, bone, motion)"
    return [1.0] * len(streams), "equal (default)"


def _check_weights(weights: Sequence[float], n: int) -> list[float]:
    w = [float(x) for x in weights]
    if len(w) != n:
        raise SkelconError(
            f"weights: {len(w)} given for {n} evaluation directories (give one per directory, "
            "in order)",
            param="weights",
        )
    bad = [x for x in w if not math.isfinite(x) or x < 0]
    if bad:
        raise SkelconError(
            f"weights: {bad[0]:g} is not valid (valid: finite numbers >= 0)", param="weights"
        )
    if not any(w):
        raise SkelconError("weights: all are 0 (at least one must be positive)", param="weights")
    return w


def _first_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.flatnonzero(a != b)[0])


def _check_same_split(a: SavedScores, b: SavedScores) -> None:
    """One line naming both directories and the first item in which their test splits differ."""
    pair = f"cannot fuse {a.dir} and {b.dir}"
    for key in ("dataset", "benchmark", "split"):
        if a.info.get(key) != b.info.get(key):
            raise SkelconError(f"{pair}: {key} {a.info.get(key)!r} vs {b.info.get(key)!r}")
    if a.scores.shape[2] != b.scores.shape[2]:
        raise SkelconError(f"{pair}: num_classes {a.scores.shape[2]} vs {b.scores.shape[2]}")
    ca, cb = a.info.get("classes"), b.info.get("classes")
    if ca and cb and ca != cb:
        i = next(i for i, (x, y) in enumerate(zip(ca, cb, strict=False)) if x != y)
        raise SkelconError(f"{pair}: class {i} is {ca[i]!r} vs {cb[i]!r}")
    if len(a.names) != len(b.names):
        raise SkelconError(
            f"{pair}: {len(a.names)} vs {len(b.names)} test clips (not the same test split)"
        )
    if not np.array_equal(a.names, b.names):
        i = _first_diff(a.names, b.names)
        na, nb = str(a.names[i]), str(b.names[i])
        if np.array_equal(np.sort(a.names), np.sort(b.names)):
            raise SkelconError(
                f"{pair}: the same test clips in another order (row {i}: {na!r} vs {nb!r}); "
                "evaluate both on the same prepared split"
            )
        raise SkelconError(f"{pair}: other test clips (first at row {i}: {na!r} vs {nb!r})")
    if not np.array_equal(a.labels, b.labels):
        i = _first_diff(a.labels, b.labels)
        raise SkelconError(
            f"{pair}: test clip {str(a.names[i])!r} (row {i}) has label {a.labels[i]} vs "
            f"{b.labels[i]}"
        )


def _single(s: SavedScores) -> np.ndarray:
    if s.num_models == 1:
        return s.single
    fr = sorted({m.get("fraction") for m in s.info["models"] if isinstance(m, dict)}, key=str)
    raise SkelconError(
        f"{s.dir} holds the scores of {s.num_models} models (label fractions "
        f"{', '.join(map(str, fr))} x repeats); an ensemble fuses one model per member: "
        "evaluate each member with one fraction and --repeats 1"
    )


def _check_out(out: Path) -> None:
    """``out`` must be new, empty or an earlier ensemble: never a pre-training run or
    another protocol's evaluation (their files would be overwritten)."""
    if (out / "last.pt").is_file() or (out / "config.yaml").is_file():
        raise SkelconError(
            f"out {str(out)!r} is a pre-training run; give a new directory", param="out"
        )
    metrics = out / "metrics.json"
    if metrics.is_file():
        try:
            protocol = json.loads(metrics.read_text(encoding="utf-8")).get("protocol")
        except (ValueError, UnicodeDecodeError, AttributeError):
            protocol = None
        if protocol != "ensemble":
            raise SkelconError(
                f"out {str(out)!r} holds a {protocol or 'unreadable'} evaluation's "
                "metrics.json; give a new directory (an earlier ensemble may be overwritten)",
                param="out",
            )


def _member_record(d: Path) -> EvalRecord:
    path = d / "metrics.json"
    if not path.is_file():
        raise SkelconError(f"{path}: missing (give evaluation directories)")
    try:
        raw = read_json(path)
    except ValueError as e:
        raise DataFormatError(f"not valid JSON ({str(e).splitlines()[0]})", str(path)) from None
    return EvalRecord.from_dict(raw, str(path))


def _joined(values: Iterable[Any]) -> str:
    """Distinct values in first-seen order, joined by ``+``."""
    return "+".join(dict.fromkeys(str(v) for v in values))


def ensemble(
    dirs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    weights: Sequence[float] | None = None,
    *,
    warnings: list[str] | None = None,
) -> dict:
    """Fuse the saved scores of the evaluation directories ``dirs`` (at least two distinct
    ones) into ``out``; returns its ``metrics.json`` dict.

    ``weights``: one per directory, in order, finite and >= 0 (default: see the module
    doc). The fused ``(N, C)`` float32 scores are ``sum_i weights[i] * scores_i``;
    ``out`` gets ``scores.npy`` + ``scores.json`` and ``metrics.json`` (computed from the
    fused float32 scores as saved). Members whose scores are of different kinds (logits
    and kNN similarities) add a line to ``warnings``.

    Raises a one-line :class:`SkelconError` for: fewer than two directories, one given
    twice (weight it with ``weights`` instead), ``out`` being a member, a pre-training run
    or another protocol's evaluation, a member without readable scores or ``metrics.json``, a member with
    several models, test splits that differ (names, order, labels, classes, dataset,
    benchmark), a wrong number of weights, a negative or non-finite weight, all weights 0.
    """
    import torch

    from .metrics import class_names, classification_metrics

    t0 = time.time()
    if len(dirs) < 2:
        raise SkelconError(
            f"an ensemble needs at least 2 evaluation directories, got {len(dirs)}",
            param="dirs",
        )
    out = Path(out)
    seen: dict[Path, str] = {}
    for d in dirs:
        key = Path(d).resolve()
        if key in seen:
            raise SkelconError(
                f"{d} is given twice (as {seen[key]}); give each member once and weight it "
                "with --weights",
                param="dirs",
            )
        seen[key] = str(d)
    for d in dirs:
        if out.resolve() == Path(d).resolve():
            raise SkelconError(
                f"out {str(out)!r} is a member's directory (its scores would be overwritten); "
                "give a new directory",
                param="out",
            )
    _check_out(out)
    members = [read_scores(d) for d in dirs]
    records = [_member_record(m.dir) for m in members]
    arrays = [_single(m) for m in members]
    for m in members[1:]:
        _check_same_split(members[0], m)
    streams = [str(m.info.get("stream") or "joint") for m in members]
    if weights is None:
        w, rule = default_weights(streams)
    else:
        w, rule = _check_weights(weights, len(members)), "given"
    kinds = [str(m.info.get("kind")) for m in members]
    if len(set(kinds)) > 1 and warnings is not None:
        warnings.append(
            f"the members' scores are of different kinds ({', '.join(dict.fromkeys(kinds))}) "
            "with different scales: consider --weights (chosen on other data than the test split)"
        )
    fused = sum(wi * a.astype(np.float64) for wi, a in zip(w, arrays, strict=True))
    fused = np.asarray(fused, dtype=np.float32)
    first, rec0 = members[0], records[0]
    num_classes = int(first.scores.shape[2])
    classes = first.info.get("classes") or class_names({"num_classes": num_classes})
    metrics = classification_metrics(
        torch.from_numpy(fused), torch.from_numpy(first.labels), classes
    )
    listed = [
        {
            "dir": str(m.dir),
            "protocol": m.info.get("protocol"),
            "representation": m.info.get("representation"),
            "stream": s,
            "kind": k,
            "top1": m.info["models"][0].get("top1"),
            "weight": wi,
        }
        for m, s, k, wi in zip(members, streams, kinds, w, strict=True)
    ]
    representation = _joined(m.info.get("representation") for m in members)
    stream = _joined(streams)
    random_init = all(bool(m.info.get("random_init")) for m in members)
    write_scores(
        out,
        fused,
        first.names,
        first.labels,
        kind="weighted sum",
        protocol="ensemble",
        representation=representation,
        stream=stream,
        dataset=first.info.get("dataset"),
        benchmark=first.info.get("benchmark"),
        checkpoint=None,
        random_init=random_init,
        classes=list(classes),
        members=listed,
    )
    presets = {r.preset for r in records}
    rec = EvalRecord(
        protocol="ensemble",
        representation=representation,
        dataset=first.info.get("dataset"),
        benchmark=str(first.info.get("benchmark")),
        num_train=rec0.num_train,
        num_test=len(first.names),
        reachable_test=rec0.reachable_test,
        data=rec0.data,
        checkpoint=None,
        random_init=random_init,
        preset=presets.pop() if len(presets) == 1 else None,
        top1=metrics["top1"],
        num_classes=num_classes,
        config={"weights": w, "fusion": "sum"},
        seconds=round(time.time() - t0, 2),
        extra={
            **{k: v for k, v in metrics.items() if k != "top1"},
            "stream": stream,
            "fusion": FUSION,
            "weights_rule": rule,
            "members": listed,
        },
    ).to_dict()
    write_json(out / "metrics.json", rec)
    return rec


def summary_line(rec: dict) -> str:
    """The line ``skelcon ensemble`` prints: ``ensemble of 3 (joint 0.6, bone 0.6, motion
    0.4) linear stg on pku-mmd1/xsub: top-1 87.12 % (members: joint 84.10, ...)``."""
    ms = rec["members"]
    weights = ", ".join(f"{m['stream']} {m['weight']:g}" for m in ms)
    tops = ", ".join(
        f"{m['stream']} {m['top1']:.2f}" if isinstance(m.get("top1"), float) else m["stream"]
        for m in ms
    )
    return (
        f"ensemble of {len(ms)} ({weights}) {_joined(m['protocol'] for m in ms)} "
        f"{rec['representation']} on {rec['dataset']}/{rec['benchmark']}: top-1 "
        f"{rec['top1']:.2f} % (members: {tops})"
    )
