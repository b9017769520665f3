"""An accuracy printed when some test clips' classes never occur in training says how many
test clips could be right at all (the shared NTU-60 sample under x-view: none)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main
from skelcon.data.prepared import PreparedWriter


def _sets(items):
    return [a for it in items for a in ("--set", it)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("reach")
    data = make_tiny_prepared(root / "data")
    run = root / "run"
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(data),
                "--out",
                str(run),
                "--epochs",
                "1",
                "--quiet",
                *_sets(TINY_PRETRAIN),
            ]
        )
        == 0
    )
    # the same clips, but class c2 only in test: 4 of its test clips can never be right
    src = np.load(data / "data.npy")
    labels, frames = np.load(data / "labels.npy"), np.load(data / "num_frames.npy")
    w = PreparedWriter(
        root / "gap",
        dataset="gap",
        layout="ntu25",
        classes=["c0", "c1", "c2"],
        capacity=len(labels),
        max_frames=src.shape[2],
        num_persons=src.shape[4],
    )
    for i in range(len(labels)):
        w.add(src[i], int(labels[i]), int(frames[i]), f"s{i:03d}")
    idx = np.arange(len(labels))
    test = idx[idx % 4 == 0]
    w.finalize({"default": {"train": idx[(idx % 4 != 0) & (labels != 2)], "test": test}})
    return run, root / "gap", int((labels[test] != 2).sum()), len(test)


@pytest.mark.parametrize("protocol", ["knn", "linear"])
def test_accuracy_says_how_many_test_clips_can_be_right(setup, tmp_path, capsys, protocol):
    run, gap, k, n = setup
    extra = ["--epochs", "1"] if protocol == "linear" else []
    rc = main(
        [
            "eval",
            protocol,
            "--checkpoint",
            str(run),
            "--representation",
            "seq",
            "--data",
            str(gap),
            "--out",
            str(tmp_path / protocol),
            "--quiet",
            *extra,
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert f"only {k} of {n} test clips have a class that occurs in the training split" in out
    assert f"top-1 at most {100 * k / n:.1f} %" in out
    rec = json.loads((tmp_path / protocol / "metrics.json").read_text())
    assert rec["reachable_test"] == k and rec["num_test"] == n


def test_no_note_when_every_test_class_is_trained_on(setup, tiny_data, tmp_path, capsys):
    run = setup[0]
    assert (
        main(
            [
                "eval",
                "knn",
                "--checkpoint",
                str(run),
                "--representation",
                "seq",
                "--data",
                str(tiny_data),
                "--out",
                str(tmp_path / "k"),
                "--quiet",
            ]
        )
        == 0
    )
    assert "note:" not in capsys.readouterr().out


def test_the_runs_knn_monitor_says_it_too(setup, tmp_path, capsys):
    _, gap, k, n = setup
    sets = [a for it in TINY_PRETRAIN for a in ("--set", it)]
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(gap),
                "--out",
                str(tmp_path / "r"),
                "--epochs",
                "1",
                *sets,
                "--set",
                "monitor.every=1",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"kNN monitor: only {k} of {n} test clips have a class that occurs" in err
    assert f"only {k} of {n} test clips have a class seen in training" in err  # the verdict
