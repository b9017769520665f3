"""``skelcon prepare folder`` and :func:`read_folder`: npy/csv/json clips in class
folders, split folders or a labels CSV, a user layout YAML, bad clips skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from skelcon.cli import main
from skelcon.data.clips import ClipNorm
from skelcon.data.folder import prepare_folder, read_clip, read_folder
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.errors import DataFormatError, SkelconError
from skelcon.examples import write_folder

RIG = {
    "joints": ["pelvis", "chest", "head", "l_hand", "r_hand"],
    "bones": [["chest", "pelvis"], ["head", "chest"], ["l_hand", "chest"], ["r_hand", "chest"]],
    "center": "pelvis",
    "up": ["pelvis", "chest"],
    "left_right": ["l_hand", "r_hand"],
}


def test_three_formats_read_alike(tmp_path):
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 500, size=(2, 7, 17, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", kp)
    (tmp_path / "a.json").write_text(json.dumps({"keypoints": kp.tolist()}))
    rows = [
        ",".join(repr(float(v)) for v in np.concatenate([kp[0, t].ravel(), kp[1, t].ravel()]))
        for t in range(7)
    ]
    (tmp_path / "a.csv").write_text("header,of,names\r\n" + "\r\n".join(rows))
    for ext in ("npy", "json"):
        assert np.array_equal(read_clip(tmp_path / f"a.{ext}", 17), kp)
    assert np.allclose(read_clip(tmp_path / "a.csv", 17, 3), kp)
    (tmp_path / "b.csv").write_text(",".join(rows[0].split(",")[:51]))  # person 1 of frame 0
    assert read_clip(tmp_path / "b.csv", 17).shape == (1, 1, 17, 3)  # one person: C from the width
    with pytest.raises(DataFormatError, match="a.csv: 102 values per line: one person is 17"):
        read_clip(tmp_path / "a.csv", 17)  # two persons need the channel count
    with pytest.raises(DataFormatError, match="a.npy: 17 joints, the layout has 18"):
        read_clip(tmp_path / "a.npy", 18)


def test_prepare_class_folders_end_to_end(tmp_path):
    src = write_folder(tmp_path / "clips", num_classes=3, per_class=5)
    out = tmp_path / "out"
    rc = main(
        [
            "prepare",
            "folder",
            "--raw",
            str(src),
            "--layout",
            "coco17",
            "--channels",
            "x,y,score",
            "--normalize",
            "--score-threshold",
            "0.4",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    meta = read_meta(out)
    assert meta["classes"] == ["action_0", "action_1", "action_2"]
    assert meta["channels"] == ["x", "y", "score"] and meta["layout"] == "coco17"
    parts = meta["benchmarks"]["default"]
    assert parts["train"] + parts.get("test", 0) == 15 and parts["train"] >= 9
    assert "below 0.4" in meta["normalization"]
    s = load_prepared(out, "default", "train")
    x = s.data[:]
    assert np.isfinite(x).all() and not (x[:, 2][x[:, 2] != 0] < 0.4).any()
    # the same split on a second run, and for the same names whatever else is there
    again = read_folder(src, "coco17")
    assert {c.name: c.split for c in again.clips} == {
        str(n): sp for sp in parts for n in load_prepared(out, "default", sp).names
    }


def test_split_folders_labels_csv_and_bad_clips(tmp_path, capsys):
    root = tmp_path / "clips"
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for cls in ("wave", "clap"):
            (root / split / cls).mkdir(parents=True)
            for i in range(2):
                np.save(root / split / cls / f"{i}.npy", rng.normal(size=(9, 17, 2)))
    np.save(root / "train" / "wave" / "bad.npy", rng.normal(size=(9, 16, 2)))
    (root / "train" / "clap" / "nan.json").write_text(
        json.dumps([[[0, 1]] * 17, [[float("nan"), 1]] * 17])
    )
    prepare_folder(root, tmp_path / "out", layout="coco17", progress=False)
    meta = read_meta(tmp_path / "out")
    assert meta["benchmarks"] == {"default": {"train": 5, "test": 4}}  # NaN: missing joints
    assert meta["classes"] == ["clap", "wave"] and meta["channels"] == ["x", "y"]
    assert meta["missing_joints"]["nan"] == 17 and meta["missing_joints"]["clips"] == 1
    err = capsys.readouterr().err
    assert "bad.npy: 16 joints, the layout has 17" in err
    assert {s["name"] for s in meta["skipped"]} == {"train/wave/bad"}

    labels = tmp_path / "labels.csv"
    labels.write_text(
        "clip,label,split\ntrain/wave/0.npy,hello,train\ntrain/wave/1.npy,bye,test\n"
        "test/clap/0.npy,hello,val\ntrain/clap/1.npy,bye,train\n"
    )
    prepare_folder(root, tmp_path / "out2", layout="coco17", labels=labels, progress=False)
    meta = read_meta(tmp_path / "out2")
    assert meta["classes"] == ["bye", "hello"] and meta["benchmarks"]["default"] == {
        "train": 2,
        "test": 2,
    }
    labels.write_text("train/wave/0.npy,hello,later\n")
    with pytest.raises(SkelconError, match=r"labels.csv:1: split 'later' \(valid: train, test\)"):
        read_folder(root, "coco17", labels=labels)


def test_user_layout_yaml_is_stored_with_the_data(tmp_path):
    lay_file = tmp_path / "rig.yaml"
    lay_file.write_text(yaml.safe_dump(RIG))
    root = tmp_path / "clips"
    rng = np.random.default_rng(2)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            np.save(root / cls / f"{i}.npy", rng.normal(size=(6, 5, 3)).astype(np.float32) + 1)
    prepare_folder(root, tmp_path / "out", layout=lay_file, norm=ClipNorm(True), progress=False)
    lay_file.unlink()  # the dataset no longer needs it
    s = load_prepared(tmp_path / "out", "default", "train")
    assert s.layout == "rig" and s.joint_layout.joints == tuple(RIG["joints"])
    assert s.channels == ["x", "y", "z"] and s.meta["layout_def"]["center"] == "pelvis"


def test_user_errors(tmp_path):
    with pytest.raises(SkelconError, match="holds no clips: expected <class>/<clip>"):
        read_folder(tmp_path, "coco17")
    (tmp_path / "train").mkdir()
    with pytest.raises(SkelconError, match="only one of train/ and test/"):
        read_folder(tmp_path, "coco17")
    (tmp_path / "train").rmdir()
    (tmp_path / "x").mkdir()
    np.save(tmp_path / "x" / "c.npy", np.ones((3, 17, 2)))
    np.save(tmp_path / "x" / "c.json", np.ones((3, 17, 2)))  # an .npy named .json
    (tmp_path / "x" / "c.json").write_text("[]")
    with pytest.raises(SkelconError, match="two clips are both named 'x/c'"):
        read_folder(tmp_path, "coco17")
    (tmp_path / "x" / "c.json").unlink()
    with pytest.raises(SkelconError, match="--score-threshold needs a score channel"):
        read_folder(tmp_path, "coco17", norm=ClipNorm(True, 0.3))
    with pytest.raises(SkelconError, match=r"not a channel list"):
        read_folder(tmp_path, "coco17", channels=["x", "q"])


def test_a_prepare_that_keeps_no_clip_refuses_and_writes_nothing(tmp_path, capsys):
    src = write_folder(tmp_path / "clips", num_classes=2, per_class=3)
    out = tmp_path / "out"
    rc = main(
        [
            "prepare",
            "folder",
            "--raw",
            str(src),
            "--layout",
            "coco17",
            "--channels",
            "x,y",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and "no clip was kept: all 6 inputs were skipped (first:" in err
    assert "channels per joint, expected 2" in err or "x 2 channels" in err
    assert not out.exists() and not list(tmp_path.glob(".out.partial*"))


def test_openpose_body25_frames_are_not_read_as_ntu25(tmp_path):
    """OpenPose --write_json frames hold BODY_25 joints: read as ntu25 (also 25 joints)
    they would land in the wrong slots, so that is refused in one line; openpose25 reads
    them, and OpenPose-format JSON of 17 joints (other tools' COCO-17) reads as coco17."""
    import json

    from skelcon.data.folder import read_clip_info
    from skelcon.data.layouts import get_layout
    from skelcon.errors import DataFormatError

    def frames(v: int) -> list[str]:
        out = []
        for t in range(3):
            f = tmp_path / f"v{v}" / f"clip_{t:012d}_keypoints.json"
            f.parent.mkdir(exist_ok=True)
            kp = [float(i % 7 + 1) for i in range(v * 3)]
            f.write_text(json.dumps({"people": [{"pose_keypoints_2d": kp}]}))
            out.append(str(f))
        return out

    body25 = frames(25)
    with pytest.raises(DataFormatError, match=r"holds OpenPose keypoints .* not ntu25"):
        read_clip_info(body25[0], 25, frames=body25, layout=get_layout("ntu25"))
    kp, _ = read_clip_info(body25[0], 25, frames=body25, layout=get_layout("openpose25"))
    assert kp.shape[1:] == (3, 25, 3)
    coco = frames(17)
    kp, _ = read_clip_info(coco[0], 17, frames=coco, layout=get_layout("coco17"))
    assert kp.shape[1:] == (3, 17, 3)
