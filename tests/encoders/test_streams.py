"""Input streams (joint, bone, motion): values by hand on a tiny layout, missing joints,
every built-in layout, and the stream travelling with a run into every evaluation,
``embed`` and ``export``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main
from skelcon.data.layouts import BUILTIN_LAYOUTS, get_layout, layout_from_dict
from skelcon.encoders import build_encoder
from skelcon.encoders.streams import (
    InputStream,
    bone_parents,
    bone_stream,
    joint_presence,
    motion_stream,
)
from skelcon.errors import SkelconError

# a chain a <- b <- c (c's parent is b, b's is a; a is the root)
CHAIN = layout_from_dict(
    {
        "name": "chain",
        "joints": ["a", "b", "c"],
        "bones": [["b", "a"], ["c", "b"]],
        "center": "a",
        "up": ["a", "b"],
        "left_right": ["b", "c"],
    }
)


def _clip() -> torch.Tensor:
    """(1, 2, 3, 3, 1): frame t, joint v at (10 t + v, -(10 t + v)), joint c missing at t=1."""
    x = torch.zeros(1, 2, 3, 3, 1)
    for t in range(3):
        for v in range(3):
            x[0, 0, t, v, 0] = 10 * t + v + 1
            x[0, 1, t, v, 0] = -(10 * t + v + 1)
    x[0, :, 1, 2, 0] = 0  # c undetected in frame 1
    return x


def test_bone_parents_of_a_chain_and_of_ntu():
    assert bone_parents(CHAIN) == [0, 0, 1]
    # AimCLR's 25 NTU pairs (1-based (child, parent)), the root spine_shoulder (21) its own
    aimclr = [2, 21, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19, 21, 23, 8]
    aimclr += [25, 12]
    assert bone_parents(get_layout("ntu25")) == [p - 1 for p in aimclr]


def test_bone_by_hand_with_a_missing_joint():
    b = bone_stream(_clip(), bone_parents(CHAIN))[0, :, :, :, 0]
    want_x = [[0, 1, 1], [0, 1, 0], [0, 1, 1]]  # root 0; c - b = 1; c missing at t=1 -> 0
    assert b[0].tolist() == want_x
    assert b[1].tolist() == [[-v for v in row] for row in want_x]


def test_motion_by_hand_with_a_missing_joint():
    m = motion_stream(_clip())[0, 0, :, :, 0]
    # a, b move by 10 a frame; c is missing at t=1, so t=0->1 and t=1->2 are 0; last frame 0
    assert m.tolist() == [[10, 10, 0], [10, 10, 0], [0, 0, 0]]


def test_a_score_channel_is_averaged_not_differenced():
    x = _clip()
    x = torch.cat([x, torch.full((1, 1, 3, 3, 1), 0.5)], dim=1)
    x[0, 2, 0, 2, 0] = 0.9
    x[0, 2, 1, 2, 0] = 0  # the missing joint's score is 0 too
    b = bone_stream(x, bone_parents(CHAIN), coords=2)[0, :, :, :, 0]
    assert b[0].tolist() == [[0, 1, 1], [0, 1, 0], [0, 1, 1]]
    assert b[2, 0].tolist() == pytest.approx(
        [0.5, 0.5, 0.7]
    )  # the root keeps its score; (0.9 + 0.5) / 2
    assert b[2, 1, 2] == 0


def test_2d_missing_joints_stay_zero_in_bone_and_motion():
    lay = get_layout("coco17")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, 16, lay.num_joints, 2, generator=g)
    drop = torch.rand(4, 1, 16, lay.num_joints, 2, generator=g) < 0.3
    x = x * ~drop
    x[:, :, :, :, 1] = 0  # second person absent
    parents = torch.tensor(bone_parents(lay))
    b, m = bone_stream(x, parents), motion_stream(x)
    missing = drop[:, 0] | (x == 0).all(1)
    assert (b.abs().sum(1)[missing] == 0).all()
    assert (m.abs().sum(1)[missing] == 0).all()
    # a present joint whose parent is missing has no bone either
    parent_missing = missing[:, :, parents]
    assert (b.abs().sum(1)[parent_missing] == 0).all()
    # and where both are there, the bone is the difference
    both = ~missing & ~parent_missing
    ref = x - x[:, :, :, parents]
    assert torch.equal(b.permute(0, 2, 3, 4, 1)[both], ref.permute(0, 2, 3, 4, 1)[both])


def test_the_centre_of_centred_data_is_present_at_the_origin():
    x = _clip()
    x[:, :, :, 0] = 0  # the centre joint a at the origin in every frame (centred data)
    plain = bone_stream(x, bone_parents(CHAIN))[0, 0, 0, :, 0]
    centred = bone_stream(x, bone_parents(CHAIN), center=0)[0, 0, 0, :, 0]
    assert plain.tolist() == [0, 0, 1]  # b - a lost: a looked missing
    assert centred.tolist() == [0, 2, 1]  # b - a = 2 - 0
    pres = joint_presence(torch.zeros(1, 2, 2, 3, 1), center=0)
    assert not pres.any()  # an empty frame has no centre either


@pytest.mark.parametrize("name", BUILTIN_LAYOUTS)
def test_every_builtin_layout_is_a_tree_with_one_root(name):
    lay = get_layout(name)
    parents = bone_parents(lay)
    roots = [v for v, p in enumerate(parents) if p == v]
    assert len(roots) == 1
    for v in range(lay.num_joints):  # every joint reaches the root
        seen = set()
        while parents[v] != v:
            assert v not in seen
            seen.add(v)
            v = parents[v]


def test_a_joint_with_two_parents_is_refused_in_one_line():
    lay = layout_from_dict(
        {
            "name": "loop",
            "joints": ["a", "b", "c"],
            "bones": [["b", "a"], ["c", "b"], ["c", "a"]],
            "center": "a",
            "up": ["a", "b"],
            "left_right": ["b", "c"],
        }
    )
    with pytest.raises(SkelconError, match="'c' is the child of two bones") as e:
        InputStream("bone", lay)
    assert "\n" not in str(e.value)
    InputStream("motion", lay)  # motion needs no tree
    with pytest.raises(SkelconError, match="valid: joint, bone, motion"):
        InputStream("bones", lay)


@pytest.mark.parametrize("rep", ["seq", "img", "stg"])
def test_an_encoder_applies_its_stream_first(rep):
    lay = get_layout("ntu25")
    torch.manual_seed(0)
    joint = build_encoder(rep, "small", num_frames=16, layout=lay).eval()
    bone = build_encoder(rep, "small", num_frames=16, layout=lay, stream="bone").eval()
    bone.load_state_dict(joint.state_dict())  # same weights: no stream parameters
    x = torch.randn(2, 3, 16, 25, 2)
    with torch.no_grad():
        want = joint(bone_stream(x, bone_parents(lay)))
        assert torch.allclose(bone(x), want, atol=1e-6)
        assert not torch.allclose(bone(x), joint(x), atol=1e-3)


# --------------------------------------------------------------------------- a bone run


@pytest.fixture(scope="module")
def bone_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    data = make_tiny_prepared(root / "d", classes=3, n=32)
    sets = [a for it in TINY_PRETRAIN for a in ("--set", it)]
    flags = f"--data {data} --out {root / 'bone'} --epochs 1 --quiet --stream bone"
    assert main(["pretrain", *flags.split(), *sets]) == 0
    return root / "bone", data


def _run(cmd: str) -> int:
    return main(cmd.split())


def test_the_run_records_its_stream(bone_run):
    run, _ = bone_run
    ckpt = torch.load(run / "last.pt", weights_only=True, map_location="cpu")
    assert ckpt["data"]["stream"] == "bone"
    assert ckpt["config"]["stream"] == "bone"
    import skelcon

    assert skelcon.load_encoder(run, "stg").stream == "bone"


def test_resuming_with_another_stream_is_refused(bone_run, capsys):
    run, data = bone_run
    assert _run(f"pretrain --data {data} --out {run} --resume --stream motion --quiet") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stream" in err and "motion" in err


def test_resuming_with_a_config_names_the_runs_stream(bone_run, tmp_path, capsys):
    """A config file without ``stream`` means joints: the refusal says the run's stream."""
    import yaml

    run, data = bone_run
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    del cfg["stream"]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    base = f"pretrain --data {data} --out {run} --resume --config {tmp_path / 'c.yaml'} --quiet"
    assert _run(base) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "the config differs (stream: 'bone' -> 'joint')" in err and "give stream bone" in err
    assert _run(base + " --stream bone") == 0  # complete: nothing to resume


