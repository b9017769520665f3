"""``skelcon prepare kinetics-skeleton``: ST-GCN's OpenPose json release, synthesised."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.clips import ClipNorm
from skelcon.data.kinetics import parse_clip, prepare_kinetics
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.errors import DataFormatError, SkelconError
from skelcon.examples import write_kinetics


@pytest.fixture
def kin(tmp_path):
    return write_kinetics(tmp_path / "kin", num_classes=3, per_class=3)


def test_prepares_train_and_val_with_labels_and_scores(kin, tmp_path):
    out = tmp_path / "out"
    assert main(["prepare", "kinetics-skeleton", "--raw", str(kin), "--out", str(out)]) == 0
    meta = read_meta(out)
    assert meta["layout"] == "openpose18" and meta["channels"] == ["x", "y", "score"]
    assert meta["shape"][1:] == [3, 300, 18, 2] and meta["classes"] == [
        "class 0",
        "class 1",
        "class 2",
    ]
    assert meta["benchmarks"] == {"default": {"train": 6, "test": 3}}
    s = load_prepared(out, "default", "test")
    x, label, nf, name = s[0]
    doc = json.loads((kin / "kinetics_val" / f"{name}.json").read_text())
    assert label == doc["label_index"] and nf == len(doc["data"])
    assert np.allclose(x[:, :nf, 1, 0][:2], 0, atol=1e-6)  # centred on the neck
    assert not x[:, nf:].any()


def test_no_normalize_keeps_the_released_coordinates_and_person_order(kin, tmp_path):
    prepare_kinetics(kin, tmp_path / "raw", norm=ClipNorm(enabled=False), progress=False)
    s = load_prepared(tmp_path / "raw", "default", "train")
    x, _, nf, name = s[0]
    doc = json.loads((kin / "kinetics_train" / f"{name}.json").read_text())
    kp, _, _, _, _ = parse_clip(doc, "x")
    best = np.argsort(-kp[..., 2].sum(axis=(1, 2)), kind="stable")[:2]
    assert np.allclose(x[:, :nf].transpose(3, 1, 2, 0), kp[np.sort(best)], atol=1e-6)


def test_bad_clips_are_skipped_with_file_and_reason(kin, tmp_path, capsys):
    bad = kin / "kinetics_train" / "vid00000.json"
    bad.write_text('{"data": [\n{"frame_index": 1,\n "skeleton": [}]}')
    doc = json.loads((kin / "kinetics_train" / "vid00001.json").read_text())
    doc["data"][0]["skeleton"][0]["pose"] = doc["data"][0]["skeleton"][0]["pose"][:-2]
    (kin / "kinetics_train" / "vid00001.json").write_text(json.dumps(doc))
    table = json.loads((kin / "kinetics_train_label.json").read_text())
    table["vid00003"]["has_skeleton"] = False
    (kin / "kinetics_train_label.json").write_text(json.dumps(table))
    prepare_kinetics(kin, tmp_path / "out", progress=False)
    err = capsys.readouterr().err
    assert f"skipped {bad}:3: invalid JSON" in err
    assert "vid00001.json: frame_index 1, skeleton 0: pose has 34 values (expected 36)" in err
    meta = read_meta(tmp_path / "out")
    reasons = {s["name"]: s["reason"] for s in meta["skipped"]}
    assert set(reasons) == {"vid00000", "vid00001", "vid00003"}
    assert "has_skeleton" in reasons["vid00003"] and meta["counts"]["samples"] == 6
    with pytest.raises(DataFormatError, match=r"vid00000.json:3: invalid JSON"):
        prepare_kinetics(kin, tmp_path / "strict", strict=True, progress=False)


def test_without_label_files_the_clips_own_labels_count(kin, tmp_path):
    for f in kin.glob("*_label.json"):
        f.unlink()
    prepare_kinetics(kin, tmp_path / "out", progress=False)
    meta = read_meta(tmp_path / "out")
    assert meta["num_classes"] == 3 and meta["classes"][2] == "class 2"


def test_long_clips_are_subsampled_before_allocating():
    pose = {"pose": [0.5] * 36, "score": [0.9] * 18}
    doc = {
        "data": [{"frame_index": 1, "skeleton": [pose]}, {"frame_index": 10**7, "skeleton": [pose]}]
    }
    kp, _, _, length, _ = parse_clip(doc, "x.json", max_frames=300)
    assert kp.shape == (1, 300, 18, 3) and length == 10**7
    assert kp[0, 0].any() and kp[0, -1].any() and not kp[0, 1:-1].any()


def test_user_errors(tmp_path):
    with pytest.raises(SkelconError, match="holds no kinetics_train"):
        prepare_kinetics(tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(SkelconError, match="is not a directory"):
        prepare_kinetics(tmp_path / "nope", tmp_path / "out", progress=False)
    with pytest.raises(DataFormatError, match="no skeleton in any frame"):
        parse_clip({"data": [{"frame_index": 1, "skeleton": []}]}, "x.json")
    with pytest.raises(DataFormatError, match="frame_index must be an int"):
        parse_clip({"data": [{"frame_index": 0, "skeleton": []}]}, "x.json")


def test_two_workers_give_identical_output(kin, tmp_path):
    prepare_kinetics(kin, tmp_path / "one", progress=False)
    prepare_kinetics(kin, tmp_path / "two", workers=2, progress=False)
    for f in ("data.npy", "labels.npy", "num_frames.npy", "names.npy"):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()


def test_channels_xy_and_nan_joints_read_as_missing(kin, tmp_path, capsys):
    path = kin / "kinetics_train" / "vid00000.json"
    doc = json.loads(path.read_text())
    doc["data"][0]["skeleton"][0]["pose"][2] = float("nan")  # joint 1's x
    doc["data"][1]["skeleton"][0]["score"][4] = float("inf")
    path.write_text(json.dumps(doc))  # json writes NaN / Infinity as estimators do
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "kinetics-skeleton",
                "--raw",
                str(kin),
                "--out",
                str(out),
                "--channels",
                "x,y",
                "--no-normalize",
            ]
        )
        == 0
    )
    assert "2 joints in 1 samples held NaN or infinity" in capsys.readouterr().out
    meta = read_meta(out)
    assert meta["channels"] == ["x", "y"] and meta["shape"][1] == 2
    assert meta["counts"]["skipped"] == 0
    assert meta["nonfinite_joints"] == [{"name": "vid00000", "joints": 2}]
    s = load_prepared(out, "default", "train")
    i = list(s.names).index("vid00000")
    x = s.data[i]
    assert np.isfinite(x).all() and not x[:, 0, 1, 0].any() and not x[:, 1, 4, 0].any()
    assert x[:, 0, 2, 0].all()  # the next joint is kept
    assert (
        main(
            [
                "prepare",
                "kinetics-skeleton",
                "--raw",
                str(kin),
                "--out",
                str(tmp_path / "o3"),
                "--channels",
                "x,y,z",
            ]
        )
        == 2
    )
    assert "--channels x,y,z names 3 channels but kinetics-skeleton pose has C=2" in (
        capsys.readouterr().err
    )


# ---------------------------------------------------------------- the folder rules)


def test_a_clip_linked_into_the_other_split_is_refused_before_parsing(
    tmp_path, capsys, monkeypatch
):
    """A symlink (or hard link) kinetics_val/zz_leak.json -> a train clip put the same
    clip in train and test without a word; now refused before any clip is parsed."""
    from skelcon.data import kinetics

    kin = write_kinetics(tmp_path / "kin")
    parsed = []
    monkeypatch.setattr(kinetics, "prepare_clip", lambda t: parsed.append(t) or 1 / 0)
    (kin / "kinetics_val" / "zz_leak.json").symlink_to("../kinetics_train/vid00000.json")
    os.link(kin / "kinetics_train" / "vid00001.json", kin / "kinetics_val" / "zz_hard.json")
    assert (
        main(["prepare", "kinetics-skeleton", "--raw", str(kin), "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"skelcon: error: --raw '{kin}': {kin}/kinetics_val/zz_leak.json is the same file as "
        f"{kin}/kinetics_train/vid00000.json (a link): one clip would be in train and test (2 "
        "shared files in all); remove the link or the copy; nothing was written"
    ]
    assert parsed == [] and sorted(os.listdir(tmp_path)) == ["kin"]
    (kin / "kinetics_val" / "zz_leak.json").unlink()
    (kin / "kinetics_val" / "zz_hard.json").unlink()
    shutil.rmtree(kin / "kinetics_val")
    (kin / "kinetics_val").symlink_to("kinetics_train")  # the whole folder
    with pytest.raises(SkelconError, match="kinetics_val is the folder .*kinetics_train"):
        prepare_kinetics(kin, tmp_path / "o", progress=False)


def test_every_other_file_is_read_once_or_listed_with_its_reason(tmp_path, capsys):
    """Dot-files and macOS ._ files ignored, a link or hard link to a clip read once,
    other files, sub-folders and other folders listed as not read (screen, meta.json)."""
    kin = write_kinetics(tmp_path / "kin")  # 24 clips: train 16, val 8
    tr = kin / "kinetics_train"
    (tr / ".hidden_copy.json").write_bytes((tr / "vid00000.json").read_bytes())
    (tr / "._vid00000.json").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tr / "zz_link.json").symlink_to("vid00000.json")
    os.link(tr / "vid00001.json", tr / "zz_hard.json")
    (kin / "notes.txt").write_text("where the clips came from")
    (tr / "sub").mkdir()
    (tr / "sub" / "x.json").write_bytes((tr / "vid00003.json").read_bytes())
    (kin / "kinetics_test").mkdir()
    (kin / "kinetics_test" / "y.json").write_bytes((tr / "vid00003.json").read_bytes())
    (tr / "readme.md").write_text("x")
    prepare_kinetics(kin, tmp_path / "o", progress=False)
    captured = capsys.readouterr()
    assert "24 clips written" in captured.out and "(train 16, test 8)" in captured.out
    assert "; 8 files not read" in captured.out
    meta = read_meta(tmp_path / "o")
    assert meta["counts"]["samples"] == 24 and meta["skipped"] == []
    reasons = {u["path"]: u["reason"] for u in meta["unused_files"]}
    assert reasons == {
        "kinetics_test/y.json": "not in kinetics_train/ or kinetics_val/ (nor a "
        "kinetics_*_label.json)",
        "kinetics_train/._vid00000.json": "hidden file",
        "kinetics_train/.hidden_copy.json": "hidden file",
        "kinetics_train/readme.md": "not a .json clip",
        "kinetics_train/sub/x.json": "in a sub-folder of kinetics_train/ (clips are read from "
        "kinetics_train/ itself)",
        "kinetics_train/zz_hard.json": "the same file as kinetics_train/vid00001.json (read "
        "once, there; a hard link)",
        "kinetics_train/zz_link.json": "the same file as kinetics_train/vid00000.json (read "
        "once, there)",
        "notes.txt": "not in kinetics_train/ or kinetics_val/ (nor a kinetics_*_label.json)",
    }
    assert meta["unused_count"] == 8
    err = captured.err
    assert f"not read {kin}/notes.txt: not in kinetics_train/" in err
    assert f"not read {kin}/kinetics_train/zz_link.json: the same file as" in err
    assert "._vid00000" not in err and "invalid JSON" not in err
    assert "kinetics-skeleton: 6 files not read, 2 hidden files ignored" in err
