"""Sweep files: validation (one line naming file, line and key) and the shipped ones."""

from __future__ import annotations

import dataclasses

import pytest
from sweep_helpers import SWEEP

from skelcon.config import PretrainConfig
from skelcon.errors import DataFormatError, SkelconError
from skelcon.sweep.grid import build_plan
from skelcon.sweep.spec import load_sweep, packaged_sweeps, resolve_sweep_path


def _error(tmp_path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SkelconError) as e:
        load_sweep(path)
    message = str(e.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(
    "old, new, line, words",
    [
        ("title: A small sweep", "titel: x", 2, ["unknown key 'titel'", "valid: name, title"]),
        (
            "  seed: [0, 1]",
            "  augment.spatal: [none]",
            8,
            ["axes.augment.spatal", "unknown config key 'augment.spatal'", "spatial"],
        ),
        (
            "  seed: [0, 1]",
            "  augment.spatial: [none, shears]",
            8,
            ["axes.augment.spatial", "'shears' is not valid", "shear"],
        ),
        ("  seed: [0, 1]", "  seed: [0, 0]", 8, ["axes.seed", "repeats the value 0"]),
        ("  - protocol: linear", "  - protocol: linar", 10, ["linar", "valid: linear, knn"]),
        ("    set: [epochs=2]", "    set: [epochs=two]", 12, ["linear", "epochs", "'two'"]),
        ("set: [epochs=2]", "set: [epoch=2]", 5, ["set[0]", "unknown config key 'epoch'"]),
        (
            "  columns: [downstream]",
            "  columns: [downstreem]",
            15,
            ["table.columns", "'downstreem'", "downstream, contrast"],
        ),
        (
            "    representation: each",
            "    representation: sek",
            11,
            ["representation", "unknown sek", "each, all"],
        ),
    ],
)
def test_a_bad_sweep_file_is_one_line_naming_file_line_and_key(tmp_path, old, new, line, words):
    assert old in SWEEP
    message = _error(tmp_path, SWEEP.replace(old, new))
    assert message.startswith(f"{tmp_path / 's.yaml'}:{line}: "), message
    for w in words:
        assert w in message, (w, message)


def test_yaml_syntax_and_missing_keys(tmp_path):
    assert ":3:" in _error(tmp_path, "name: x\naxes: {seed: [0]\nevaluations: [linear]\n")
    assert "key 'table' is missing" in _error(
        tmp_path, "axes: {seed: [0]}\nevaluations: [linear]\n"
    )


def test_points_that_would_share_a_cell_are_refused(tmp_path, tiny_data):
    """A table that does not tell two settings apart would average them: refused."""
    text = SWEEP.replace("  rows: [representations]\n", "  rows: []\n")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    spec = load_sweep(path)  # the file alone is fine; the grid tells
    with pytest.raises(DataFormatError, match=r"s\.yaml:13: table: .* would share a cell"):
        build_plan(spec, data=tiny_data)


def test_the_grid_of_a_small_sweep(sweep_file, tiny_data):
    plan = build_plan(load_sweep(sweep_file), data=tiny_data)
    assert [p.id for p in plan.points] == [
        "representations-seq__seed-0",
        "representations-seq__seed-1",
        "representations-seq+stg__seed-0",
        "representations-seq+stg__seed-1",
    ]
    p = plan.points[2]
    assert p.representations == ("seq", "stg")
    assert [e.name for e in p.evaluations] == ["linear-seq", "linear-stg"]
    assert p.overrides == ("epochs=2", 'representations=["seq", "stg"]', "seed=0")
    assert plan.recipe == "cpu_small" and plan.benchmark == "default"
    # --axis replaces an axis' values; --set may not set an axis
    plan = build_plan(load_sweep(sweep_file), data=tiny_data, axes={"seed": [3]})
    assert [p.values["seed"] for p in plan.points] == [3, 3]
    with pytest.raises(SkelconError, match="would set the axis 'seed'"):
        build_plan(load_sweep(sweep_file), data=tiny_data, overrides=["seed=1"])
    with pytest.raises(SkelconError, match="'sed' is not an axis"):
        build_plan(load_sweep(sweep_file), data=tiny_data, axes={"sed": [1]})
    with pytest.raises(SkelconError, match="paper has no recipe for dataset 'tiny'"):
        build_plan(load_sweep(sweep_file), data=tiny_data, recipe="paper")


# points of the shipped sweeps per seed (the paper's tables)
SHIPPED_POINTS = {"table5": 24, "table6": 7, "table8": 5, "table9": 3, "table10": 6}


def _config_keys(cls=PretrainConfig, prefix="") -> set[str]:
    keys = set()
    for f in dataclasses.fields(cls):
        sub = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(sub):
            keys |= _config_keys(type(sub), f"{prefix}{f.name}.")
        else:
            keys.add(prefix + f.name)
    return keys


@pytest.mark.parametrize("name", sorted(SHIPPED_POINTS))
def test_shipped_sweeps_validate_on_both_scales(name, tiny_data):
    assert sorted(packaged_sweeps()) == sorted(SHIPPED_POINTS)
    spec = load_sweep(resolve_sweep_path(name))
    keys = _config_keys()
    assert set(spec.axes) <= keys, set(spec.axes) - keys  # every axis is a config field
    assert {s.split("=")[0] for s in spec.overrides} <= keys
    for recipe in ("cpu_small", "ntu60"):  # the CPU scale and the paper's recipe
        plan = build_plan(spec, data=tiny_data, benchmark="default", recipe=recipe)
        assert len(plan.points) == SHIPPED_POINTS[name]
        assert all(p.evaluations for p in plan.points)
    assert spec.evaluations and spec.table.rows + spec.table.columns


def test_table10_evaluates_the_paper_pairs():
    spec = load_sweep(resolve_sweep_path("table10"))
    # an evaluation restricted with `only` runs on the named pre-training alone
    only = [e for e in spec.evaluations if e.only]
    assert {(e.representation, e.only[0][1]) for e in only} == {
        ("img", ("img+seq",)),
        ("stg", ("seq+stg",)),
        ("seq", ("seq+stg",)),
    }
