"""Sweep files: a grid of pre-trainings and their evaluations, as YAML data.

A sweep file names a base recipe, the data (optional: ``--data`` gives it), a benchmark,
config overrides shared by every point (``set``), the **axes** (dotted
:class:`~skelcon.config.PretrainConfig` keys, each with its list of values; the grid is
their product), the **evaluations** run on every point and the **table** the report lays
the results out in::

    name: table5
    title: Benefit of skeleton augmentation (paper Table 5)
    recipe: paper          # the paper's recipe of the data's dataset, or a recipe name / YAML file
    benchmark: xview
    set: []                # key=value for every point
    axes:
      representations: [[img], [stg], [seq]]
      augment.temporal: [false, true]
      augment.spatial: [none, shear, jitter, random]
      seed: [0]
    evaluations:
      - protocol: linear   # linear | knn | semi | finetune
        representation: each   # each pre-trained one | all (concatenated) | seq, seq+stg ...
        set: []            # the protocol's config, key=value
        only: {}           # axis: [values]: run only on those points
    table:
      rows: [augment.temporal, augment.spatial]
      columns: [downstream]   # an axis, downstream (the evaluated representation) or contrast
      names: {}               # field -> header word
      labels: {}              # field -> {value: label}
      notes: []

:func:`load_sweep` reads and checks one; every mistake is one line naming the file, the
line (PyYAML's marks) and the key (:class:`~skelcon.errors.DataFormatError`).
:func:`packaged_sweeps` lists the paper's ablation tables shipped with skelcon
(``src/skelcon/sweeps/*.yaml``).
"""

from __future__ import annotations

import importlib.resources
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import (
    KnnConfig,
    LinearEvalConfig,
    PretrainConfig,
    apply_overrides,
    finetune_defaults,
    parse_representations,
)
from ..errors import DataFormatError, SkelconError
from ..utils.text import read_text, yaml_error_message

PROTOCOLS = ("linear", "knn", "semi", "finetune")  # the evaluations a point can run
EVAL_REPRESENTATIONS = ("each", "all")  # besides an explicit representation set
DERIVED_FIELDS = ("downstream", "contrast")  # table fields that are not axes
TOP_KEYS = (
    "name",
    "title",
    "recipe",
    "data",
    "benchmark",
    "set",
    "axes",
    "evaluations",
    "table",
)
EVAL_KEYS = ("protocol", "representation", "set", "only")
TABLE_KEYS = ("rows", "columns", "names", "labels", "notes")


def value_text(value: Any) -> str:
    """The one text of an axis value, used in point ids, labels and comparisons:
    ``[seq, stg]`` -> ``seq+stg``, ``False`` -> ``false``, ``0.1`` -> ``0.1``."""
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "+".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def override(key: str, value: Any) -> str:
    """``key=value`` for :func:`~skelcon.config.apply_overrides` and ``--set`` (the value
    as JSON, which YAML reads back as the same value: ``augment.spatial="none"``)."""
    return f"{key}={json.dumps(value)}"


class Lines:
    """Where each key and item of a YAML document stands: 1-based line numbers by key
    path (``("axes", "seed", 0)``), read from PyYAML's node marks."""

    def __init__(self, node: yaml.Node | None):
        self._lines: dict[tuple[Any, ...], int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self._lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark.line)
                self._lines[(*path, key)] = k.start_mark.line + 1  # a key: its own line
                self._walk(v, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, i))

    def line(self, *path: Any) -> int | None:
        """The line of ``path``, else of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self._lines:
                return self._lines[p]
            p = p[:-1]
        return self._lines.get(())


@dataclass(frozen=True)
class EvalSpec:
    """One evaluation of every point: ``protocol`` on ``representation`` (``each``,
    ``all`` or an explicit set such as ``seq+stg``), with the protocol's config
    ``overrides``; ``only``: axis -> the values of the points it runs on (empty: all)."""

    protocol: str
    representation: str
    overrides: tuple[str, ...] = ()
    only: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether this evaluation runs on the point with axis ``values``."""
        return all(value_text(values.get(k)) in allowed for k, allowed in self.only)


