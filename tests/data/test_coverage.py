"""Class coverage of prepared datasets: empty, tiny and one-split classes are recorded in
meta.json and named by every ``prepare``; the stratified folder split keeps every class
of two or more clips in both splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.coverage import class_coverage, coverage_notes, reachable, reachable_note
from skelcon.data.folder import stratified_split


def test_class_coverage_names_empty_tiny_and_one_split_classes():
    labels = np.array([0] * 6 + [1] * 2 + [3] * 6)  # class 2 empty, class 1 tiny
    splits = {"b": {"train": np.arange(0, 5), "test": np.r_[5:8, 8]}}  # class 1: test only
    cov = class_coverage(labels, ["a", "b", "c", "d"], splits)
    assert cov["empty"] == ["c"] and cov["tiny"] == ["b"]
    bench = cov["benchmarks"]["b"]
    assert bench["test_only"] == ["b", "d"]  # d's clip 8 is in test only
    assert bench["reachable_test"] == 1 and bench["num_test"] == 4  # only clip 5 (class a)
    notes = coverage_notes({"classes": list("abcd"), "class_coverage": cov}, drop_hint="X")
    assert notes[0].startswith("of 4 classes, 1 class has no clip (c) and 1 class has only 1-4")
    assert notes[0].endswith("; X")
    assert "3 of 4 test clips can never be classified right (top-1 at most 25.0 %)" in notes[1]


def test_a_covered_dataset_has_no_notes():
    labels = np.repeat(np.arange(3), 6)
    idx = np.arange(18)
    cov = class_coverage(
        labels, ["a", "b", "c"], {"b": {"train": idx[idx % 3 != 0], "test": idx[idx % 3 == 0]}}
    )
    assert coverage_notes({"classes": ["a", "b", "c"], "class_coverage": cov}) == []


def test_reachable():
    assert reachable(np.array([0, 1, 1]), np.array([0, 2, 2, 1])) == (2, 4)
    assert reachable_note(4, 4) == ""
    note = reachable_note(0, 8)
    assert "only 0 of 8 test clips" in note and "top-1 at most 0.0 %" in note


@pytest.mark.parametrize("sizes", [(10, 10), (27,), (9, 9, 9), (2, 3, 4, 5, 100), (1, 7)])
def test_stratified_split_keeps_every_class_in_both_splits(sizes):
    names = [f"c{c}/clip{i:03d}" for c, n in enumerate(sizes) for i in range(n)]
    labels = [n.split("/")[0] for n in names]
    split = stratified_split(names, labels, 0.2)
    for c, n in enumerate(sizes):
        mine = [s for s, lab in zip(split, labels, strict=True) if lab == f"c{c}"]
        test = mine.count("test")
        if n == 1:
            assert test == 0
        else:
            assert 1 <= test <= n - 1
            assert test == min(max(round(0.2 * n), 1), n - 1)
    assert stratified_split(names, labels, 0.2) == split  # deterministic
    assert set(stratified_split(names, labels, 0.0)) == {"train"}


def test_adding_a_clip_moves_at_most_one_other():
    names = [f"clip{i:03d}" for i in range(20)]
    before = dict(zip(names, stratified_split(names, ["a"] * 20, 0.2), strict=True))
    more = [*names, "clip999"]
    after = dict(zip(more, stratified_split(more, ["a"] * 21, 0.2), strict=True))
    assert sum(before[n] != after[n] for n in names) <= 1


def _folder(root: Path, counts: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            np.save(root / cls / f"clip{i:03d}.npy", rng.uniform(1, 700, (20, 17, 3)).astype("f4"))
    return root


def test_prepare_folder_splits_per_class_and_names_what_it_cannot(tmp_path, capsys):
    """The README's own-data snippet (2 classes x 10 clips) gave train 19 / test 1 with one
    class absent from test; now 4 test clips, 2 of each, and a 1-clip class is named."""
    raw = _folder(tmp_path / "raw", {"wave": 10, "clap": 10, "jump": 1})
    rc = main(
        [
            "prepare",
            "folder",
            "--raw",
            str(raw),
            "--layout",
            "coco17",
            "--channels",
            "x,y,score",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["benchmarks"]["default"] == {"train": 17, "test": 4}
    test = np.load(tmp_path / "out" / "splits" / "default" / "test.npy")
    labels = np.load(tmp_path / "out" / "labels.npy")
    assert sorted(np.bincount(labels[test], minlength=3).tolist()) == [0, 2, 2]
    assert meta["class_coverage"]["tiny"] == ["jump"]
    assert meta["class_coverage"]["benchmarks"]["default"]["train_only"] == ["jump"]
    assert "folder: note: of 3 classes, 1 class has only 1-4 clips (jump)" in out
    assert "1 class has training clips but no test clip (jump)" in out


def test_min_instances_hint_only_where_the_flag_exists(tmp_path, capsys):
    raw = _folder(tmp_path / "raw", {"wave": 10, "jump": 1})
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(raw),
                "--layout",
                "coco17",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert "--min-instances" not in capsys.readouterr().out


def test_no_test_split_is_said(tmp_path, capsys):
    raw = _folder(tmp_path / "raw", {"wave": 4})
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(raw),
                "--layout",
                "coco17",
                "--test-fraction",
                "0",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "4 clips (1 class, channels" in out
    assert "benchmark default has no test split" in out
