"""A prepared dataset is validated when a split is opened (case
s3/11-tampered-prepared-dataset): dtypes, shapes against meta.json, label range,
split indices, ``num_frames`` in 1..T and finite values, each failure one line
naming the file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.prepared import check_finite_rows, load_prepared
from skelcon.errors import SkelconError
from skelcon.examples import write_folder

CASE = "s3/11-tampered-prepared-dataset"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The README's example clips prepared as coco17 x,y,score (24 clips, 3 classes)."""
    root = tmp_path_factory.mktemp("tampered")
    write_folder(root / "ex")
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(root / "ex"),
                "--layout",
                "coco17",
                "--channels",
                "x,y,score",
                "--out",
                str(root / "base"),
            ]
        )
        == 0
    )
    return root / "base"


@pytest.fixture(scope="module")
def tampered(shared_cases: Path, base: Path) -> Path:
    """The case's make.py run on ``base``: one ``t_<what>`` copy per tampering."""
    work = base.parent
    subprocess.run(
        [sys.executable, str(shared_cases / CASE / "make.py"), str(base)], cwd=work, check=True
    )
    return work


# (variant, split opened, the one line must contain)
EXPECTED = [
    ("num_classes_2", "train", "labels.npy: label 2 of sample"),
    ("shape_V25", "train", "meta.json: shape [24, 3, 300, 25, 2] does not match"),
    ("counts_negative", "train", "meta.json: shape [-24, 3, 300, 17, 2] does not match"),
    ("layout_def_16_joints", "train", "layout 'coco17' has 16 joints but"),
    ("labels_negative", "train", "labels.npy: label -1 of sample"),
    ("labels_float", "train", "labels.npy: labels must be integers (int64), got float64"),
    ("num_frames_zero_neg", "test", "num_frames.npy: num_frames 0 of sample 0"),
    ("data_float64", "train", "data.npy holds float64 values; skelcon reads float32"),
    ("data_int8", "test", "data.npy holds int8 values; skelcon reads float32"),
    ("data_nan", "train", "data.npy: sample 0 (action_0/clip000) holds NaN or infinite"),
    ("split_float_idx", "train", "train.npy: split indices must be integers (int64), got float32"),
]