@dataclass(frozen=True)
class TableSpec:
    """How the report lays a sweep out: ``rows`` and ``columns`` are axes or the derived
    fields ``downstream`` (the evaluated representation) and ``contrast`` (intra or inter);
    ``names``: field -> its word in headers; ``labels``: field -> value text -> label (an
    empty label leaves the value out of a row's name); ``notes`` printed under the title."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "names": dict(self.names),
            "labels": {k: dict(v) for k, v in self.labels.items()},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TableSpec:
        return cls(
            rows=tuple(d.get("rows", ())),
            columns=tuple(d.get("columns", ())),
            names=dict(d.get("names", {})),
            labels={k: dict(v) for k, v in d.get("labels", {}).items()},
            notes=tuple(d.get("notes", ())),
        )


@dataclass
class SweepSpec:
    """A checked sweep file (see the module docstring for its keys)."""

    path: str
    name: str
    title: str
    recipe: str
    data: str | None
    benchmark: str | None
    overrides: list[str]
    axes: dict[str, list[Any]]
    evaluations: list[EvalSpec]
    table: TableSpec
    lines: Lines = field(repr=False, compare=False, default_factory=lambda: Lines(None))

    def error(self, message: str, *path: Any) -> DataFormatError:
        """A one-line error at ``path``'s line of this file."""
        return DataFormatError(message, self.path, self.lines.line(*path))


def packaged_sweeps() -> list[str]:
    """The names of the shipped sweep files (``table5``, ``table6``...), sorted."""
    root = importlib.resources.files("skelcon") / "sweeps"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def resolve_sweep_path(value: str) -> Path:
    """A sweep file's path, or the name of a shipped one (``table5``)."""
    if os.path.isfile(value):
        return Path(value)
    name = value[:-5] if value.endswith(".yaml") else value
    if name in packaged_sweeps():
        return Path(str(importlib.resources.files("skelcon") / "sweeps" / f"{name}.yaml"))
    raise SkelconError(
        f"sweep file {value!r} is neither a file nor a shipped sweep (shipped: "
        f"{', '.join(packaged_sweeps())}; `skelcon sweeps` lists them)"
    )


