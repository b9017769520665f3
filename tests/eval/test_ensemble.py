"""``skelcon ensemble``: fusion of saved scores, the checks on the members, default weights,
the files it writes and its one-line errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN

from skelcon.cli import main
from skelcon.config import LinearEvalConfig, PretrainConfig, load_config
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.ensemble import ensemble
from skelcon.eval.record import EvalRecord
from skelcon.eval.run import run_linear
from skelcon.eval.scores import read_scores, write_scores

NAMES = ["s0", "s1", "s2", "s3"]
LABELS = [0, 1, 2, 1]


def member(d, scores, *, names=NAMES, labels=LABELS, stream="joint", **info):
    """A fabricated evaluation directory: scores.npy + scores.json + metrics.json."""
    fields = dict(
        protocol="linear",
        representation="stg",
        dataset="tiny",
        benchmark="default",
        checkpoint="runs/x",
        random_init=False,
        classes=["c0", "c1", "c2"],
    )
    fields.update(info, stream=stream, kind="logits")
    side = write_scores(d, np.asarray(scores, np.float32), names, labels, **fields)
    rec = EvalRecord(
        protocol=fields["protocol"],
        representation=fields["representation"],
        dataset=fields["dataset"],
        benchmark=fields["benchmark"],
        num_train=8,
        num_test=len(names),
        top1=side["top1"],
    )
    (d / "metrics.json").write_text(json.dumps(rec.to_dict()))
    return d


A = [[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 0.5], [0.0, 2.0, 1.0]]  # pred 0 2 0 1
B = [[0.0, 0.0, 1.0], [0.0, 3.0, 0.0], [0.0, 0.0, 2.0], [3.0, 0.0, 0.0]]  # pred 2 1 2 0


def test_hand_computed_two_member_fusion(tmp_path):
    a, b = member(tmp_path / "a", A), member(tmp_path / "b", B, stream="bone")
    rec = ensemble([a, b], tmp_path / "ens", [1.0, 1.0])
    # 1*A + 1*B = [[2,1,1], [0,4,3], [1,0,2.5], [3,2,1]]: pred 0 1 2 0, labels 0 1 2 1
    assert rec["top1"] == 75.0
    assert rec["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert rec["per_class_accuracy"] == [100.0, 50.0, 100.0]
    assert rec["protocol"] == "ensemble" and rec["num_test"] == 4
    assert [m["weight"] for m in rec["members"]] == [1.0, 1.0]
    assert [m["stream"] for m in rec["members"]] == ["joint", "bone"]
    assert [m["top1"] for m in rec["members"]] == [50.0, 50.0]
    assert rec["weights_rule"] == "given"
    # weights 0.2, 1: 0.2*A + B = [[.4,.2,1], [0,3.2,.6], [.2,0,2.1], [3,.4,.2]]: pred 2 1 2 0
    rec = ensemble([a, b], tmp_path / "ens2", [0.2, 1.0])
    assert rec["top1"] == 50.0 and rec["confusion_matrix"] == [[0, 0, 1], [1, 1, 0], [0, 0, 1]]
    saved = read_scores(tmp_path / "ens2")
    assert np.allclose(saved.single, 0.2 * np.array(A) + np.array(B))
    assert saved.info["kind"] == "weighted sum" and saved.names.tolist() == NAMES
    on_disk = json.loads((tmp_path / "ens2" / "metrics.json").read_text())
    assert EvalRecord.from_dict(on_disk).top1 == 50.0


def test_aimclr_default_weights_for_joint_bone_motion(tmp_path):
    dirs = [
        member(tmp_path / s, A, stream=s) for s in ("bone", "joint", "motion")
    ]  # in any order: the weights follow each member's stream
    rec = ensemble(dirs, tmp_path / "ens")
    assert [(m["stream"], m["weight"]) for m in rec["members"]] == [
        ("bone", 0.6),
        ("joint", 0.6),
        ("motion", 0.4),
    ]
    assert rec["weights_rule"].startswith("AimCLR")
    # any other set of members: equal weights
    two_joint = [dirs[1], member(tmp_path / "j2", B), dirs[2]]
    rec = ensemble(two_joint, tmp_path / "ens2")
    assert [m["weight"] for m in rec["members"]] == [1.0, 1.0, 1.0]
    assert rec["weights_rule"].startswith("equal")


def test_members_must_share_the_test_split(tmp_path):
    a = member(tmp_path / "a", A)
    cases = {
        "other": (
            dict(names=["s0", "s1", "s2", "x9"]),
            "other test clips (first at row 3: 's3' vs 'x9')",
        ),
        "order": (
            dict(names=["s1", "s0", "s2", "s3"]),
            "same test clips in another order (row 0: 's0' vs 's1')",
        ),
        "fewer": (dict(names=NAMES[:3], labels=LABELS[:3]), "4 vs 3 test clips"),
        "labels": (dict(labels=[0, 1, 2, 2]), "'s3' (row 3) has label 1 vs 2"),
        "classes": (dict(classes=["c0", "cX", "c2"]), "class 1 is 'c1' vs 'cX'"),
        "bench": (dict(benchmark="xsub"), "benchmark 'default' vs 'xsub'"),
        "dataset": (dict(dataset="ntu60"), "dataset 'tiny' vs 'ntu60'"),
    }
    for name, (kw, needle) in cases.items():
        scores = np.array(B)[: len(kw.get("names", NAMES))]
        b = member(tmp_path / name, scores, **kw)
        with pytest.raises(SkelconError) as e:
            ensemble([a, b], tmp_path / f"out_{name}")
        msg = str(e.value)
        assert needle in msg and str(a) in msg and str(b) in msg and "\n" not in msg, msg
        assert not (tmp_path / f"out_{name}").exists()
    c4 = member(tmp_path / "c4", np.zeros((4, 4)), classes=["c0", "c1", "c2", "c3"])
    with pytest.raises(SkelconError, match="num_classes 3 vs 4"):
        ensemble([a, c4], tmp_path / "out")


def test_weights_and_member_errors(tmp_path):
    a, b = member(tmp_path / "a", A), member(tmp_path / "b", B)
    with pytest.raises(SkelconError, match="weights: 3 given for 2 evaluation directories"):
        ensemble([a, b], tmp_path / "o", [1, 1, 1])
    with pytest.raises(SkelconError, match="weights: -1 is not valid"):
        ensemble([a, b], tmp_path / "o", [1, -1])
    with pytest.raises(SkelconError, match="at least 2 evaluation directories"):
        ensemble([a], tmp_path / "o")
    with pytest.raises(SkelconError, match="is a member's directory"):
        ensemble([a, b], b)
    with pytest.raises(SkelconError, match="is given twice .* weight it with --weights"):
        ensemble([a, b, tmp_path / "a" / ".." / "a"], tmp_path / "o")
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"")
    with pytest.raises(SkelconError, match="is a pre-training run, not an evaluation directory"):
        ensemble([a, run], tmp_path / "o")
    with pytest.raises(SkelconError, match="out .* is a pre-training run"):
        ensemble([a, b], run)
    c = member(tmp_path / "c", A)
    with pytest.raises(SkelconError, match="holds a linear evaluation's metrics.json"):
        ensemble([a, b], c)
    ensemble([a, b], tmp_path / "o")
    ensemble([a, b], tmp_path / "o")  # an earlier ensemble may be overwritten
    side = json.loads((b / "scores.json").read_text())
    side["split"] = "train"
    (b / "scores.json").write_text(json.dumps(side))
    with pytest.raises(SkelconError, match="split 'test' vs 'train'"):
        ensemble([a, b], tmp_path / "o")
    several = tmp_path / "semi"
    models = [{"fraction": 0.5, "repeat": 0}, {"fraction": 1.0, "repeat": 0}]
    info = dict(protocol="semi", stream="joint", dataset="tiny", benchmark="default")
    write_scores(several, np.zeros((2, 4, 3)), NAMES, LABELS, kind="logits", models=models, **info)
    shutil.copy(a / "metrics.json", several / "metrics.json")
    with pytest.raises(SkelconError, match="holds the scores of 2 models .* --repeats 1"):
        ensemble([a, several], tmp_path / "o")
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(a / "metrics.json", old / "metrics.json")
    with pytest.raises(SkelconError, match="scores.json: missing .*rerun"):
        ensemble([a, old], tmp_path / "o")


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("skelcon: error:") and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_cli(tmp_path, capsys):
    a, b = member(tmp_path / "a", A), member(tmp_path / "b", B, stream="bone")
    out = tmp_path / "ens"
    assert main(["ensemble", str(a), str(b), "--weights", "1,1", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line == (
        "ensemble of 2 (joint 1, bone 1) linear stg on tiny/default: top-1 75.00 % "
        "(members: joint 50.00, bone 50.00)"
    )
    assert {p.name for p in out.iterdir()} == {"metrics.json", "scores.json", "scores.npy"}
    # an ensemble is a member like any other
    assert main(["ensemble", str(out), str(a), "--out", str(tmp_path / "e2")]) == 0
    capsys.readouterr()
    assert main(["ensemble", str(a), str(b), "--weights", "1,1,1", "--out", str(out)]) == 2
    _one_line_error(capsys, "--weights: 3 given for 2")
    assert main(["ensemble", str(a), str(b), "--weights", "1,x", "--out", str(out)]) == 2
    _one_line_error(capsys, "--weights '1,x': 'x' is not a number")
    c = member(tmp_path / "c", B, benchmark="xsub")
    assert main(["ensemble", str(a), str(c), "--out", str(out)]) == 2
    _one_line_error(capsys, "benchmark 'default' vs 'xsub'", str(a), str(c))
    assert main(["ensemble", str(a), str(tmp_path / "nope"), "--out", str(out)]) == 2
    _one_line_error(capsys, "nope is not a directory")


@pytest.fixture(scope="module")
def linear_dir(tiny_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq]"])
    run = pretrain(cfg, tiny_data, "default", root / "r", progress=False)
    lin = LinearEvalConfig(epochs=3, device="cpu", batch_size=8, train_crop="center")
    run_linear(run, "seq", tiny_data, "default", root / "lin", lin, progress=False)
    return root / "lin"


def test_a_run_with_itself_is_the_run(linear_dir, tmp_path):
    own = json.loads((linear_dir / "metrics.json").read_text())
    shutil.copytree(linear_dir, tmp_path / "copy")
    rec = ensemble([linear_dir, tmp_path / "copy"], tmp_path / "self")
    assert rec["top1"] == pytest.approx(own["top1"], abs=1e-4)
    assert rec["confusion_matrix"] == own["confusion_matrix"]
    assert rec["num_train"] == own["num_train"] and rec["data"] == own["data"]
    assert [m["weight"] for m in rec["members"]] == [1.0, 1.0]