@pytest.mark.parametrize(("variant", "split", "want"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_tampered_copy_refused_in_one_line(tampered: Path, variant, split, want):
    with pytest.raises(SkelconError) as e:
        load_prepared(tampered / f"t_{variant}", "default", split)
    msg = str(e.value)
    assert want in msg and "\n" not in msg
    assert f"t_{variant}" in msg  # names the dataset's file


def test_untouched_copy_and_meta_only_changes_still_open(tampered: Path, base: Path):
    assert len(load_prepared(base, "default", "train")) == 18
    # the channel names are meta only: the checkpoint check (eval/compat) compares them
    assert load_prepared(tampered / "t_channels_xyz", "default", "test").channels == ["x", "y", "z"]


def test_nan_dataset_cannot_pretrain(tampered: Path, tmp_path, capsys):
    rc = main(
        [
            "pretrain",
            "--data",
            str(tampered / "t_data_nan"),
            "--config",
            "cpu_small",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "holds NaN or infinite values (3 samples" in err
    assert err.count("\n") == 1 and not (tmp_path / "run" / "last.pt").exists()


def _copy(base: Path, tmp_path: Path) -> Path:
    d = tmp_path / "d"
    shutil.copytree(base, d)
    return d


def test_split_index_out_of_range_and_count(base: Path, tmp_path):
    d = _copy(base, tmp_path)
    path = d / "splits" / "default" / "test.npy"
    idx = np.load(path)
    np.save(path, np.r_[idx[:-1], 24].astype(np.int32))  # int32 is fine, 24 is not
    with pytest.raises(SkelconError, match=r"test.npy: index 24 is outside 0..23 .*1 of 6"):
        load_prepared(d, "default", "test")
    np.save(path, idx[:-1])
    with pytest.raises(SkelconError, match=r"test.npy holds 5 indices but meta.json says 6"):
        load_prepared(d, "default", "test")


def test_labels_shape_and_num_frames_past_t(base: Path, tmp_path):
    d = _copy(base, tmp_path)
    np.save(d / "labels.npy", np.zeros((24, 1), np.int64))
    with pytest.raises(SkelconError, match=r"labels.npy has shape \(24, 1\); expected \(24,\)"):
        load_prepared(d, "default", "train")
    np.save(d / "labels.npy", np.zeros(24, np.uint8))  # any integer dtype is read
    nf = np.full(24, 301, np.int64)
    np.save(d / "num_frames.npy", nf)
    with pytest.raises(SkelconError, match=r"num_frames 301 .* outside 1..300 .*24 of 24"):
        load_prepared(d, "default", "train")


def test_missing_array_named(base: Path, tmp_path):
    d = _copy(base, tmp_path)
    (d / "num_frames.npy").unlink()
    with pytest.raises(SkelconError, match=r"is missing .*num_frames.npy"):
        load_prepared(d, "default", "train")


def test_finite_check_sees_only_the_split_rows_and_counts(tmp_path):
    data = np.zeros((10, 2, 3, 4, 1), np.float32)
    data[7, 1, 2, 3, 0] = np.inf
    data[9, 0, 0, 0, 0] = np.nan
    path = tmp_path / "data.npy"
    np.save(path, data)
    mm = np.load(path, mmap_mode="r")
    check_finite_rows(path, mm, np.array([0, 1, 2, 8]))  # no bad row: passes
    with pytest.raises(SkelconError, match=r"sample 7 \(c7\) holds NaN or inf.*\(2 samples"):
        check_finite_rows(path, mm, np.array([9, 7, 3]), np.array([f"c{i}" for i in range(10)]))


def test_test_sample_in_train_is_a_leak_refused_both_ways(base: Path, tmp_path):
    """A test index copied into train.npy (same count, so meta.json still agrees)."""
    d = _copy(base, tmp_path)
    train, test = (np.load(d / "splits" / "default" / f"{s}.npy") for s in ("train", "test"))
    names = np.load(d / "names.npy")
    leaked = train.copy()
    leaked[3] = test[1]
    np.save(d / "splits" / "default" / "train.npy", leaked)
    for split, other in (("train", "test"), ("test", "train")):
        with pytest.raises(SkelconError) as e:
            load_prepared(d, "default", split)
        msg = str(e.value)
        assert f"{split}.npy: sample {test[1]} ({names[test[1]]}) is also in " in msg, msg
        assert f"{other}.npy; 1 sample is in both" in msg and "\n" not in msg


def test_repeated_sample_in_a_split_refused(base: Path, tmp_path):
    d = _copy(base, tmp_path)
    path = d / "splits" / "default" / "train.npy"
    train = np.load(path)
    names = np.load(d / "names.npy")
    twice = train.copy()
    twice[7] = train[2]  # one train clip twice, one dropped: the count is unchanged
    np.save(path, twice)
    with pytest.raises(SkelconError) as e:
        load_prepared(d, "default", "train")
    msg = str(e.value)
    assert f"train.npy: sample {train[2]} ({names[train[2]]}) is listed again at position 7" in msg
    assert "1 of 18 entries repeat a sample" in msg and "\n" not in msg
    assert len(load_prepared(base, "default", "train")) == 18  # the untouched dataset opens


def test_writer_never_writes_overlapping_splits(tmp_path):
    from skelcon.data.prepared import PreparedWriter

    w = PreparedWriter(
        tmp_path / "out",
        dataset="t",
        layout="coco17",
        classes=["a"],
        capacity=3,
        max_frames=4,
        num_persons=1,
    )
    for i in range(3):
        w.add(np.zeros((3, 4, 17, 1), np.float32), 0, 4, f"clip{i}")
    with pytest.raises(
        SkelconError,
        match=r"^split b/train: sample 2 \(clip2\) is also in split "
        r"b/test; 1 sample is in both",
    ):
        w.finalize({"a": {"train": [0, 1, 2]}, "b": {"train": [0, 2], "test": [1, 2]}})
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())