def load_sweep(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and check the sweep file ``path``.

    Raises :class:`~skelcon.errors.DataFormatError` (one line: file, line, key, what
    would be valid) for a YAML error, an unknown key, an axis that is not a config key
    or has a value the config refuses, an evaluation the protocols do not have, or a
    table field that is neither an axis nor ``downstream`` / ``contrast``.
    """
    path = os.fspath(path)
    text = read_text(path, "sweep file")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        raise SkelconError(yaml_error_message("sweep file", path, e)) from None
    lines = Lines(node)

    def err(message: str, *key: Any) -> DataFormatError:
        return DataFormatError(message, path, lines.line(*key))

    if not isinstance(data, dict):
        raise err("a sweep file must be a mapping of name, recipe, axes, evaluations, table")
    _known(data, TOP_KEYS, (), err)
    for required in ("axes", "evaluations", "table"):
        if required not in data:
            raise err(f"key {required!r} is missing (a sweep needs axes, evaluations and table)")
    name = _string(data.get("name", Path(path).stem), "name", err)
    recipe = _string(data.get("recipe", "paper"), "recipe", err)
    spec = SweepSpec(
        path=path,
        name=name,
        title=_string(data.get("title", name), "title", err),
        recipe=recipe,
        data=_optional_string(data.get("data"), "data", err),
        benchmark=_optional_string(data.get("benchmark"), "benchmark", err),
        overrides=_overrides(data.get("set", []), ("set",), err),
        axes=_axes(data["axes"], err),
        evaluations=[],
        table=TableSpec((), ()),
        lines=lines,
    )
    for i, item in enumerate(spec.overrides):
        try:
            check_pretrain_overrides([item])
        except SkelconError as e:
            raise err(f"set[{i}] {item!r}: {e}", "set", i) from None
    spec.evaluations = _evaluations(data["evaluations"], spec.axes, err)
    spec.table = _table(data["table"], spec.axes, err)
    return spec


_Err = Callable[..., DataFormatError]  # (message, *key path) -> the error at that line


def _known(d: Mapping[str, Any], keys: tuple[str, ...], at: tuple[Any, ...], err: _Err) -> None:
    for k in d:
        if k not in keys:
            where = ".".join(str(p) for p in (*at, k))
            raise err(f"unknown key {where!r} (valid: {', '.join(keys)})", *at, k)


def _string(value: Any, key: str, err: _Err) -> str:
    if not isinstance(value, str) or not value.strip():
        raise err(f"key {key!r} must be a non-empty string, got {value!r}", key)
    return value.strip()


def _optional_string(value: Any, key: str, err: _Err) -> str | None:
    return None if value is None else _string(value, key, err)


def _overrides(value: Any, at: tuple[Any, ...], err: _Err) -> list[str]:
    """A ``set`` list: ``key=value`` strings (or a mapping ``key: value``)."""
    where = ".".join(str(p) for p in at)
    if value is None:
        return []
    if isinstance(value, dict):
        return [override(str(k), v) for k, v in value.items()]
    if not isinstance(value, list):
        raise err(f"key {where!r} must be a list of key=value strings, got {value!r}", *at)
    for i, item in enumerate(value):
        if not isinstance(item, str) or "=" not in item:
            raise err(f"key {where}[{i}] must look like key=value, got {item!r}", *at, i)
    return [str(v) for v in value]


def check_pretrain_overrides(items: list[str]) -> None:
    """``items`` must apply to a default :class:`PretrainConfig` and leave it valid
    (raises the config's one-line :class:`SkelconError`)."""
    cfg = PretrainConfig()
    apply_overrides(cfg, items)
    cfg.validate()


def _axes(value: Any, err: _Err) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or not value:
        raise err(
            "key 'axes' must map config keys to lists of values, e.g. seed: [0, 1, 2]", "axes"
        )
    axes: dict[str, list[Any]] = {}
    for key, values in value.items():
        key = str(key)
        if not isinstance(values, list) or not values:
            raise err(f"key 'axes.{key}' must be a non-empty list of values", "axes", key)
        texts = [value_text(v) for v in values]
        if len(set(texts)) != len(texts):
            dup = next(t for t in texts if texts.count(t) > 1)
            raise err(f"key 'axes.{key}' repeats the value {dup}", "axes", key)
        for i, v in enumerate(values):
            try:
                check_pretrain_overrides([override(key, v)])
            except SkelconError as e:
                raise err(f"key 'axes.{key}': {e}", "axes", key, i) from None
        axes[key] = list(values)
    return axes


def eval_config_class(protocol: str) -> Any:
    """The config factory of an evaluation protocol (what its ``set`` is checked against)."""
    if protocol == "linear":
        return LinearEvalConfig
    if protocol == "knn":
        return KnnConfig
    return lambda: finetune_defaults(protocol)


def check_eval_overrides(protocol: str, items: list[str]) -> None:
    """``items`` must apply to ``protocol``'s config and leave it valid."""
    cfg = eval_config_class(protocol)()
    apply_overrides(cfg, items)
    cfg.validate()


def _evaluations(value: Any, axes: Mapping[str, list[Any]], err: _Err) -> list[EvalSpec]:
    if not isinstance(value, list) or not value:
        raise err(
            "key 'evaluations' must be a non-empty list, e.g. - protocol: linear", "evaluations"
        )
    out = []
    for i, item in enumerate(value):
        at = ("evaluations", i)
        if isinstance(item, str):
            item = {"protocol": item}
        if not isinstance(item, dict):
            raise err(f"evaluations[{i}] must be a mapping with 'protocol'", *at)
        _known(item, EVAL_KEYS, at, err)
        protocol = item.get("protocol")
        if protocol not in PROTOCOLS:
            raise err(
                f"evaluations[{i}].protocol {protocol!r} is not valid (valid: {', '.join(PROTOCOLS)})",
                *at,
                "protocol",
            )
        rep = item.get("representation", "each")
        if isinstance(rep, list):
            rep = "+".join(str(r) for r in rep)
        if not isinstance(rep, str):
            raise err(f"evaluations[{i}].representation must be a string, got {rep!r}", *at)
        if rep not in EVAL_REPRESENTATIONS:
            try:
                rep = "+".join(parse_representations(rep))
            except SkelconError as e:
                raise err(
                    f"evaluations[{i}].representation: {e}; or each, all",
                    *at,
                    "representation",
                ) from None
        overrides = _overrides(item.get("set", []), (*at, "set"), err)
        try:
            check_eval_overrides(protocol, overrides)
        except SkelconError as e:
            raise err(f"evaluations[{i}].set ({protocol}): {e}", *at, "set") from None
        only = item.get("only", {}) or {}
        if not isinstance(only, dict):
            raise err(f"evaluations[{i}].only must map axes to lists of values", *at, "only")
        pairs = []
        for key, allowed in only.items():
            if key not in axes:
                raise err(
                    f"evaluations[{i}].only: {key!r} is not an axis (axes: {', '.join(axes)})",
                    *at,
                    "only",
                    key,
                )
            allowed = allowed if isinstance(allowed, list) else [allowed]
            texts = tuple(value_text(v) for v in allowed)
            known = {value_text(v) for v in axes[key]}
            bad = [t for t in texts if t not in known]
            if bad:
                raise err(
                    f"evaluations[{i}].only.{key}: {bad[0]} is not a value of the axis "
                    f"(values: {', '.join(sorted(known))})",
                    *at,
                    "only",
                    key,
                )
            pairs.append((str(key), texts))
        out.append(EvalSpec(protocol, rep, tuple(overrides), tuple(pairs)))
    return out


def _field_list(value: Any, key: str, valid: list[str], err: _Err) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    for i, f in enumerate(items):
        if f not in valid:
            raise err(
                f"table.{key}: {f!r} is neither an axis nor a derived field (valid: "
                f"{', '.join(valid)})",
                "table",
                key,
                i,
            )
    return tuple(str(f) for f in items)


def _table(value: Any, axes: Mapping[str, list[Any]], err: _Err) -> TableSpec:
    if not isinstance(value, dict):
        raise err("key 'table' must be a mapping with rows and columns", "table")
    _known(value, TABLE_KEYS, ("table",), err)
    valid = [*axes, *DERIVED_FIELDS]
    rows = _field_list(value.get("rows"), "rows", valid, err)
    columns = _field_list(value.get("columns"), "columns", valid, err)
    both = set(rows) & set(columns)
    if both:
        raise err(f"table: {sorted(both)[0]!r} is in both rows and columns", "table")
    names = value.get("names", {}) or {}
    labels = value.get("labels", {}) or {}
    notes = value.get("notes", []) or []
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise err("table.names must map fields to words", "table", "names")
    if not isinstance(labels, dict) or not all(isinstance(v, dict) for v in labels.values()):
        raise err("table.labels must map fields to {value: label}", "table", "labels")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise err("table.notes must be a list of strings", "table", "notes")
    for f in (*names, *labels):
        if f not in valid:
            raise err(f"table: {f!r} is neither an axis nor a derived field", "table")
    return TableSpec(
        rows=rows,
        columns=columns,
        names={str(k): v for k, v in names.items()},
        labels={
            str(f): {value_text(k): "" if v is None else str(v) for k, v in m.items()}
            for f, m in labels.items()
        },
        notes=tuple(notes),
    )
