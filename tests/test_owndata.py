"""Own data end to end: each reader's output (a COCO-17 PYSKL pickle, a
Kinetics-skeleton folder, a plain folder with a user's layout YAML, NTU colour-2D from
the shared samples) prepares, pre-trains one epoch, evaluates by kNN and embeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from tinydata import TINY_PRETRAIN

import skelcon
from skelcon.cli import main
from skelcon.data.layouts import read_layout_file
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.examples import write_folder, write_kinetics, write_pyskl

SETS = [a for item in [*TINY_PRETRAIN, "monitor.every=0"] for a in ("--set", item)]
RIG = {
    "name": "lab_rig",
    "joints": ["pelvis", "chest", "head", "l_hand", "r_hand", "l_foot", "r_foot"],
    "bones": [
        ["chest", "pelvis"],
        ["head", "chest"],
        ["l_hand", "chest"],
        ["r_hand", "chest"],
        ["l_foot", "pelvis"],
        ["r_foot", "pelvis"],
    ],
    "center": "pelvis",
    "up": ["pelvis", "chest"],
    "left_right": ["l_hand", "r_hand"],
}


def _run_all(data, bench, tmp_path, channels):
    run, feats = tmp_path / "run", tmp_path / "feats" / "test.npy"
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(data),
                "--benchmark",
                bench,
                "--config",
                "cpu_small",
                "--out",
                str(run),
                "--epochs",
                "1",
                "--quiet",
                *SETS,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "eval",
                "knn",
                "--checkpoint",
                str(run),
                "--representation",
                "seq+stg",
                "--data",
                str(data),
                "--benchmark",
                bench,
                "--out",
                str(tmp_path / "knn"),
                "--quiet",
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "knn" / "metrics.json").read_text())
    assert 0.0 <= metrics["top1"] <= 100.0
    assert (
        main(
            [
                "embed",
                "--checkpoint",
                str(run),
                "--representation",
                "seq+stg",
                "--data",
                str(data),
                "--benchmark",
                bench,
                "--split",
                "test",
                "--out",
                str(feats),
                "--quiet",
            ]
        )
        == 0
    )
    f = np.load(feats)
    side = json.loads(feats.with_suffix(".json").read_text())
    assert f.shape == (len(side["names"]), 384) and np.isfinite(f).all()
    ckpt = load_checkpoint(run)
    assert ckpt["data"]["in_channels"] == len(channels)
    return run, ckpt


@pytest.mark.parametrize("source", ["pyskl", "kinetics", "folder"])
def test_pose_pipeline_output_prepares_pretrains_and_embeds(source, tmp_path):
    data = tmp_path / "data"
    if source == "pyskl":
        pkl = write_pyskl(tmp_path / "coco.pkl", num_classes=3, per_class=6)
        argv, bench = (
            ["import-pyskl", "--raw", str(pkl), "--layout", "coco17", "--normalize"],
            "xsub",
        )
    elif source == "kinetics":
        raw = write_kinetics(tmp_path / "kin", num_classes=3, per_class=6)
        argv, bench = ["kinetics-skeleton", "--raw", str(raw), "--max-frames", "48"], "default"
    else:
        raw = write_folder(tmp_path / "clips", num_classes=3, per_class=6)
        argv = [
            "folder",
            "--raw",
            str(raw),
            "--layout",
            "coco17",
            "--channels",
            "x,y,score",
            "--normalize",
            "--test-fraction",
            "0.3",
        ]
        bench = "default"
    assert main(["prepare", *argv, "--out", str(data)]) == 0
    _, ckpt = _run_all(data, bench, tmp_path, ["x", "y", "score"])
    assert ckpt["data"]["channels"] == ["x", "y", "score"]
    assert ckpt["data"]["normalization"].startswith("2D: centred on the layout centre joint")


def test_user_layout_yaml_end_to_end(tmp_path):
    lay_file = tmp_path / "lab_rig.yaml"
    lay_file.write_text(yaml.safe_dump(RIG))
    rig = read_layout_file(lay_file)
    raw = write_folder(tmp_path / "clips", layout=rig, num_classes=3, per_class=6)
    data = tmp_path / "data"
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(raw),
                "--layout",
                str(lay_file),
                "--channels",
                "x,y,score",
                "--normalize",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    lay_file.unlink()  # everything after prepare reads the layout from meta.json
    run, ckpt = _run_all(data, "default", tmp_path, ["x", "y", "score"])
    assert ckpt["data"]["layout"] == "lab_rig" and ckpt["data"]["layout_def"] == rig.to_dict()
    model = skelcon.load_encoder(run, "stg")
    adj = model.encoder.adjacency
    assert torch.equal(adj, torch.from_numpy(rig.adjacency()))


def test_ntu_color2d_end_to_end(shared_data, tmp_path):
    data = tmp_path / "ntu2d"
    assert (
        main(
            [
                "prepare",
                "ntu60",
                "--raw",
                str(shared_data / "ntu/nturgbd_skeletons_s001_to_s017.zip"),
                "--coords",
                "color2d",
                "--max-frames",
                "200",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    _, ckpt = _run_all(data, "xview", tmp_path, ["x", "y"])
    assert ckpt["data"]["dataset"] == "ntu60-color2d" and "channels" not in ckpt["data"]
    assert ckpt["data"]["normalization"].startswith("2D: centred on spine_mid")


def test_owndata_says_what_it_wrote_and_the_commands_run(tmp_path, monkeypatch, capsys):
    """`python -m skelcon.examples --out examples` names each thing it wrote and
    the commands to try on it; its `skelcon prepare` lines run as printed."""
    import shlex

    from skelcon.examples import main as owndata

    monkeypatch.chdir(tmp_path)
    assert owndata(["--out", "examples"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for written in (
        "examples/coco17_pyskl.pkl:",
        "examples/kinetics-skeleton/:",
        "examples/my_clips/:",
    ):
        assert any(ln.startswith(f"wrote {written}") for ln in lines), lines
    commands = [shlex.split(ln) for ln in lines if ln.startswith("  skelcon ")]
    assert [c[1:3] for c in commands] == [
        ["prepare", "import-pyskl"],
        ["prepare", "kinetics-skeleton"],
        ["prepare", "folder"],
        ["pretrain", "--data"],
        ["eval", "knn"],
    ]
    for argv in commands[:3]:
        assert main(argv[1:]) == 0, argv
        assert (tmp_path / argv[argv.index("--out") + 1] / "meta.json").is_file()
    assert commands[3][commands[3].index("--data") + 1] == "data/my_clips"
