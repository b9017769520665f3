"""Table layout: which tables a report has (one per protocol, then the ablations),
their columns, row order and cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..paper_numbers import DATASET_NAMES, PaperNumber
from .records import DASH, Result, _bench, _ds, _rep_list, _reps_text

REP_ORDER = ("seq", "img", "stg")
BENCH_ORDER = ("xview", "xsetup", "xsub")


def _order(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def _row_key(r: Result) -> tuple:
    reps = _rep_list(r.representation)
    return (
        _order(r.dataset, tuple(DATASET_NAMES)),
        _order(r.benchmark, BENCH_ORDER),
        len(reps),
        tuple(_order(x, REP_ORDER) for x in reps),
        r.no_pretraining,
        r.pretraining_text(),
        r.source,
        r.fraction or 0.0,
    )


def _pct(v: float | None, std: float | None = None, digits: int = 2) -> str:
    if v is None:
        return DASH
    return f"{v:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _table_ref(p: PaperNumber) -> str:
    return p.table.replace("Tables ", "T").replace("Table ", "T").replace(", ", ", T")


def _paper_cell(r: Result) -> str:
    """The paper's figure when comparable; else which table has one and why not."""
    p = r.paper
    if p is None:
        return DASH
    if r.paper_reasons:
        return f"not comparable ({_table_ref(p)}): " + "; ".join(r.paper_reasons)
    return f"{_pct(p.top1, p.std, 1)} ({_table_ref(p)})"


def _pretraining_cell(r: Result, *, with_source: bool = True) -> str:
    text = r.pretraining_text()
    if r.no_pretraining:
        return f"**{text}**"
    p = r.pretrain
    if p is not None and not p.is_default_augment():
        text += f"; aug: {p.augment_text()}"
    if with_source and p is not None and p.dataset and p.dataset != r.dataset_key:
        text += f"; pre-trained on {_ds(p.dataset)}"
    return text


RUN_COLUMNS = ["recipe", "pre-train epochs", "eval epochs"]


def _run_cells(r: Result) -> list[str]:
    """Recipe, pre-training epochs and evaluation epochs of a row."""
    return [r.recipe_text(), r.pretrain_epochs_text(), r.eval_epochs_text()]


@dataclass
class _Table:
    title: str
    columns: list[str]
    right: set[int]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _right(cols: list[str], *names: str) -> set[int]:
    return {cols.index(n) for n in names if n in cols}


def _simple_table(title: str, results: list[Result], note: str, *, k: bool = False) -> _Table:
    cols = ["dataset", "benchmark", "representation", "pre-training", *RUN_COLUMNS, "preset"]
    cols += ["k", "top-1", "paper", "path"] if k else ["top-1", "paper", "path"]
    rows = []
    for r in sorted(results, key=_row_key):
        row = [
            _ds(r.dataset),
            _bench(r.benchmark),
            _reps_text(r.representation),
            _pretraining_cell(r),
            *_run_cells(r),
            r.preset or DASH,
        ]
        if k:
            row.append(str(r.k))
        rows.append(row + [_pct(r.top1), _paper_cell(r), r.source])
    right = _right(cols, "pre-train epochs", "eval epochs", "k", "top-1")
    return _Table(title, cols, right, rows, [note])


