"""A sweep directory (``skelcon sweep``) as the paper's table: rows and columns as its
sweep file's ``table`` says, each cell the mean ± sample std over seeds of the top-1 of
the evaluations that land in it, and the paper's figure beside a cell only where the
paper reports that very setting and every result of the cell is comparable
(:mod:`.judge`). Nothing is dropped silently: a cell still missing seeds says how many it
has, and the notes list every evaluation not finished (failed ones with their error
line) and why the paper's figures are not shown.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sweep.grid import Plan, cell_key
from ..sweep.spec import TableSpec, value_text
from ..sweep.status import SWEEP_FILE, eval_dir, load_plan, point_status
from .collect import collect
from .judge import _paper_for
from .records import DASH, Result
from .tables import _table_ref

MAX_REASONS = 4  # distinct reasons listed for the paper figures not shown


def is_sweep_dir(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / SWEEP_FILE).is_file()


@dataclass
class Cell:
    """The results of one table cell: top-1 per finished evaluation (one per seed), how
    many were planned, and the paper's figure when every result is comparable with it."""

    values: list[float] = field(default_factory=list)
    planned: int = 0
    paper: float | None = None
    paper_table: str | None = None

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds (``None`` for fewer than 2)."""
        n = len(self.values)
        if n < 2:
            return None
        m = sum(self.values) / n
        return math.sqrt(sum((v - m) ** 2 for v in self.values) / (n - 1))

    def text(self) -> str:
        if not self.values:
            return DASH
        s = f"{self.mean:.1f}" + (f" ± {self.std:.1f}" if self.std is not None else "")
        if len(self.values) < self.planned:
            s += f" ({len(self.values)} of {self.planned} seeds)"
        if self.paper is not None:
            s += f" (paper {self.paper:.1f})"
        return s

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "mean": self.mean,
            "std": self.std,
            "planned": self.planned,
            "paper": self.paper,
            "paper_table": self.paper_table,
        }


@dataclass
class SweepTable:
    """One protocol's table of a sweep."""

    title: str
    row_title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "row_title": self.row_title,
            "columns": self.columns,
            "rows": [
                {"label": label, "cells": [c.to_dict() for c in cells]}
                for label, cells in self.rows
            ],
            "notes": self.notes,
        }


def _label(spec: TableSpec, name: str, value: str, *, header: bool) -> str:
    """A value's words in a row name or column header (the file's labels first)."""
    if name in spec.labels and value in spec.labels[name]:
        return spec.labels[name][value]
    if name in ("downstream", "representations"):
        return "+".join(r.upper() for r in value.split("+"))
    if name == "contrast":
        return value
    word = spec.names.get(name, name.split(".")[-1])
    return f"{word} = {value}" if header else f"{word} {value}"


def _joined(spec: TableSpec, names: Sequence[str], values: Sequence[str], header: bool) -> str:
    words = [_label(spec, n, v, header=header) for n, v in zip(names, values, strict=True)]
    return " + ".join(w for w in words if w) or "none"


@dataclass
class _Entry:
    point: str
    eval: str
    state: str
    error: str | None
    results: list[Result]


def _entries(plan: Plan, out: Path, warnings: list[str]) -> list[tuple[tuple[Any, ...], _Entry]]:
    """Every planned evaluation with its cell key, state and results (in plan order)."""
    entries = []
    for p in plan.points:
        st = point_status(out, p)
        for ev in p.evaluations:
            d = eval_dir(out, p.id, ev.name)
            results = collect([d], warnings) if (d / "metrics.json").is_file() else []
            state = "done" if results else st.state if st.state != "done" else "missing"
            err = st.error if state in ("failed", "interrupted") else None
            entries.append((cell_key(plan, p, ev), _Entry(p.id, ev.name, state, err, results)))
    return entries


def sweep_tables(
    out: str | os.PathLike[str], warnings: list[str] | None = None
) -> list[SweepTable]:
    """The tables of the sweep in ``out``: one per protocol (and label fraction)."""
    out = Path(out)
    plan = load_plan(out)
    spec = plan.table
    warnings = [] if warnings is None else warnings
    entries = _entries(plan, out, warnings)
    groups: dict[tuple[str, float | None], dict[tuple[Any, ...], list[_Entry]]] = {}
    for (protocol, row, col), e in entries:
        fractions = sorted({r.fraction for r in e.results}, key=lambda f: f or 0.0) or [None]
        for f in fractions:
            groups.setdefault((protocol, f), {}).setdefault((row, col), []).append(e)
    tables = []
    for (protocol, fraction), cells in groups.items():
        tables.append(_table(plan, spec, protocol, fraction, cells))
    return tables


