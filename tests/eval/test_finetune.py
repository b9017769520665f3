"""Fine-tuning protocols: weights change (unlike linear eval), metrics and subsets files,
transfer across datasets and layouts, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main
from skelcon.config import FinetuneConfig, LinearEvalConfig, PretrainConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.engine.pretrain import pretrain
from skelcon.errors import Interrupted, SkelconError
from skelcon.eval.encoder import load_encoder
from skelcon.eval.finetune import finetune, mean_std, transfer_encoder
from skelcon.eval.linear import linear_eval
from skelcon.eval.subsets import draw_subsets

FAST = ["--epochs", "1", "--quiet", "--device", "cpu", "--set", "batch_size=12"]
KEYS = {
    "protocol",
    "representation",
    "results",
    "num_train",
    "num_test",
    "dataset",
    "benchmark",
    "checkpoint",
    "random_init",
    "config",
}


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(
        PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq, img, stg]"]
    )
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("ft") / "r", progress=False)


@pytest.fixture(scope="module")
def kinect_data(tmp_path_factory):
    """20 joints, one person, 4 classes: another layout and class count."""
    return make_tiny_prepared(
        tmp_path_factory.mktemp("k20") / "p", n=24, classes=4, layout="kinect20", persons=1
    )


def _args(protocol, run_dir, data, out, rep="seq", *extra):
    ck = ["--checkpoint", str(run_dir)] if run_dir is not None else []
    return [
        "eval",
        protocol,
        *ck,
        "--representation",
        rep,
        "--data",
        str(data),
        "--benchmark",
        "default",
        "--out",
        str(out),
        *FAST,
        *extra,
    ]


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("skelcon: error:") and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def test_finetune_trains_the_encoder_linear_eval_does_not(run_dir, tiny_data):
    train = load_prepared(tiny_data, "default", "train")
    test = load_prepared(tiny_data, "default", "test")
    cpu = torch.device("cpu")
    loaded = load_encoder(run_dir, "stg")
    enc = loaded.encoder
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    linear_eval(
        enc,
        train,
        test,
        LinearEvalConfig(epochs=1, device="cpu", batch_size=12),
        cpu,
        out_len=loaded.num_frames,
        progress=False,
    )
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())

    modes = []
    enc.register_forward_pre_hook(lambda m, inp: modes.append((m.training, inp[0].shape[0])))
    res = finetune(
        enc,
        train,
        test,
        FinetuneConfig(epochs=1, batch_size=12, lr=1e-3),
        cpu,
        out_len=loaded.num_frames,
        num_classes=3,
        progress=False,
    )
    after = enc.state_dict()
    # every training forward ran in train mode (3 batches of 12), the test one in eval mode
    assert modes == [(True, 12)] * 3 + [(False, 12)]
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert "blocks.0.gcn.mix.weight" in changed and "data_bn.running_mean" in changed
    assert all(p.requires_grad for p in enc.parameters())
    assert 0 <= res.top1 <= 100 and len(res.train_loss) == 1
    assert res.head.weight.shape == (3, enc.feature_dim)


def test_finetune_is_reproducible(run_dir, tiny_data):
    train = load_prepared(tiny_data, "default", "train")
    test = load_prepared(tiny_data, "default", "test")
    cfg = FinetuneConfig(epochs=1, batch_size=12)
    runs = []
    for _ in range(2):
        loaded = load_encoder(run_dir, "seq")
        res = finetune(
            loaded.encoder,
            train,
            test,
            cfg,
            torch.device("cpu"),
            out_len=loaded.num_frames,
            num_classes=3,
            seed=5,
            progress=False,
        )
        runs.append((res.train_loss, res.top1, loaded.encoder.state_dict()))
    assert runs[0][:2] == runs[1][:2]
    assert all(torch.equal(v, runs[1][2][k]) for k, v in runs[0][2].items())


FRACTION_METRICS = {
    "top5_mean",
    "top5_std",
    "top5_runs",
    "mean_class_accuracy_mean",
    "mean_class_accuracy_runs",
    "per_class_accuracy",
    "per_class_count",
    "confusion_matrix",
    "confusion_matrix_axes",
}


def _check_metrics(rec: dict) -> None:
    """Every fraction carries top-5, per-class, mean class accuracy and the confusion
    matrix (counts summed over its runs: repeats x test samples)."""
    c = rec["num_classes"]
    assert len(rec["classes"]) == c
    for r in rec["results"]:
        assert FRACTION_METRICS <= set(r), set(r)
        assert len(r["top5_runs"]) == len(r["runs"]) and all(t >= 0 for t in r["top5_runs"])
        assert all(t5 >= t1 for t5, t1 in zip(r["top5_runs"], r["runs"], strict=True))
        cm = np.asarray(r["confusion_matrix"])
        assert cm.shape == (c, c) and cm.sum() == rec["num_test"] * len(r["runs"])
        assert np.trace(cm) / cm.sum() * 100 == pytest.approx(r["mean"])
        assert len(r["per_class_accuracy"]) == c and sum(r["per_class_count"]) == rec["num_test"]


def test_semi_end_to_end(run_dir, tiny_data, tmp_path, capsys):
    out = tmp_path / "semi"
    rc = main(
        _args("semi", run_dir, tiny_data, out, "seq", "--fractions", "0.1,0.5", "--repeats", "2")
    )
    assert rc == 0
    assert "0.1" not in capsys.readouterr().err
    rec = json.loads((out / "metrics.json").read_text())
    assert KEYS <= set(rec) and rec["protocol"] == "semi" and not rec["random_init"]
    _check_metrics(rec)
    assert rec["checkpoint"] == str(run_dir) and rec["num_train"] == 36 and rec["num_test"] == 12
    assert [r["fraction"] for r in rec["results"]] == [0.1, 0.5]
    # 12 training samples per class: 0.1 -> round(1.2) = 1 each, 0.5 -> 6 each
    assert [r["num_labelled"] for r in rec["results"]] == [[3, 3], [18, 18]]
    for r in rec["results"]:
        assert len(r["runs"]) == 2
        assert r["mean"] == pytest.approx(np.mean(r["runs"])) and r["std"] == pytest.approx(
            np.std(r["runs"])
        )
    assert rec["config"]["repeats"] == 2 and rec["config"]["lr"] == 1e-4
    # the saved subsets are the ones drawn from the seed, names included
    subsets = json.loads((out / "subsets.json").read_text())
    train = load_prepared(tiny_data, "default", "train")
    drawn = draw_subsets(train.labels, [0.1, 0.5], 2, seed=0)
    for entry in subsets["fractions"]:
        for s, idx in zip(entry["subsets"], drawn[entry["fraction"]], strict=True):
            assert s["indices"] == idx.tolist() and s["names"] == train.names[idx].tolist()


def test_supervised_and_finetune(run_dir, tiny_data, tmp_path):
    rc = main(
        _args(
            "supervised",
            None,
            tiny_data,
            tmp_path / "sp",
            "img",
            "--preset",
            "small",
            "--frames",
            "16",
            "--fractions",
            "0.5",
            "--repeats",
            "1",
        )
    )
    assert rc == 0
    rec = json.loads((tmp_path / "sp" / "metrics.json").read_text())
    assert KEYS <= set(rec) and rec["protocol"] == "supervised"
    _check_metrics(rec)
    assert (
        rec["random_init"] and rec["checkpoint"] is None and rec["architecture"] == "preset small"
    )
    assert rec["results"][0]["num_labelled"] == [18]
    rc = main(
        _args(
            "supervised",
            run_dir,
            tiny_data,
            tmp_path / "sc",
            "seq",
            "--fractions",
            "1",
            "--repeats",
            "1",
        )
    )
    assert rc == 0
    rec = json.loads((tmp_path / "sc" / "metrics.json").read_text())
    assert rec["random_init"] and rec["checkpoint"] is None and rec["architecture"] == str(run_dir)

    rc = main(_args("finetune", run_dir, tiny_data, tmp_path / "ft", "seq"))
    assert rc == 0
    rec = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert KEYS <= set(rec) and rec["protocol"] == "finetune"
    _check_metrics(rec)
    assert [(r["fraction"], r["num_labelled"], r["std"]) for r in rec["results"]] == [
        (1.0, [36], 0.0)
    ]


def test_transfer_across_layouts(run_dir, kinect_data, tmp_path, capsys):
    for rep, why in (("seq", "C*V*M"), ("img", "joints as channels")):
        assert main(_args("transfer", run_dir, kinect_data, tmp_path / rep, rep)) == 2
        _one_line_error(
            capsys, f"the {rep} encoder", "ntu25 (C=3, V=25, M=2)", "kinect20 (C=3, V=20, M=1)", why
        )
        assert not (tmp_path / rep / "metrics.json").exists()

    assert main(_args("transfer", run_dir, kinect_data, tmp_path / "stg", "stg")) == 0
    rec = json.loads((tmp_path / "stg" / "metrics.json").read_text())
    assert KEYS <= set(rec) and rec["protocol"] == "transfer" and rec["num_classes"] == 4
    _check_metrics(rec)
    assert rec["source_dataset"] == "tiny" and rec["source_layout"] == "ntu25"
    assert rec["target_layout"] == "kinect20" and rec["results"][0]["num_labelled"] == [18]
    # what was copied equals the checkpoint; the graph-specific rest is fresh
    loaded, reinit, _ = transfer_encoder(
        run_dir, "stg", load_prepared(kinect_data, "default", "train").meta
    )
    assert set(reinit["stg"]) == set(rec["reinitialised"]["stg"])
    state = load_checkpoint(run_dir)["model"]
    copied = 0
    for k, v in loaded.encoder.state_dict().items():
        if k in reinit["stg"]:
            assert k == "adjacency" or k.startswith("data_bn.") or k.endswith(".gcn.offset"), k
            continue
        assert torch.equal(v, state[f"query_encoders.stg.{k}"]), k
        copied += 1
    assert copied > 20 and loaded.encoder.adjacency.shape == (3, 20, 20)
    assert torch.all(loaded.encoder.blocks[0].gcn.offset == 1e-6)


def test_transfer_same_layout_new_classes(run_dir, tmp_path):
    five = make_tiny_prepared(tmp_path / "five", n=20, classes=5, seed=1)
    assert main(_args("transfer", run_dir, five, tmp_path / "t", "seq+img")) == 0
    rec = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert rec["num_classes"] == 5 and rec["reinitialised"] == {"seq": [], "img": []}
    assert rec["representation"] == "seq+img" and rec["results"][0]["fraction"] == 1.0


def _empty_test_split(root):
    from skelcon.data.prepared import PreparedWriter

    w = PreparedWriter(
        root,
        dataset="e",
        layout="ntu25",
        classes=["a", "b"],
        capacity=4,
        max_frames=8,
        num_persons=2,
    )
    for i in range(4):
        w.add(np.zeros((3, 8, 25, 2), np.float32), i % 2, 8, f"e{i}")
    return w.finalize({"default": {"train": [0, 1, 2, 3], "test": []}})


@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--fractions", "0,0.5"], ["fraction 0.0"]),
        (["--fractions", "0.5,1.5"], ["fraction 1.5", "(0, 1]"]),
        (["--fractions", "half"], ["fraction 'half'"]),
        (["--repeats", "0"], ["repeats 0"]),
        (["--num-classes", "7"], ["--num-classes 7", "3 classes"]),
    ],
)
def test_bad_input_one_line(run_dir, tiny_data, tmp_path, capsys, extra, needles):
    assert main(_args("semi", run_dir, tiny_data, tmp_path / "x", "seq", *extra)) == 2
    _one_line_error(capsys, *needles)


def test_bad_split_and_representation(run_dir, tiny_data, tmp_path, capsys):
    empty = _empty_test_split(tmp_path / "empty")
    assert main(_args("finetune", run_dir, empty, tmp_path / "x", "seq")) == 2
    _one_line_error(capsys, "'test'", "empty")
    run1 = tmp_path / "r1"
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[img]"])
    pretrain(cfg, tiny_data, "default", run1, progress=False)
    assert main(_args("semi", run1, tiny_data, tmp_path / "x", "stg")) == 2
    _one_line_error(capsys, "'stg'", "not in checkpoint")
    assert main(_args("supervised", None, tiny_data, tmp_path / "x", "seq")) == 2
    _one_line_error(capsys, "--checkpoint", "--preset")
    assert (
        main(_args("supervised", None, tiny_data, tmp_path / "x", "seq", "--preset", "huge")) == 2
    )
    _one_line_error(capsys, "'huge'", "paper")


def test_mean_std_population():
    assert mean_std([1.0, 3.0]) == (2.0, 1.0)  # population std; the sample std would be 1.414
    assert mean_std([5.0]) == (5.0, 0.0)


def test_finetune_nan_names_the_step_and_encoder(run_dir, tiny_data):
    train = load_prepared(tiny_data, "default", "train")
    test = load_prepared(tiny_data, "default", "test")
    loaded = load_encoder(run_dir, "stg")
    with torch.no_grad():
        next(loaded.encoder.parameters()).fill_(float("nan"))
    with pytest.raises(SkelconError) as info:
        finetune(
            loaded.encoder,
            train,
            test,
            FinetuneConfig(epochs=1, batch_size=12),
            torch.device("cpu"),
            out_len=loaded.num_frames,
            num_classes=3,
            progress=False,
            desc="semi 0.5 #1",
            representation="stg",
        )
    assert str(info.value) == (
        "loss became nan at semi 0.5 #1 step 1 of epoch 1: loss/cross_entropy = nan; "
        "non-finite weights in stg encoder; lower lr"
    )


def test_finetune_sigint_stops_with_one_line(run_dir, tiny_data, monkeypatch):
    import os
    import signal

    import skelcon.eval.finetune as ft

    train = load_prepared(tiny_data, "default", "train")
    test = load_prepared(tiny_data, "default", "test")
    loaded = load_encoder(run_dir, "seq")
    real, calls = ft.epoch_seed, []

    def hook(*args):  # called at the start of every epoch
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args)

    monkeypatch.setattr(ft, "epoch_seed", hook)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN under a background CI job
    with pytest.raises(Interrupted) as info:
        finetune(
            loaded.encoder,
            train,
            test,
            FinetuneConfig(epochs=3, batch_size=12),
            torch.device("cpu"),
            out_len=loaded.num_frames,
            num_classes=3,
            progress=False,
            desc="finetune 1 #1",
        )
    assert info.value.exit_code == 130
    assert str(info.value).startswith(
        "fine-tuning (finetune 1 #1) stopped by SIGINT during epoch 2 of 3; "
    )
    assert signal.getsignal(signal.SIGINT) is before