def test_evaluating_as_another_stream_is_refused(bone_run, tmp_path, capsys):
    run, data = bone_run
    base = f"--checkpoint {run} --representation stg --data {data} --quiet"
    assert _run(f"eval knn {base} --out {tmp_path / 'k'} --stream joint") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--stream joint does not match" in err and "bone stream" in err
    assert _run(f"eval knn {base} --out {tmp_path / 'k'} --stream bone") == 0
    assert "knn stg bone stream (pre-trained)" in capsys.readouterr().out
    assert json.loads((tmp_path / "k" / "metrics.json").read_text())["stream"] == "bone"
    assert _run(f"embed {base.replace('--data', '--data')} --out {tmp_path / 'f.npy'}") == 0
    side = json.loads((tmp_path / "f.json").read_text())
    assert side["stream"] == "bone"


def test_embed_features_are_of_the_bone_stream(bone_run, tmp_path):
    """``embed`` gives what the encoder computes on the bone stream of the stored joints."""
    import skelcon
    from skelcon.data.prepared import load_prepared

    run, data = bone_run
    assert (
        _run(
            f"embed --checkpoint {run} --representation seq --data {data} --out {tmp_path / 'f.npy'} --quiet"
        )
        == 0
    )
    feats = np.load(tmp_path / "f.npy")
    model = skelcon.load_encoder(run, "seq")
    test = load_prepared(data, "default", "test")
    x = torch.as_tensor(np.asarray(test.data[:4]))
    nf = torch.as_tensor(np.asarray(test.num_frames[:4]))
    crop = model.transform(x, nf)
    with torch.no_grad():
        by_hand = model.encoder(crop)  # the encoder applies the stream itself
        model.encoder.input_stream, saved = InputStream("joint"), model.encoder.input_stream
        joints_only = model.encoder(crop)  # the same weights fed joints
        model.encoder.input_stream = saved
    assert np.allclose(feats[:4], by_hand.numpy(), atol=1e-5)
    assert not np.allclose(feats[:4], joints_only.numpy(), atol=1e-3)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_applies_the_stream_itself(bone_run, tmp_path, fmt):
    """The exported graph takes joints and matches the PyTorch model (bone stream inside);
    the contract names the stream."""
    import skelcon
    from skelcon.export.writer import load_exported

    run, _ = bone_run
    out = tmp_path / f"m.{'onnx' if fmt == 'onnx' else 'pt'}"
    assert (
        _run(f"export --checkpoint {run} --representation seq+stg --format {fmt} --out {out}") == 0
    )
    contract = json.loads(out.with_name(out.name + ".json").read_text())
    assert contract["stream"]["name"] == "bone"
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 3, 21, 25, 2, generator=g)
    x[:, :, :, 7] = 0  # a missing joint
    nf = torch.tensor([21, 12, 5])
    want = skelcon.load_encoder(run, "seq+stg")(x, nf).numpy()
    got = load_exported(fmt, out)(x.numpy(), nf.numpy())
    assert np.abs(got - want).max() < 1e-4
