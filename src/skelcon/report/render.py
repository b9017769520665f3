"""Rendering: a report's tables as Markdown, its rows as CSV or JSON, and
:func:`write_report`, which gathers, renders and writes atomically."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SkelconError, choices_message
from ..utils.io import atomic_write
from .collect import collect
from .records import DASH, Result
from .sweep_table import SweepTable, is_sweep_dir, sweep_markdown, sweep_tables
from .tables import _row_key, build_tables

FORMATS = ("md", "csv", "json")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


PAPER_CITATION = (
    'Thoker, Doughty and Snoek, "Skeleton-Contrastive 3D Action Representation Learning", '
    "ACM MM 2021"
)


def to_markdown(results: list[Result], num_files: int, sweeps: Sequence[SweepTable] = ()) -> str:
    """The report as Markdown: the sweeps' tables (laid out as their sweep files say),
    then one table per protocol, then the ablations."""
    shown = sum(r.comparable for r in results)
    lines = [
        "# skelcon report",
        "",
        f"Top-1 accuracy (%) of {len(results)} result{'s' * (len(results) != 1)} from "
        f'{num_files} metrics.json file{"s" * (num_files != 1)}. "paper" is the number '
        f"reported by {PAPER_CITATION} (Tn = its Table n) for the same protocol, dataset, "
        "benchmark and pre-training setting, shown only for a comparable result: the full "
        "official dataset (the paper's train/test sizes, less at most the samples of the "
        "official missing-skeleton lists), the paper's protocol settings (epochs, learning "
        "rate and schedule, k = 1, 5 label subsets) and the paper's packaged recipe for the "
        "pre-training dataset, trained for at least its epochs. Otherwise it says which "
        f'table has a figure and why ours is not comparable; "{DASH}" where the paper '
        f"reports none. {shown} of {len(results)} result{'s' * (len(results) != 1)} "
        f"{'are' if shown != 1 else 'is'} comparable. Rows marked **none (random init)** "
        "evaluate the same architecture without pre-training. recipe: the packaged config "
        "(`skelcon configs`) the run's config equals in the fields that shape the weights, "
        '"custom" if none; pre-train epochs: epochs trained (of those planned).',
    ]
    lines += sweep_markdown(list(sweeps))
    for t in build_tables(results):
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
    "path",
    "protocol",
    "dataset",
    "benchmark",
    "representation",
    "random_init",
    "preset",
    "pretraining",
    "pretrain_representations",
    "augmentation",
    "recipe",
    "pretrain_epochs",
    "pretrain_epochs_planned",
    "eval_epochs",
    "num_train",
    "num_test",
    "fraction",
    "top1",
    "std",
    "runs",
    "k",
    "source_dataset",
    "paper_top1",
    "paper_std",
    "paper_table",
    "paper_comparable",
    "paper_not_comparable",
)


def to_records(results: list[Result]) -> list[dict[str, Any]]:
    """One flat dict per result (the CSV rows / JSON ``results``), in table order.

    ``paper_top1`` / ``paper_std`` are set only for a comparable result; ``paper_table``
    names the table with a figure for the setting, ``paper_not_comparable`` why not."""
    out = []
    for r in sorted(results, key=lambda r: (r.protocol, *_row_key(r))):
        p = r.pretrain if not r.no_pretraining else None
        shown = r.paper if r.comparable else None
        ens = r.members is not None  # an ensemble: its member streams and members in words
        out.append(
            {
                "path": r.source,
                "protocol": r.protocol,
                "dataset": r.dataset,
                "benchmark": r.benchmark,
                "representation": (
                    f"{r.representation} ({r.streams_text()})" if ens else r.representation
                ),
                "random_init": r.random_init,
                "preset": r.preset,
                "pretraining": f"ensemble: {r.members_text()}" if ens else r.pretraining_text(),
                "pretrain_representations": "+".join(p.representations) if p else None,
                "augmentation": p.augment_text() if p else None,
                "recipe": None if r.no_pretraining else r.recipe_text(),
                "pretrain_epochs": p.epochs if p else None,
                "pretrain_epochs_planned": p.planned_epochs if p else None,
                "eval_epochs": r.eval_epochs(),
                "num_train": r.num_train,
                "num_test": r.num_test,
                "fraction": r.fraction,
                "top1": r.top1,
                "std": r.std,
                "runs": r.runs,
                "k": r.k,
                "source_dataset": r.source_dataset,
                "paper_top1": shown.top1 if shown else None,
                "paper_std": shown.std if shown else None,
                "paper_table": r.paper.table if r.paper else None,
                "paper_comparable": r.comparable,
                "paper_not_comparable": "; ".join(r.paper_reasons) or None,
            }
        )
    return out


def to_csv(results: list[Result]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
    w.writeheader()
    for rec in to_records(results):
        w.writerow({k: "" if v is None else v for k, v in rec.items()})
    return buf.getvalue()


def to_json(results: list[Result], sweeps: Sequence[SweepTable] = ()) -> str:
    obj: dict[str, Any] = {"results": to_records(results)}
    if sweeps:
        obj["sweeps"] = [t.to_dict() for t in sweeps]
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def render(
    results: list[Result], fmt: str, num_files: int, sweeps: Sequence[SweepTable] = ()
) -> str:
    """The report in ``fmt``; ``sweeps``: the tables of sweep directories (Markdown and
    JSON; the CSV has one row per result, the sweeps' included)."""
    if fmt == "md":
        return to_markdown(results, num_files, sweeps)
    if fmt == "csv":
        return to_csv(results)
    if fmt == "json":
        return to_json(results, sweeps)
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
    sweeps = [t for p in paths if is_sweep_dir(p) for t in sweep_tables(p, warnings)]
    only_sweeps = all(is_sweep_dir(p) for p in paths)
    if only_sweeps and not any(next(Path(p).rglob("metrics.json"), None) for p in paths):
        results: list[Result] = []  # nothing finished yet: the sweep tables say what is missing
    else:
        results = collect(paths, warnings)
    text = render(results, fmt, len({r.source for r in results}), sweeps)
    atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
    return results
