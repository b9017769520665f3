"""The grid of a sweep: its points (one pre-training each, with its evaluations) for
given data, benchmark and recipe, checked in full before anything runs.

A :class:`Plan` is what a sweep directory records (``sweep.json``) and what its runner,
its status and its report read: the data, the benchmark, the resolved recipe, the
overrides every point shares, and per point its id, axis values, the ``--set`` list of
its pre-training and its evaluation steps. :func:`plan_difference` says how two plans
differ (a sweep directory refuses another grid with it).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import PretrainConfig, load_config
from ..errors import SkelconError
from ..paper_numbers import PAPER_RECIPES
from ..recipes import packaged_configs, resolve_config_path
from .spec import (
    SweepSpec,
    TableSpec,
    check_eval_overrides,
    check_pretrain_overrides,
    override,
    value_text,
)

FORMAT = 1  # of sweep.json


@dataclass(frozen=True)
class EvalStep:
    """One evaluation of a point: ``skelcon eval <protocol> --representation
    <representation> --set <overrides>``, written to ``evals/<name>``."""

    name: str
    protocol: str
    representation: str
    overrides: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "representation": self.representation,
            "set": list(self.overrides),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EvalStep:
        return cls(d["name"], d["protocol"], d["representation"], tuple(d.get("set", ())))


@dataclass(frozen=True)
class Point:
    """One pre-training of the grid: ``values`` (axis -> value), the ``overrides`` its
    ``skelcon pretrain`` gets (``--set``, shared ones first), the representations it
    pre-trains and its evaluations."""

    id: str
    values: dict[str, Any]
    overrides: tuple[str, ...]
    representations: tuple[str, ...]
    evaluations: tuple[EvalStep, ...]

    def fields(self, ev: EvalStep) -> dict[str, str]:
        """The table fields of evaluation ``ev`` of this point: every axis (value text),
        ``downstream`` (its representation) and ``contrast`` (intra: one representation
        pre-trained, inter: several)."""
        out = {k: value_text(v) for k, v in self.values.items()}
        out["downstream"] = ev.representation
        out["contrast"] = "intra" if len(self.representations) == 1 else "inter"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "values": dict(self.values),
            "set": list(self.overrides),
            "representations": list(self.representations),
            "evaluations": [e.to_dict() for e in self.evaluations],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Point:
        return cls(
            d["id"],
            dict(d["values"]),
            tuple(d["set"]),
            tuple(d["representations"]),
            tuple(EvalStep.from_dict(e) for e in d["evaluations"]),
        )


@dataclass
class Plan:
    """A sweep resolved for its data: what ``sweep.json`` holds."""

    name: str
    title: str
    source: str  # the sweep file it came from
    data: str  # absolute path of the prepared dataset
    benchmark: str
    recipe: str  # a packaged recipe name or an absolute YAML path
    overrides: tuple[str, ...]  # shared by every point (file `set`, then --set)
    axes: dict[str, list[Any]]
    points: list[Point]
    table: TableSpec = field(default_factory=lambda: TableSpec((), ()))

    def point(self, point_id: str) -> Point:
        for p in self.points:
            if p.id == point_id:
                return p
        raise SkelconError(
            f"sweep {self.name!r} has no point {point_id!r} (points: "
            f"{', '.join(p.id for p in self.points[:5])}{' ...' if len(self.points) > 5 else ''})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "data": self.data,
            "benchmark": self.benchmark,
            "recipe": self.recipe,
            "set": list(self.overrides),
            "axes": {k: list(v) for k, v in self.axes.items()},
            "points": [p.to_dict() for p in self.points],
            "table": self.table.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        return cls(
            name=d["name"],
            title=d["title"],
            source=d["source"],
            data=d["data"],
            benchmark=d["benchmark"],
            recipe=d["recipe"],
            overrides=tuple(d["set"]),
            axes={k: list(v) for k, v in d["axes"].items()},
            points=[Point.from_dict(p) for p in d["points"]],
            table=TableSpec.from_dict(d.get("table", {})),
        )


# What identifies a grid: two plans that agree on these run the same pre-trainings and
# evaluations (the title, the file's path and the table layout may change).
IDENTITY = ("name", "data", "benchmark", "recipe", "set", "points")


def plan_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """The first difference between two plans' identities (:data:`IDENTITY`) in words,
    ``None`` when they are the same grid."""
    for key in IDENTITY:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key == "points" and isinstance(a, list) and isinstance(b, list):
            ids_a, ids_b = [p.get("id") for p in a], [p.get("id") for p in b]
            if ids_a != ids_b:
                gone = [i for i in ids_a if i not in ids_b]
                new_ids = [i for i in ids_b if i not in ids_a]
                parts = [f"{len(a)} -> {len(b)} points"]
                if gone:
                    parts.append(
                        f"not in the new grid: {gone[0]}" + (" ..." if len(gone) > 1 else "")
                    )
                if new_ids:
                    parts.append(f"new: {new_ids[0]}" + (" ..." if len(new_ids) > 1 else ""))
                return "points: " + ", ".join(parts)
            for pa, pb in zip(a, b, strict=True):
                for k in ("set", "evaluations"):
                    if pa.get(k) != pb.get(k):
                        return (
                            f"point {pa.get('id')}: {k} {_short(pa.get(k))} -> {_short(pb.get(k))}"
                        )
        return f"{key}: {_short(a)} -> {_short(b)}"
    return None


def _short(v: Any, width: int = 100) -> str:
    text = repr(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def resolve_recipe(recipe: str, dataset: str | None) -> str:
    """``paper`` -> the paper's recipe of ``dataset`` (:data:`PAPER_RECIPES`); a packaged
    recipe name stays a name; a YAML file becomes its absolute path."""
    if recipe == "paper":
        name = PAPER_RECIPES.get(dataset or "")
        if name is None:
            raise SkelconError(
                f"recipe paper: the paper has no recipe for dataset {dataset!r} (it has one for "
                f"{', '.join(PAPER_RECIPES)}); give --recipe cpu_small or another recipe",
                param="recipe",
            )
        return name
    path = resolve_config_path(recipe)
    name = recipe[:-5] if recipe.endswith(".yaml") else recipe
    if not os.path.isfile(recipe) and name in packaged_configs():
        return name
    return os.path.abspath(str(path))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "_"


def point_ids(axes: Mapping[str, list[Any]], combos: Sequence[tuple[Any, ...]]) -> list[str]:
    """Readable ids: ``representations-seq__spatial-none__seed-0`` (each axis by the last
    part of its key, the whole key where two axes share that part); unique."""
    keys = list(axes)
    last = [k.split(".")[-1] for k in keys]
    short = [k if last.count(s) > 1 else s for k, s in zip(keys, last, strict=True)]
    ids = []
    for combo in combos:
        parts = [f"{_slug(s)}-{_slug(value_text(v))}" for s, v in zip(short, combo, strict=True)]
        ids.append("__".join(parts) or "base")
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        n = seen.get(i, 0)
        seen[i] = n + 1
        out.append(i if n == 0 else f"{i}_{n}")
    return out


def _evaluations(
    spec: SweepSpec, values: Mapping[str, Any], reps: Sequence[str], eval_overrides: Sequence[str]
) -> tuple[EvalStep, ...]:
    """The evaluation steps of the point with axis ``values`` pre-training ``reps``."""
    steps: list[EvalStep] = []
    for ev in spec.evaluations:
        if not ev.applies(values):
            continue
        if ev.representation == "each":
            targets = list(reps)
        elif ev.representation == "all":
            targets = ["+".join(reps)]
        else:
            wanted = ev.representation.split("+")
            targets = [ev.representation] if set(wanted) <= set(reps) else []
        for rep in targets:
            sets = (*ev.overrides, *eval_overrides)
            step = EvalStep(f"{ev.protocol}-{rep}", ev.protocol, rep, sets)
            if step in steps:
                continue  # `each` and `all` of one representation are one evaluation
            names = [s.name for s in steps]
            if step.name in names:
                name = f"{step.name}-{names.count(step.name) + 1}"
                step = EvalStep(name, step.protocol, step.representation, step.overrides)
            steps.append(step)
    return tuple(steps)


def build_plan(
    spec: SweepSpec,
    *,
    data: str | os.PathLike[str] | None = None,
    benchmark: str | None = None,
    recipe: str | None = None,
    overrides: Sequence[str] = (),
    eval_overrides: Sequence[str] = (),
    axes: Mapping[str, list[Any]] | None = None,
) -> Plan:
    """The points of ``spec`` on ``data`` / ``benchmark`` with ``recipe`` (each falls back to
    the file's), ``overrides`` added to every pre-training, ``eval_overrides`` to every
    evaluation and ``axes`` replacing the values of existing axes.

    Every point's config is built and validated here (a bad combination is a one-line
    :class:`SkelconError` naming the point), as is the table layout: two points that
    differ in more than the seed must not share a table cell.
    """
    from ..data.benchmarks import resolve_benchmark
    from ..data.prepared import read_meta

    data = data if data is not None else spec.data
    if data is None:
        raise SkelconError(f"data is required: sweep file {spec.path} names none", param="data")
    data = os.path.abspath(os.fspath(data))
    meta = read_meta(data)
    benchmark = resolve_benchmark(data, benchmark or spec.benchmark)
    if benchmark not in meta.get("benchmarks", {}):
        raise SkelconError(
            f"benchmark {benchmark!r} is not one of {data}'s "
            f"({', '.join(meta.get('benchmarks', {})) or 'none'}); give --benchmark"
        )
    recipe_ref = resolve_recipe(recipe or spec.recipe, meta.get("dataset"))
    recipe_path = resolve_config_path(recipe_ref)
    grid = dict(spec.axes)
    for key, values in (axes or {}).items():
        if key not in grid:
            raise SkelconError(
                f"axis {key!r} is not an axis of sweep {spec.name} (axes: {', '.join(grid)})",
                param="axis",
            )
        for v in values:
            try:
                check_pretrain_overrides([override(key, v)])
            except SkelconError as e:
                raise SkelconError(f"axis {key}: {e}", param="axis") from None
        grid[key] = list(values)
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if key in grid:
            raise SkelconError(
                f"set {item!r} would set the axis {key!r} of every point; give --axis "
                f"{key}=[...] to change its values",
                param="set",
            )
    check_pretrain_overrides(list(overrides))
    for protocol in sorted({e.protocol for e in spec.evaluations}):
        check_eval_overrides(protocol, list(eval_overrides))
    shared = (*spec.overrides, *overrides)
    combos = list(itertools.product(*grid.values()))
    ids = point_ids(grid, combos)
    points = []
    for pid, combo in zip(ids, combos, strict=True):
        chosen = dict(zip(grid, combo, strict=True))
        sets = (*shared, *(override(k, v) for k, v in chosen.items()))
        try:
            cfg = load_config(PretrainConfig, recipe_path, sets)
            cfg.validate()
        except SkelconError as e:
            raise SkelconError(f"sweep {spec.name}, point {pid}: {e}") from None
        reps = tuple(cfg.representations)
        points.append(
            Point(pid, chosen, sets, reps, _evaluations(spec, chosen, reps, eval_overrides))
        )
    plan = Plan(
        name=spec.name,
        title=spec.title,
        source=os.path.abspath(spec.path),
        data=data,
        benchmark=benchmark,
        recipe=recipe_ref,
        overrides=tuple(shared),
        axes=grid,
        points=points,
        table=spec.table,
    )
    check_cells(plan, spec)
    return plan


def cell_key(
    plan: Plan, point: Point, ev: EvalStep
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Where an evaluation lands in the sweep's table: (protocol, row values, column
    values)."""
    f = point.fields(ev)
    return (
        ev.protocol,
        tuple(f[k] for k in plan.table.rows),
        tuple(f[k] for k in plan.table.columns),
    )


def check_cells(plan: Plan, spec: SweepSpec | None = None) -> None:
    """Two evaluations whose settings differ in more than the seed must not share a cell
    of the table (their mean would mix settings): a one-line error naming both."""
    seen: dict[tuple[Any, ...], tuple[tuple[Any, ...], str]] = {}
    for p in plan.points:
        for ev in p.evaluations:
            setting = (
                tuple((k, value_text(v)) for k, v in p.values.items() if k != "seed"),
                ev.name,
            )
            key = cell_key(plan, p, ev)
            if key in seen and seen[key][0] != setting:
                msg = (
                    f"table: {seen[key][1]} and {p.id}/{ev.name} would share a cell; add the "
                    "axis that tells them apart to table.rows or table.columns"
                )
                if spec is not None:
                    raise spec.error(msg, "table")
                raise SkelconError(msg)
            seen.setdefault(key, (setting, f"{p.id}/{ev.name}"))
