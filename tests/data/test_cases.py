"""The handed failing inputs of ``shared/cases`` (README there), each with the value a
user expects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.prepared import load_prepared, read_meta


def test_pku_label_quirks_keep_nine_skip_three(shared_cases: Path, tmp_path, capsys):
    case = shared_cases / "pku-label-quirks"
    labels = tmp_path / "labels"
    shutil.copytree(case / "labels", labels)
    out = tmp_path / "out"
    rc = main(
        [
            "prepare",
            "pku-mmd1",
            "--raw",
            str(case / "raw"),
            "--labels",
            str(labels),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    meta = read_meta(out)
    assert meta["counts"]["samples"] == 9
    skipped = meta["skipped"]
    assert [s["name"] for s in skipped] == ["0005-L_007", "0005-L_008", "0005-L_009"]
    lf = str(labels / "0005-L.txt")
    assert skipped[0]["reason"] == f"{lf}:7: start frame 900 > end frame 880"
    assert skipped[1]["reason"] == f"{lf}:8: class 52 out of range 1..51"
    assert skipped[2]["reason"].startswith(f"{lf}:9: end frame 1600 beyond the 1494 frames")
    assert meta["clamped_ends"] == 1  # the line whose end equals the frame count
    err = capsys.readouterr().err
    assert (
        sum(line.startswith("skipped ") or " skipped /" in line for line in err.splitlines()) >= 3
    )
    names = set(np.asarray(read_names(out)))
    # every good line kept, by its label-file line number: BOM line 1, trailing comma 2,
    # no confidence 3, spaces 4, start 0 line 5, end == frame count 6, float
    # confidence 10, tab-separated 12, 1-frame clip 13 (blank line 11 ignored)
    assert names == {f"0005-L_{i:03d}" for i in (1, 2, 3, 4, 5, 6, 10, 12, 13)}
    frames = dict(zip(read_names(out), np.load(out / "num_frames.npy").tolist(), strict=True))
    assert frames["0005-L_013"] == 1 and frames["0005-L_005"] == 41
    assert frames["0005-L_006"] == 1494 - 1450  # clamped to the last frame (index 1493)
    labels_of = dict(zip(read_names(out), np.load(out / "labels.npy").tolist(), strict=True))
    assert labels_of["0005-L_001"] == 25 and labels_of["0005-L_012"] == 23


def read_names(out: Path) -> list[str]:
    return [str(n) for n in np.load(out / "names.npy")]


def test_npy_numpy_int_labels_import(shared_cases: Path, tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(shared_cases / "npy-numpy-int-labels"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    split = load_prepared(out, "default", "train")
    data = np.load(shared_cases / "npy-numpy-int-labels" / "train_data_joint.npy")
    assert len(split) == data.shape[0]
    assert np.array_equal(np.asarray(split.data), data.astype(np.float32))
    assert split.labels.tolist() == [0, 1] and split.names.tolist() == ["s0", "s1"]


@pytest.mark.parametrize("protocol", [2, 5])
def test_pyskl_zero_person_annotation_skipped(shared_cases: Path, tmp_path, capsys, protocol):
    src = shared_cases / "pyskl-empty-array" / f"min_zero_person_p{protocol}.pkl"
    out = tmp_path / "out"
    assert main(["prepare", "import-pyskl", "--raw", str(src), "--out", str(out)]) == 0
    meta = read_meta(out)
    assert meta["counts"]["samples"] == 1 and len(meta["skipped"]) == 1
    assert "keypoint has no persons" in meta["skipped"][0]["reason"]
    x = np.load(out / "data.npy")
    assert x.shape[0] == 1 and np.abs(x).sum(axis=(1, 2, 3, 4)).min() > 0  # no all-zero sample
    assert "keypoint has no persons" in capsys.readouterr().err
    json.dumps(meta)  # meta stays plain JSON