def _table(
    plan: Plan,
    spec: TableSpec,
    protocol: str,
    fraction: float | None,
    cells: dict[tuple[Any, ...], list[_Entry]],
) -> SweepTable:
    rows = list(dict.fromkeys(k[0] for k in cells))
    cols = list(dict.fromkeys(k[1] for k in cells))
    shown_paper, reasons, unfinished, paper_tables = 0, [], [], set()
    table_rows = []
    for row in rows:
        out_cells = []
        for col in cols:
            cell = Cell()
            comparable, papers = True, set()
            for e in cells.get((row, col), []):
                cell.planned += 1
                mine = [r for r in e.results if r.fraction == fraction]
                if not mine:
                    unfinished.append(e)
                for r in mine:
                    if r.top1 is not None:
                        cell.values.append(float(r.top1))
                    paper, own = _paper_for(r)
                    if paper is None or not own:
                        comparable = False
                        continue
                    paper_tables.add(_table_ref(paper))
                    papers.add(paper.top1)
                    if r.paper_reasons:
                        comparable = False
                        reasons += [x for x in r.paper_reasons if x not in reasons]
            if comparable and len(papers) == 1 and cell.values:
                cell.paper, cell.paper_table = papers.pop(), ", ".join(sorted(paper_tables))
                shown_paper += 1
            out_cells.append(cell)
        table_rows.append((_joined(spec, spec.rows, row, header=False), out_cells))
    columns = [_joined(spec, spec.columns, c, header=True) for c in cols]
    if spec.columns == ():
        columns = ["top-1"]
    row_title = " / ".join(dict.fromkeys(spec.names.get(f, f.split(".")[-1]) for f in spec.rows))
    title = f"{plan.title}: {protocol}" + (
        f", {fraction:g} % labels" if fraction is not None else ""
    )
    notes = _notes(plan, spec, shown_paper, reasons, paper_tables, unfinished)
    return SweepTable(title, row_title or "setting", columns, table_rows, notes)


def _notes(
    plan: Plan,
    spec: TableSpec,
    shown: int,
    reasons: list[str],
    paper_tables: set[str],
    unfinished: list[_Entry],
) -> list[str]:
    seeds = plan.axes.get("seed", [])
    seed_text = (
        f"mean ± sample std over seeds {', '.join(value_text(s) for s in seeds)}"
        if len(seeds) > 1
        else f"seed {value_text(seeds[0])}"
        if seeds
        else "one run per cell"
    )
    notes = [
        f"Sweep `{plan.name}` on {plan.data} ({plan.benchmark}), recipe {Path(plan.recipe).name}; "
        f"top-1 %, {seed_text}.",
        *spec.notes,
    ]
    if shown:
        notes.append(
            f"(paper N): the paper's figure for the cell's setting ({', '.join(sorted(paper_tables))})."
        )
    if reasons:
        listed = "; ".join(reasons[:MAX_REASONS]) + (" ..." if len(reasons) > MAX_REASONS else "")
        where = ", ".join(sorted(paper_tables))
        notes.append(
            f"The paper's figures ({where}) are not shown beside results that are not "
            f"comparable: {listed}."
        )
    elif not shown:
        notes.append(
            "The paper reports no figure for these settings on this dataset and benchmark "
            "(its ablations are on NTU-60 x-view)."
        )
    if unfinished:
        failed = [e for e in unfinished if e.state == "failed"]
        counts: dict[str, int] = {}
        for e in unfinished:
            counts[e.state] = counts.get(e.state, 0) + 1
        text = ", ".join(f"{n} {s}" for s, n in counts.items())
        line = f"Not in the table: {len(unfinished)} evaluations ({text}; skelcon sweep --status)."
        for e in failed[:3]:
            line += f" {e.point}/{e.eval} failed: {e.error}."
        notes.append(line)
    return notes


def sweep_markdown(tables: list[SweepTable]) -> list[str]:
    """The Markdown lines of a sweep's tables."""
    lines: list[str] = []
    for t in tables:
        lines += ["", f"## {t.title}", ""]
        lines += [*t.notes, ""]
        cols = [t.row_title, *t.columns]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cols) + " |")
        lines.append("|---|" + "---:|" * len(t.columns))
        for label, cells in t.rows:
            row = [label, *(c.text() for c in cells)]
            lines.append("| " + " | ".join(x.replace("|", "\\|") for x in row) + " |")
    return lines