def _semi_table(results: list[Result]) -> _Table:
    fractions = sorted({r.fraction for r in results})
    groups: dict[tuple, dict[float, Result]] = {}
    for r in sorted(results, key=_row_key):
        key = (r.source, r.dataset, r.benchmark, r.representation, r.protocol, r.random_init)
        groups.setdefault(key, {})[r.fraction] = r
    cols = ["dataset", "benchmark", "representation", "pre-training", *RUN_COLUMNS, "preset"]
    first = len(cols)
    for f in fractions:
        cols += [f"{f:g} %", "paper"]
    cols.append("path")
    rows = []
    for by_f in groups.values():
        r0 = next(iter(by_f.values()))
        row = [
            _ds(r0.dataset),
            _bench(r0.benchmark),
            _reps_text(r0.representation),
            _pretraining_cell(r0),
            *_run_cells(r0),
            r0.preset or DASH,
        ]
        for f in fractions:
            r = by_f.get(f)
            row += [_pct(r.top1, r.std) if r else DASH, _paper_cell(r) if r else DASH]
        rows.append(row + [r0.source])
    right = _right(cols, "pre-train epochs", "eval epochs") | set(
        range(first, first + 2 * len(fractions), 2)
    )
    note = (
        "Mean ± std over the label subsets (paper: 5 subsets). Random-init rows are the "
        'paper\'s "supervised only" baseline: the same fine-tuning from random weights.'
    )
    return _Table("Semi-supervised (paper Table 2)", cols, right, rows, [note])


def _transfer_table(results: list[Result]) -> _Table:
    cols = [
        "dataset",
        "benchmark",
        "source dataset",
        "protocol",
        "representation",
        "pre-training",
        *RUN_COLUMNS,
        "preset",
        "labels",
        "top-1",
        "paper",
        "path",
    ]
    rows = []
    for r in sorted(results, key=_row_key):
        src = _ds(r.source_dataset) if r.source_dataset and not r.random_init else DASH
        labels = f"{r.fraction:g} %" if r.fraction is not None else "100 %"
        std = r.std if r.runs is not None and r.runs > 1 else None
        rows.append(
            [
                _ds(r.dataset),
                _bench(r.benchmark),
                src,
                r.protocol,
                _reps_text(r.representation),
                _pretraining_cell(r, with_source=False),
                *_run_cells(r),
                r.preset or DASH,
                labels,
                _pct(r.top1, std),
                _paper_cell(r),
                r.source,
            ]
        )
    note = (
        "Encoder and classifier fine-tuned on the labelled training set of the target dataset; "
        "the source dataset is the one the encoder was pre-trained on (paper Table 4: transfer "
        "to PKU-MMD II; Table 7: fine-tuning on NTU; both with all labels)."
    )
    right = _right(cols, "pre-train epochs", "eval epochs", "labels", "top-1")
    return _Table("Fine-tuning and transfer (paper Tables 4, 7)", cols, right, rows, [note])


def _ensemble_table(results: list[Result]) -> _Table:
    cols = ["dataset", "benchmark", "representation", "members", "top-1", "path"]
    rows = [
        [
            _ds(r.dataset),
            _bench(r.benchmark),
            f"{_reps_text(r.representation)} ({r.streams_text()})",
            r.members_text(),
            _pct(r.top1),
            r.source,
        ]
        for r in sorted(results, key=_row_key)
    ]
    note = (
        "Weighted sum of the members' saved per-sample scores (`skelcon ensemble`); each member "
        "is listed with its protocol, input stream, weight and own top-1. The paper reports no "
        "ensembles."
    )
    return _Table("Ensembles", cols, _right(cols, "top-1"), rows, [note])


def _check(on: bool) -> str:
    return "✓" if on else DASH


