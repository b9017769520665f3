"""Mixed data is refused early, naming both sides: one check, in every command that
loads a checkpoint onto data."""

from __future__ import annotations

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main
from skelcon.config import PretrainConfig, load_config
from skelcon.data.prepared import PreparedWriter
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.compat import check_data_fits, describe_spec, meta_spec

SPEC = {
    "dataset": "tiny",
    "layout": "ntu25",
    "in_channels": 3,
    "num_joints": 25,
    "num_persons": 2,
    "num_frames": 16,
}


def meta(layout="ntu25", c=3, v=25, m=2, **extra) -> dict:
    return {"layout": layout, "shape": [10, c, 30, v, m], **extra}


def refusal(spec, data_meta) -> str:
    with pytest.raises(SkelconError) as e:
        check_data_fits(spec, data_meta, checkpoint="runs/a", data="data/b")
    msg = str(e.value)
    assert "\n" not in msg
    assert "'runs/a'" in msg and "'data/b'" in msg
    return msg


def test_same_layout_and_shape_fit():
    check_data_fits(SPEC, meta(), checkpoint="runs/a", data="data/b")
    # the dataset, the frame count and the stored length may differ
    check_data_fits(SPEC, {**meta(), "dataset": "other", "shape": [3, 3, 300, 25, 2]})
    # a side without channel names has the default of its C (x, y, z for C = 3)
    check_data_fits({**SPEC, "channels": ["x", "y", "z"]}, meta())
    check_data_fits(SPEC, meta(channels=["x", "y", "z"]))
    # layout definitions: compared when both sides store one, descriptions aside
    lay = {"name": "ntu25", "joints": ["a", "b"], "description": "one"}
    check_data_fits({**SPEC, "layout_def": lay}, meta(layout_def={**lay, "description": "2"}))


@pytest.mark.parametrize(
    "data_meta, words",
    [
        (
            meta(layout="kinect20", v=20, m=1),
            ["layout (ntu25 vs kinect20)", "joints (25 vs 20)", "persons (2 vs 1)"],
        ),
        (meta(c=2), ["channels (3 vs 2)", "C=3", "C=2"]),  # a 3D checkpoint on 2D data
        (meta(m=1), ["persons (2 vs 1)"]),
        (meta(layout="my25"), ["layout (ntu25 vs my25)"]),  # same V, other joints
    ],
)
def test_each_difference_is_named_with_both_sides(data_meta, words):
    msg = refusal(SPEC, data_meta)
    for w in words:
        assert w in msg, (w, msg)
    assert describe_spec(SPEC) in msg and describe_spec(meta_spec(data_meta)) in msg
    assert "skelcon eval transfer" in msg


def test_channel_names_differ_with_the_same_count():
    spec = {**SPEC, "channels": ["x", "y", "z"]}
    msg = refusal(spec, meta(channels=["x", "y", "score"]))
    assert "channel names (x, y, z vs x, y, score)" in msg
    assert "C=3: x, y, z" in msg and "C=3: x, y, score" in msg
    # a 3D checkpoint (no names: x, y, z) on 2D data with a confidence channel
    msg = refusal(SPEC, meta(channels=["x", "y", "score"]))
    assert "channel names (x, y, z vs x, y, score)" in msg
    # a 2D checkpoint (x, y) on 3D data: the count and the names
    msg = refusal({**SPEC, "in_channels": 2, "channels": ["x", "y"]}, meta(channels=list("xyz")))
    assert "channels (2 vs 3)" in msg and "channel names (x, y vs x, y, z)" in msg


# ---------------------------------------------------------------------------
# every command that loads a checkpoint onto data


def _write(out, *, layout: str, c: int, v: int, m: int, channels=None):
    """A 12-clip prepared dataset (train 8 / test 4) of the given shape."""
    rng = np.random.default_rng(0)
    w = PreparedWriter(
        out,
        dataset="other",
        layout=layout,
        classes=["a", "b"],
        capacity=12,
        max_frames=20,
        num_persons=m,
        channels=c,
        num_joints=v,
    )
    for i in range(12):
        w.add(rng.normal(size=(c, 20, v, m)).astype(np.float32), i % 2, 20, f"o{i}")
    idx = np.arange(12)
    extra = {"channels": channels} if channels else {}
    return w.finalize({"default": {"train": idx[:8], "test": idx[8:]}}, **extra)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    root = tmp_path_factory.mktemp("compat")
    data = make_tiny_prepared(root / "ntu", n=24)
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq]"])
    run = pretrain(cfg, data, "default", root / "run", progress=False)
    others = {
        "kinect20": _write(root / "k20", layout="kinect20", c=3, v=20, m=1),
        "2d": _write(root / "2d", layout="ntu25", c=2, v=25, m=2),
    }
    return root, run, others


COMMANDS = [
    ["eval", "linear", "--epochs", "1"],
    ["eval", "knn"],
    ["eval", "semi", "--epochs", "1"],
    ["eval", "finetune", "--epochs", "1"],
    ["embed"],
    ["plot", "tsne"],
    ["plot", "retrieval"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("other", ["kinect20", "2d"])
def test_every_command_refuses_mixed_data(setting, command, other, capsys):
    root, run, others = setting
    data = others[other]
    out = root / "out" / "_".join(command[:2]) / other
    if command[0] in ("embed", "plot"):
        out = out.with_suffix(".npy" if command[0] == "embed" else ".png")
    argv = [
        *command,
        "--checkpoint",
        str(run),
        "--representation",
        "seq",
        "--data",
        str(data),
        "--benchmark",
        "default",
        "--out",
        str(out),
    ]
    if command[0] != "plot":
        argv.append("--quiet")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not fit" in err, err
    assert str(run) in err and str(data) in err
    assert ("layout (ntu25 vs kinect20)" if other == "kinect20" else "channels (3 vs 2)") in err
    assert not out.exists()


def test_supervised_with_a_checkpoints_architecture_refuses_mixed_data(setting, capsys):
    root, run, others = setting
    argv = [
        "eval",
        "supervised",
        "--checkpoint",
        str(run),
        "--representation",
        "seq",
        "--data",
        str(others["2d"]),
        "--out",
        str(root / "sup"),
        "--quiet",
    ]
    assert main(argv) == 2
    assert "channels (3 vs 2)" in capsys.readouterr().err


def test_same_layout_name_other_definition():
    lay = {"name": "rig", "joints": ["a", "b"], "bones": [["b", "a"]]}
    spec = {**SPEC, "layout": "rig", "layout_def": lay}
    other = {**lay, "joints": ["a", "c"], "bones": [["c", "a"]]}
    msg = refusal(spec, meta(layout="rig", layout_def=other))
    assert "layout definition (both called rig" in msg
