"""``skelcon report``: gather ``metrics.json`` files into the paper's tables.

Every ``metrics.json`` under the given directories becomes one row (one per label
fraction for semi-supervised results). The pre-training setting of a row is read
from the ``config.yaml`` of the run its ``checkpoint`` names (or from the checkpoint
itself), so ablation rows say e.g. "SEQ, inter with STG" or "SEQ, intra". The
paper's number (:mod:`skelcon.paper_numbers`) stands beside ours when protocol,
dataset, benchmark and setting match, "–" otherwise. Output: Markdown tables, CSV
(one row per result) or JSON, written atomically.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import DataFormatError, SkelconError, choices_message
from .paper_numbers import (
    BENCHMARK_NAMES,
    DATASET_NAMES,
    DEFAULT_AUG,
    Augmentation,
    PaperNumber,
    lookup,
)
from .utils.io import atomic_write

__all__ = [
    "FORMATS",
    "PretrainInfo",
    "Result",
    "collect",
    "render",
    "write_report",
]

FORMATS = ("md", "csv", "json")
PROTOCOLS = ("linear", "knn", "semi", "supervised", "finetune", "transfer")
DASH = "–"
REP_ORDER = ("seq", "img", "stg")
BENCH_ORDER = ("xview", "xsetup", "xsub")


@dataclass(frozen=True)
class PretrainInfo:
    """The pre-training setting of a checkpoint (from its run's ``config.yaml``)."""

    representations: tuple[str, ...]
    augment: Augmentation
    jitter_mode: str = "paper"
    min_len: int = 1
    dataset: str | None = None  # the pre-training dataset, when the checkpoint says

    @property
    def inter(self) -> bool:
        return len(self.representations) > 1

    def label(self) -> str:
        """``inter SEQ+STG`` / ``intra SEQ``."""
        return f"{'inter' if self.inter else 'intra'} {_reps_text(self.representations)}"

    def setting(self, downstream: str) -> str:
        """``SEQ, inter with STG`` / ``SEQ, intra`` / ``SEQ+STG, inter``."""
        down = _rep_list(downstream)
        if not self.inter:
            return f"{_reps_text(down)}, intra"
        others = [r for r in self.representations if r not in down]
        return f"{_reps_text(down)}, inter" + (f" with {_reps_text(others)}" if others else "")

    def is_default_augment(self) -> bool:
        return (
            self.augment.normalized() == DEFAULT_AUG.normalized()
            and self.jitter_mode == "paper"
            and self.min_len == 1
        )

    def augment_text(self) -> str:
        a = self.augment.normalized()
        parts = []
        if a.temporal:
            extra = f", min_len {self.min_len}" if self.min_len > 1 else ""
            parts.append(f"crop-resize (l_min {a.l_min:g}{extra})")
        ref = ", reference" if self.jitter_mode != "paper" else ""
        if a.spatial == "random":
            parts.append(f"shear or jitter (|j| {a.jitter_joints}{ref})")
        elif a.spatial == "shear":
            parts.append("shear")
        elif a.spatial == "jitter":
            parts.append(f"jitter (|j| {a.jitter_joints}{ref})")
        return " + ".join(parts) if parts else "none"


@dataclass
class Result:
    """One reported accuracy of ours (a semi-supervised file gives one per fraction)."""

    source: str
    protocol: str
    dataset: str
    benchmark: str
    representation: str
    top1: float | None
    random_init: bool = False
    preset: str | None = None
    std: float | None = None
    fraction: float | None = None  # percent of labelled training samples
    runs: int | None = None
    k: int | None = None
    source_dataset: str | None = None
    pretrain: PretrainInfo | None = None
    pretrain_known: bool = False
    paper: PaperNumber | None = field(default=None, repr=False)

    def pretraining_text(self) -> str:
        if self.random_init or self.protocol == "supervised":
            return "none (random init)"
        if self.pretrain is None:
            return "unknown (no config.yaml)"
        return self.pretrain.label()


# ---------------------------------------------------------------- gathering


def _rep_list(text: str | Iterable[str]) -> list[str]:
    if isinstance(text, str):
        return [r.strip() for r in text.replace(",", "+").split("+") if r.strip()]
    return list(text)


def _reps_text(reps: str | Iterable[str]) -> str:
    return "+".join(r.upper() for r in _rep_list(reps))


def _ancestors(start: Path) -> list[Path]:
    return [start, *start.parents]


class _PretrainReader:
    """Finds and reads the run behind a checkpoint path (cached per path)."""

    def __init__(self) -> None:
        self._cache: dict[Path, PretrainInfo | None] = {}

    def find(self, checkpoint: str, metrics: Path) -> PretrainInfo | None:
        p = Path(checkpoint)
        candidates = [p] if p.is_absolute() else [Path.cwd() / p]
        if not p.is_absolute():
            candidates += [d / p for d in _ancestors(metrics.parent)]
        for c in candidates:
            if c.exists():
                c = c.resolve()
                if c not in self._cache:
                    self._cache[c] = self._read(c)
                return self._cache[c]
        return None

    @staticmethod
    def _read(path: Path) -> PretrainInfo | None:
        run = path if path.is_dir() else path.parent
        pt = path / "last.pt" if path.is_dir() else path
        cfg = None
        cfg_path = run / "config.yaml"
        if cfg_path.is_file():
            try:
                cfg = yaml.safe_load(cfg_path.read_text())
            except yaml.YAMLError as e:
                raise DataFormatError(
                    f"not valid YAML ({str(e).splitlines()[0]})", str(cfg_path)
                ) from None
            if not isinstance(cfg, dict):
                raise DataFormatError("a run config must be a mapping", str(cfg_path))
        dataset = None
        if pt.is_file():
            ckpt_cfg, dataset = _checkpoint_meta(pt)
            cfg = cfg if cfg is not None else ckpt_cfg
        if cfg is None:
            return None
        reps = cfg.get("representations") or ["seq", "stg"]
        if isinstance(reps, str):
            reps = _rep_list(reps)
        aug = cfg.get("augment") or {}
        d = DEFAULT_AUG
        return PretrainInfo(
            representations=tuple(str(r) for r in reps),
            augment=Augmentation(
                temporal=bool(aug.get("temporal", d.temporal)),
                spatial=str(aug.get("spatial", d.spatial)),
                l_min=float(aug.get("l_min", d.l_min)),
                jitter_joints=int(aug.get("jitter_joints", d.jitter_joints)),
            ),
            jitter_mode=str(aug.get("jitter_mode", "paper")),
            min_len=int(aug.get("min_len", 1)),
            dataset=dataset,
        )


def _checkpoint_meta(pt: Path) -> tuple[dict | None, str | None]:
    """``(config, pre-training dataset)`` of a checkpoint, memory-mapped; ``(None, None)`` if unreadable."""
    try:
        import torch

        state = torch.load(pt, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - an unreadable checkpoint only means "setting unknown"
        return None, None
    if not isinstance(state, dict):
        return None, None
    cfg = state.get("config") if isinstance(state.get("config"), dict) else None
    data = state.get("data") if isinstance(state.get("data"), dict) else {}
    return cfg, data.get("dataset")


def _num(rec: dict, key: str, path: Path, *, required: bool = True) -> float | None:
    v = rec.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise DataFormatError(f"{key!r} must be a finite number, got {v!r}", str(path))
    return float(v)


def _percent(fraction: float) -> float:
    """Label fraction as percent: ``0.01`` -> 1.0 (values above 1 are taken as percent)."""
    return round(fraction * 100.0 if fraction <= 1.0 else fraction, 6)


def _display_source(path: Path, root: Path, several: bool, root_text: str) -> str:
    rel = path.parent.relative_to(root).as_posix() if path.parent != root else "."
    if several:
        rel = f"{root_text.rstrip('/')}/{rel}" if rel != "." else root_text.rstrip("/")
    return rel


def _metrics_files(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, Path, str]]:
    """``(metrics.json, root, root as given)`` for every file under ``paths``, sorted per root."""
    out = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise SkelconError(
                f"{str(given)!r} does not exist (give run or evaluation directories)"
            )
        if root.is_file():
            out.append((root.resolve(), root.resolve().parent, str(given)))
            continue
        root = root.resolve()
        found = sorted(root.rglob("metrics.json"), key=lambda p: p.relative_to(root).as_posix())
        out += [(f, root, str(given)) for f in found]
    if not out:
        raise SkelconError(f"no metrics.json found under {', '.join(map(str, paths))}")
    return out


def collect(paths: Sequence[str | os.PathLike], warnings: list[str] | None = None) -> list[Result]:
    """All results of the ``metrics.json`` files under ``paths``, paper numbers attached."""
    files = _metrics_files(paths)
    several = len(paths) > 1
    reader = _PretrainReader()
    results: list[Result] = []
    for path, root, given in files:
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise DataFormatError(f"not valid JSON ({e.msg})", str(path), e.lineno) from None
        if not isinstance(rec, dict):
            raise DataFormatError("a metrics.json must hold an object", str(path))
        protocol = rec.get("protocol")
        if protocol not in PROTOCOLS:
            if warnings is not None:
                warnings.append(
                    f"{path}: {choices_message('protocol', protocol, PROTOCOLS)}; skipped"
                )
            continue
        for key in ("dataset", "benchmark", "representation"):
            if not isinstance(rec.get(key), str):
                raise DataFormatError(f"{key!r} must be a string, got {rec.get(key)!r}", str(path))
        random_init = bool(rec.get("random_init", False))
        pretrain = None
        if not random_init and protocol != "supervised" and rec.get("checkpoint"):
            pretrain = reader.find(str(rec["checkpoint"]), path)
        base = dict(
            source=_display_source(path, root, several, given),
            protocol=protocol,
            dataset=_dataset_name(rec, path),
            benchmark=rec["benchmark"],
            representation="+".join(_rep_list(rec["representation"])),
            random_init=random_init,
            preset=rec.get("preset"),
            pretrain=pretrain,
            pretrain_known=pretrain is not None,
        )
        src = rec.get("source_dataset") or rec.get("pretrain_dataset")
        if src is None and pretrain is not None:
            src = pretrain.dataset
        if protocol in ("semi", "supervised") or "results" in rec:
            # fine-tuning protocols: one entry per label fraction (mean ± std over subsets)
            entries = rec.get("results")
            if not isinstance(entries, list) or not entries:
                raise DataFormatError("'results' must be a non-empty list of fractions", str(path))
            for e in entries:
                if not isinstance(e, dict):
                    raise DataFormatError("every entry of 'results' must be an object", str(path))
                runs = e.get("runs")
                results.append(Result(
                    **base,
                    top1=_num(e, "mean", path),
                    std=_num(e, "std", path, required=False),
                    fraction=_percent(_num(e, "fraction", path)),
                    runs=len(runs) if isinstance(runs, list) else None,
                    source_dataset=src if protocol in ("finetune", "transfer") else None,
                ))  # fmt: skip
            continue
        k = rec.get("k", 1) if protocol == "knn" else None
        src = src if protocol in ("finetune", "transfer") else None
        results.append(Result(**base, top1=_num(rec, "top1", path), k=k, source_dataset=src))
    for r in results:
        r.paper = _paper_for(r)
    return results


# Class counts of the full datasets the paper reports on.
FULL_CLASSES = {"ntu60": 60, "ntu120": 120, "pku-mmd1": 51, "pku-mmd2": 41, "nw-ucla": 10}


def _dataset_name(rec: dict, path: Path) -> str:
    """The dataset of a result; a class subset (``--min-instances``) gets its own name,
    ``pku-mmd1 (8 of 51 classes)``, so it is never set beside the paper's full-set numbers."""
    name = rec["dataset"]
    n = rec.get("num_classes")
    if n is None and isinstance(rec.get("data"), str):
        meta = Path(rec["data"]) / "meta.json"
        if not meta.is_absolute() and not meta.exists():
            meta = path.parent / meta
        try:
            n = json.loads(meta.read_text()).get("num_classes")
        except (OSError, ValueError):
            n = None
    full = FULL_CLASSES.get(name)
    if full is not None and isinstance(n, int) and n != full:
        return f"{name} ({n} of {full} classes)"
    return name


def _paper_for(r: Result) -> PaperNumber | None:
    if r.random_init or r.protocol == "supervised":
        pre, aug = None, None
    elif r.pretrain is not None:
        pre, aug = r.pretrain.representations, r.pretrain.augment
    elif r.representation == "seq":  # setting unknown: compare only with the headline numbers
        pre, aug = ("seq", "stg"), None
    else:
        return None
    protocol = r.protocol
    if protocol == "finetune" and r.source_dataset and r.source_dataset != r.dataset:
        protocol = "transfer"
    if protocol == "semi" and r.random_init:
        protocol = "supervised"
    if r.protocol == "knn" and r.k != 1:
        return None
    if protocol in ("finetune", "transfer") and r.fraction not in (None, 100.0):
        return None  # the paper fine-tunes with all labels
    return lookup(
        protocol, r.dataset, r.benchmark, r.representation, pretrain=pre, augment=aug,
        fraction=r.fraction, k=r.k, source=r.source_dataset,
    )  # fmt: skip


# ---------------------------------------------------------------- tables


def _order(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def _row_key(r: Result) -> tuple:
    reps = _rep_list(r.representation)
    return (
        _order(r.dataset, tuple(DATASET_NAMES)),
        _order(r.benchmark, BENCH_ORDER),
        len(reps),
        tuple(_order(x, REP_ORDER) for x in reps),
        r.random_init or r.protocol == "supervised",
        r.pretraining_text(),
        r.source,
        r.fraction or 0.0,
    )


def _ds(name: str) -> str:
    return DATASET_NAMES.get(name, name)


def _bench(name: str) -> str:
    return BENCHMARK_NAMES.get(name, name)


def _pct(v: float | None, std: float | None = None, digits: int = 2) -> str:
    if v is None:
        return DASH
    return f"{v:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _paper_cell(p: PaperNumber | None) -> str:
    if p is None:
        return DASH
    ref = p.table.replace("Tables ", "T").replace("Table ", "T").replace(", ", ", T")
    return f"{_pct(p.top1, p.std, 1)} ({ref})"


def _pretraining_cell(r: Result, *, with_source: bool = True) -> str:
    text = r.pretraining_text()
    if r.random_init or r.protocol == "supervised":
        return f"**{text}**"
    p = r.pretrain
    if p is not None and not p.is_default_augment():
        text += f"; aug: {p.augment_text()}"
    if with_source and p is not None and p.dataset and p.dataset != r.dataset:
        text += f"; pre-trained on {_ds(p.dataset)}"
    return text


@dataclass
class _Table:
    title: str
    columns: list[str]
    right: set[int]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _simple_table(title: str, results: list[Result], note: str, *, k: bool = False) -> _Table:
    cols = ["dataset", "benchmark", "representation", "pre-training", "preset"]
    cols += ["k", "top-1", "paper", "path"] if k else ["top-1", "paper", "path"]
    rows = []
    for r in sorted(results, key=_row_key):
        row = [_ds(r.dataset), _bench(r.benchmark), _reps_text(r.representation),
               _pretraining_cell(r), r.preset or DASH]  # fmt: skip
        if k:
            row.append(str(r.k))
        rows.append(row + [_pct(r.top1), _paper_cell(r.paper), r.source])
    right = {cols.index("top-1"), cols.index("paper")} | ({cols.index("k")} if k else set())
    return _Table(title, cols, right, rows, [note])


def _semi_table(results: list[Result]) -> _Table:
    fractions = sorted({r.fraction for r in results})
    groups: dict[tuple, dict[float, Result]] = {}
    for r in sorted(results, key=_row_key):
        key = (r.source, r.dataset, r.benchmark, r.representation, r.protocol, r.random_init)
        groups.setdefault(key, {})[r.fraction] = r
    cols = ["dataset", "benchmark", "representation", "pre-training", "preset"]
    for f in fractions:
        cols += [f"{f:g} %", "paper"]
    cols.append("path")
    rows = []
    for by_f in groups.values():
        r0 = next(iter(by_f.values()))
        row = [_ds(r0.dataset), _bench(r0.benchmark), _reps_text(r0.representation),
               _pretraining_cell(r0), r0.preset or DASH]  # fmt: skip
        for f in fractions:
            r = by_f.get(f)
            row += [_pct(r.top1, r.std) if r else DASH, _paper_cell(r.paper) if r else DASH]
        rows.append(row + [r0.source])
    right = set(range(5, 5 + 2 * len(fractions)))
    note = (
        "Mean ± std over the label subsets (paper: 5 subsets). Random-init rows are the "
        'paper\'s "supervised only" baseline: the same fine-tuning from random weights.'
    )
    return _Table("Semi-supervised (paper Table 2)", cols, right, rows, [note])


def _transfer_table(results: list[Result]) -> _Table:
    cols = ["dataset", "benchmark", "source dataset", "protocol", "representation", "pre-training",
            "preset", "labels", "top-1", "paper", "path"]  # fmt: skip
    rows = []
    for r in sorted(results, key=_row_key):
        src = _ds(r.source_dataset) if r.source_dataset and not r.random_init else DASH
        labels = f"{r.fraction:g} %" if r.fraction is not None else "100 %"
        std = r.std if r.runs is not None and r.runs > 1 else None
        rows.append([_ds(r.dataset), _bench(r.benchmark), src, r.protocol, _reps_text(r.representation),
                     _pretraining_cell(r, with_source=False), r.preset or DASH, labels,
                     _pct(r.top1, std), _paper_cell(r.paper), r.source])  # fmt: skip
    note = (
        "Encoder and classifier fine-tuned on the labelled training set of the target dataset; "
        "the source dataset is the one the encoder was pre-trained on (paper Table 4: transfer "
        "to PKU-MMD II; Table 7: fine-tuning on NTU; both with all labels)."
    )
    return _Table("Fine-tuning and transfer (paper Tables 4, 7)", cols, {7, 8, 9}, rows, [note])


def _check(on: bool) -> str:
    return "✓" if on else DASH


def _ablation_tables(linear: list[Result]) -> list[_Table]:
    known = [r for r in linear if r.pretrain is not None and not r.random_init]
    tables = []
    augs = {
        (r.pretrain.augment.normalized(), r.pretrain.jitter_mode, r.pretrain.min_len) for r in known
    }
    if len(augs) > 1:
        cols = ["dataset", "benchmark", "setting", "crop-resize (l_min)", "shear", "jitter (|j|)",
                "preset", "top-1", "paper", "path"]  # fmt: skip
        rows = []
        key = lambda r: (_row_key(r)[:2], not r.pretrain.augment.normalized().temporal,  # noqa: E731
                         r.pretrain.augment_text(), _row_key(r)[2:])  # fmt: skip
        for r in sorted(known, key=key):
            a = r.pretrain.augment.normalized()
            crop = f"✓ ({a.l_min:g}" + (
                f", min_len {r.pretrain.min_len})" if r.pretrain.min_len > 1 else ")"
            )
            jit = f"✓ ({a.jitter_joints}" + (
                ", reference)" if r.pretrain.jitter_mode != "paper" else ")"
            )
            rows.append([
                _ds(r.dataset), _bench(r.benchmark), r.pretrain.setting(r.representation),
                crop if a.temporal else DASH, _check(a.spatial in ("random", "shear")),
                jit if a.spatial in ("random", "jitter") else DASH, r.preset or DASH,
                _pct(r.top1), _paper_cell(r.paper), r.source,
            ])  # fmt: skip
        notes = [
            "Linear evaluation grouped by the pre-training augmentation. Shear and jitter both "
            '✓: each view gets one of them, chosen at random (the paper\'s "all three").',
        ]
        tables.append(
            _Table("Ablation: augmentations (paper Tables 5, 8, 9)", cols, {7, 8}, rows, notes)
        )
    rep_sets = {frozenset(r.pretrain.representations) for r in known}
    if len(rep_sets) > 1:
        cols = [
            "dataset",
            "benchmark",
            "setting",
            "augmentation",
            "preset",
            "top-1",
            "paper",
            "path",
        ]
        rows = []
        key = lambda r: (_row_key(r)[:4], r.pretrain.inter, len(r.pretrain.representations),  # noqa: E731
                         r.pretrain.setting(r.representation), r.source)  # fmt: skip
        for r in sorted(known, key=key):
            aug = "default" if r.pretrain.is_default_augment() else r.pretrain.augment_text()
            rows.append([_ds(r.dataset), _bench(r.benchmark), r.pretrain.setting(r.representation),
                         aug, r.preset or DASH, _pct(r.top1), _paper_cell(r.paper), r.source])  # fmt: skip
        notes = [
            "Linear evaluation of each downstream representation after intra-skeleton (alone) or "
            "inter-skeleton (with the named others) pre-training.",
        ]
        tables.append(_Table("Ablation: intra- vs inter-skeleton (paper Tables 6, 10)", cols, {5, 6},
                             rows, notes))  # fmt: skip
    return tables


def _tables(results: list[Result]) -> list[_Table]:
    by = lambda *ps: [r for r in results if r.protocol in ps]  # noqa: E731
    tables = []
    if linear := by("linear"):
        tables.append(_simple_table(
            "Linear evaluation (paper Table 1)", linear,
            "Frozen encoder, linear classifier; top-1 of the final epoch. Paper: SEQ encoder "
            "pre-trained inter-skeleton with STG.",
        ))  # fmt: skip
    if knn := by("knn"):
        tables.append(_simple_table(
            "Retrieval, nearest neighbour (paper Table 3)", knn,
            "Each test sample takes the label of its nearest training sample (cosine); "
            "the paper uses k = 1.", k=True,
        ))  # fmt: skip
    if semi := by("semi", "supervised"):
        tables.append(_semi_table(semi))
    if ft := by("finetune", "transfer"):
        tables.append(_transfer_table(ft))
    tables += _ablation_tables(linear)
    return tables


# ---------------------------------------------------------------- rendering


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(results: list[Result], num_files: int) -> str:
    lines = [
        "# skelcon report",
        "",
        f"Top-1 accuracy (%) of {len(results)} result{'s' * (len(results) != 1)} from "
        f'{num_files} metrics.json file{"s" * (num_files != 1)}. "paper" is the number the '
        "paper reports for the same protocol, dataset, benchmark and pre-training setting "
        f'(SPEC §6; Tn = the paper\'s Table n), "{DASH}" where it reports none. Rows '
        "marked **none (random init)** evaluate the same architecture without pre-training.",
    ]
    for t in _tables(results):
        lines += ["", f"## {t.title}", ""]
        lines += [n for n in t.notes] + [""]
        lines.append("| " + " | ".join(_md_escape(c) for c in t.columns) + " |")
        lines.append(
            "|" + "|".join("---:" if i in t.right else "---" for i in range(len(t.columns))) + "|"
        )
        for row in t.rows:
            lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


RECORD_FIELDS = (
    "path", "protocol", "dataset", "benchmark", "representation", "random_init", "preset",
    "pretraining", "pretrain_representations", "augmentation", "fraction", "top1", "std", "runs",
    "k", "source_dataset", "paper_top1", "paper_std", "paper_table",
)  # fmt: skip


def to_records(results: list[Result]) -> list[dict[str, Any]]:
    """One flat dict per result (the CSV rows / JSON ``results``), in table order."""
    out = []
    for r in sorted(results, key=lambda r: (r.protocol, *_row_key(r))):
        p = r.pretrain if not (r.random_init or r.protocol == "supervised") else None
        out.append({
            "path": r.source,
            "protocol": r.protocol,
            "dataset": r.dataset,
            "benchmark": r.benchmark,
            "representation": r.representation,
            "random_init": r.random_init,
            "preset": r.preset,
            "pretraining": r.pretraining_text(),
            "pretrain_representations": "+".join(p.representations) if p else None,
            "augmentation": p.augment_text() if p else None,
            "fraction": r.fraction,
            "top1": r.top1,
            "std": r.std,
            "runs": r.runs,
            "k": r.k,
            "source_dataset": r.source_dataset,
            "paper_top1": r.paper.top1 if r.paper else None,
            "paper_std": r.paper.std if r.paper else None,
            "paper_table": r.paper.table if r.paper else None,
        })  # fmt: skip
    return out


def to_csv(results: list[Result]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
    w.writeheader()
    for rec in to_records(results):
        w.writerow({k: "" if v is None else v for k, v in rec.items()})
    return buf.getvalue()


def to_json(results: list[Result]) -> str:
    return json.dumps({"results": to_records(results)}, indent=2, ensure_ascii=False) + "\n"


def render(results: list[Result], fmt: str, num_files: int) -> str:
    if fmt == "md":
        return to_markdown(results, num_files)
    if fmt == "csv":
        return to_csv(results)
    if fmt == "json":
        return to_json(results)
    raise SkelconError(choices_message("report format", fmt, FORMATS))


def write_report(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    fmt: str | None = None,
    warnings: list[str] | None = None,
) -> list[Result]:
    """Gather ``paths`` and write the report to ``out`` (format from ``fmt`` or the suffix)."""
    if fmt is None:
        suffix = Path(out).suffix.lstrip(".").lower()
        fmt = suffix if suffix in FORMATS else "md"
    if fmt not in FORMATS:
        raise SkelconError(choices_message("report format", fmt, FORMATS))
    results = collect(paths, warnings)
    text = render(results, fmt, len({r.source for r in results}))
    atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
    return results


def _cli(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    results = write_report(args.paths, args.out, args.format, warnings)
    for w in warnings:
        print(f"skelcon: warning: {w}", file=sys.stderr)
    print(f"report of {len(results)} results written to {args.out}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser(
        "report",
        help="gather metrics.json files into the paper's tables",
        description="Gather the metrics.json files under the given run or evaluation directories "
        "into the paper's tables, with the paper's numbers beside ours where the setting matches.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="RUN_OR_EVAL_DIR", help="directories (searched recursively)"
    )
    p.add_argument("--out", required=True, help="report file (written atomically)")
    p.add_argument(
        "--format", choices=FORMATS, help="md, csv or json (default: from --out's suffix, else md)"
    )
    p.set_defaults(func=_cli)