def _ablation_tables(linear: list[Result]) -> list[_Table]:
    # imported runs' configs hold their architecture only: they are no ablation setting
    known = [
        r
        for r in linear
        if r.pretrain is not None and not r.random_init and not r.pretrain.imported
    ]
    tables = []
    augs = {
        (r.pretrain.augment.normalized(), r.pretrain.jitter_mode, r.pretrain.min_len) for r in known
    }
    if len(augs) > 1:
        cols = [
            "dataset",
            "benchmark",
            "setting",
            "crop-resize (l_min)",
            "shear",
            "jitter (|j|)",
            *RUN_COLUMNS,
            "preset",
            "top-1",
            "paper",
            "path",
        ]
        rows = []

        def key(r):
            return (
                _row_key(r)[:2],
                not r.pretrain.augment.normalized().temporal,
                r.pretrain.augment_text(),
                _row_key(r)[2:],
            )

        for r in sorted(known, key=key):
            a = r.pretrain.augment.normalized()
            crop = DASH  # l_min and jitter_joints are None where they play no part
            if a.temporal:
                crop = f"✓ ({a.l_min:g}" + (
                    f", min_len {r.pretrain.min_len})" if r.pretrain.min_len > 1 else ")"
                )
            jit = DASH
            if a.spatial in ("random", "jitter"):
                jit = f"✓ ({a.jitter_joints}" + (
                    ", reference)" if r.pretrain.jitter_mode != "paper" else ")"
                )
            rows.append(
                [
                    _ds(r.dataset),
                    _bench(r.benchmark),
                    r.pretrain.setting(r.representation),
                    crop,
                    _check(a.spatial in ("random", "shear")),
                    jit,
                    *_run_cells(r),
                    r.preset or DASH,
                    _pct(r.top1),
                    _paper_cell(r),
                    r.source,
                ]
            )
        notes = [
            "Linear evaluation grouped by the pre-training augmentation. Shear and jitter both "
            '✓: each view gets one of them, chosen at random (the paper\'s "all three").',
        ]
        right = _right(cols, "pre-train epochs", "eval epochs", "top-1")
        tables.append(
            _Table("Ablation: augmentations (paper Tables 5, 8, 9)", cols, right, rows, notes)
        )
    rep_sets = {frozenset(r.pretrain.representations) for r in known}
    if len(rep_sets) > 1:
        cols = [
            "dataset",
            "benchmark",
            "setting",
            "augmentation",
            *RUN_COLUMNS,
            "preset",
            "top-1",
            "paper",
            "path",
        ]
        rows = []

        def key(r):
            return (
                _row_key(r)[:4],
                r.pretrain.inter,
                len(r.pretrain.representations),
                r.pretrain.setting(r.representation),
                r.source,
            )

        for r in sorted(known, key=key):
            aug = "default" if r.pretrain.is_default_augment() else r.pretrain.augment_text()
            rows.append(
                [
                    _ds(r.dataset),
                    _bench(r.benchmark),
                    r.pretrain.setting(r.representation),
                    aug,
                    *_run_cells(r),
                    r.preset or DASH,
                    _pct(r.top1),
                    _paper_cell(r),
                    r.source,
                ]
            )
        notes = [
            "Linear evaluation of each downstream representation after intra-skeleton (alone) or "
            "inter-skeleton (with the named others) pre-training.",
        ]
        right = _right(cols, "pre-train epochs", "eval epochs", "top-1")
        tables.append(
            _Table(
                "Ablation: intra- vs inter-skeleton (paper Tables 6, 10)", cols, right, rows, notes
            )
        )
    return tables


def build_tables(results: list[Result]) -> list[_Table]:
    by = lambda *ps: [r for r in results if r.protocol in ps]  # noqa: E731
    tables = []
    if linear := by("linear"):
        tables.append(
            _simple_table(
                "Linear evaluation (paper Table 1)",
                linear,
                "Frozen encoder, linear classifier; top-1 of the final epoch. Paper: SEQ encoder "
                "pre-trained inter-skeleton with STG.",
            )
        )
    if knn := by("knn"):
        tables.append(
            _simple_table(
                "Retrieval, nearest neighbour (paper Table 3)",
                knn,
                "Each test sample takes the label of its nearest training sample (cosine); "
                "the paper uses k = 1.",
                k=True,
            )
        )
    if semi := by("semi", "supervised"):
        tables.append(_semi_table(semi))
    if ft := by("finetune", "transfer"):
        tables.append(_transfer_table(ft))
    tables += _ablation_tables(linear)
    if ens := by("ensemble"):
        tables.append(_ensemble_table(ens))
    return tables
