"""Pre-training loop: outputs, checkpoints and exact resume."""

from __future__ import annotations

import copy
import json
from unittest import mock

import numpy as np
import pytest
import torch
import yaml
from tinydata import TINY_PRETRAIN

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError


def _stopped(after: int, *args, **kw):
    """``pretrain(*args, **kw)`` ended after ``after`` epochs, as by an interruption."""
    import skelcon.engine.pretrain as pretrain_mod

    with mock.patch.object(pretrain_mod, "_STOP_AFTER", after):
        return pretrain(*args, **kw)


def _cfg(*extra: str) -> PretrainConfig:
    return load_config(PretrainConfig, None, [*TINY_PRETRAIN, *extra])


def test_run_directory_contents(tiny_data, tmp_path):
    run = pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "run", progress=False)
    assert (run / "last.pt").is_file() and (run / "epoch_0001.pt").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 2
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("epoch_loss" in r for r in lines) and any("loss/seq->stg" in r for r in lines)
    # the CPU thread choice behind samples_per_s is recorded with it
    assert all(r["threads"].startswith("threads: ") for r in lines if "samples_per_s" in r)
    ck = load_checkpoint(run)
    assert ck["epoch"] == 2 and ck["config"]["representations"] == ["seq", "stg"]
    assert {"model", "optimizer", "rng", "data"} <= set(ck)
    assert any(k.startswith("queues.seq") for k in ck["model"])
    assert (run / "tb").is_dir()


@pytest.mark.slow
def test_resume_is_exact(tiny_data, tmp_path):
    straight = pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "a", progress=False)
    _stopped(1, _cfg("epochs=2"), tiny_data, "default", tmp_path / "b", progress=False)
    assert load_checkpoint(tmp_path / "b")["epoch"] == 1
    resumed = pretrain(
        _cfg("epochs=2"), tiny_data, "default", tmp_path / "b", progress=False, resume=True
    )
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k]["momentum_buffer"], sb[k]["momentum_buffer"])
    assert a["optimizer"]["param_groups"][0]["lr"] == b["optimizer"]["param_groups"][0]["lr"]
    # a different seed really gives different weights (the check above can fail)
    other = pretrain(
        _cfg("epochs=2", "seed=1"), tiny_data, "default", tmp_path / "c", progress=False
    )
    c = load_checkpoint(other)
    assert not torch.equal(a["model"]["queues.seq.keys"], c["model"]["queues.seq.keys"])


def test_existing_run_needs_resume(tiny_data, tmp_path):
    pretrain(_cfg("epochs=1"), tiny_data, "default", tmp_path / "r", progress=False)
    with pytest.raises(SkelconError, match="--resume"):
        pretrain(_cfg("epochs=1"), tiny_data, "default", tmp_path / "r", progress=False)
    with pytest.raises(SkelconError, match="preset"):
        pretrain(
            _cfg("epochs=2", "preset=paper"),
            tiny_data,
            "default",
            tmp_path / "r",
            progress=False,
            resume=True,
        )


@pytest.mark.parametrize("reps", ["[img]", "[seq, img, stg]"])
def test_other_representation_sets(tiny_data, tmp_path, reps):
    run = pretrain(
        _cfg("epochs=1", f"representations={reps}"),
        tiny_data,
        "default",
        tmp_path / "r",
        progress=False,
    )
    ck = load_checkpoint(run)
    assert ck["representations"] == yaml.safe_load(reps)


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_monitors_are_logged(tiny_data, tmp_path):
    run = pretrain(
        _cfg("epochs=3", "monitor.every=2"), tiny_data, "default", tmp_path / "r", progress=False
    )
    recs = _records(run)
    knn = [r for r in recs if "knn/seq" in r]
    # before training (this run's random-init baseline), every 2 epochs, and after the last
    assert [r["epoch"] for r in knn] == [0, 2, 3]
    assert all(0 <= r["knn/seq"] <= 100 and 0 <= r["knn/stg"] <= 100 for r in knn)
    steps = [r for r in recs if "loss" in r]
    for key in (
        "std/seq",
        "uniformity/stg",
        "align/seq->stg",
        "pos_cos/stg->seq",
        "neg_cos/seq->stg",
        "queue_age/seq",
        "key_momentum",
    ):
        assert all(key in r for r in steps), key
    assert all(0 <= r["std/seq"] <= 2 for r in steps)
    assert steps[-1]["queue_age/seq"] > 1


def test_monitor_matches_the_knn_protocol(tiny_data, tmp_path):
    from skelcon.config import KnnConfig
    from skelcon.eval.run import run_knn

    run = pretrain(
        _cfg("epochs=1", "monitor.every=1"), tiny_data, "default", tmp_path / "r", progress=False
    )
    last = [r for r in _records(run) if "knn/seq" in r][-1]
    res = run_knn(
        run, "seq", tiny_data, "default", tmp_path / "knn", KnnConfig(device="cpu"), progress=False
    )
    assert last["knn/seq"] == pytest.approx(res["top1"])


def test_queue_as_large_as_the_data_is_capped(tiny_data, tmp_path, capsys):
    # 36 training clips, batch 8: a queue of 100 would hold keys of every clip from
    # earlier epochs
    cfg = _cfg("epochs=1", "moco.queue_size=100")
    run = pretrain(cfg, tiny_data, "default", tmp_path / "r")
    err = capsys.readouterr().err
    assert "moco.queue_size 100" in err and "36 training clips" in err and "capped to 27" in err
    state = load_checkpoint(run)["model"]
    assert state["queues.seq.keys"].shape[0] == 27
    # every key carries its clip (the loader's index), so a query's own are excluded
    ids = state["queues.stg.ids"].tolist()
    assert len(set(ids)) == 27 and all(0 <= i < 36 for i in ids)
    assert yaml.safe_load((run / "config.yaml").read_text())["moco"]["queue_size"] == 27
    # symmetric: two keys per clip and step, so the cap (in keys) is twice as large
    from skelcon.engine.pretrain import cap_queue

    sym = _cfg("moco.queue_size=100", "moco.symmetric=true")
    note = cap_queue(sym, 36)
    assert "not below the 56 keys" in note and "2 keys per clip (symmetric)" in note
    assert "capped to 55" in note and sym.moco.queue_size == 55
    assert cap_queue(_cfg("moco.queue_size=55", "moco.symmetric=true"), 36) == ""
    assert cap_queue(_cfg("moco.queue_size=27"), 36) == ""
    assert "capped to 27" in cap_queue(_cfg("moco.queue_size=28"), 36)  # = clips - batch


def test_resume_of_a_finished_run_says_so(tiny_data, tmp_path, capsys):
    pretrain(_cfg("epochs=1"), tiny_data, "default", tmp_path / "r", progress=False)
    before = (tmp_path / "r" / "metrics.jsonl").read_text()
    pretrain(_cfg("epochs=1"), tiny_data, "default", tmp_path / "r", resume=True)
    assert "is complete" in capsys.readouterr().err
    assert (tmp_path / "r" / "metrics.jsonl").read_text() == before


@pytest.mark.slow
def test_mechanics_train_and_resume_exactly(tiny_data, tmp_path):
    extra = (
        "epochs=2",
        "moco.symmetric=true",
        "moco.shuffle_bn=2",
        "optim.schedule=cosine",
        "optim.warmup_epochs=0.5",
        "moco.momentum_schedule=cosine",
        "moco.queue_size=16",
    )
    a = pretrain(_cfg(*extra), tiny_data, "default", tmp_path / "a", progress=False)
    _stopped(1, _cfg(*extra), tiny_data, "default", tmp_path / "b", progress=False)
    b = pretrain(_cfg(*extra), tiny_data, "default", tmp_path / "b", progress=False, resume=True)
    ma, mb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    for k in ma:
        assert torch.equal(ma[k], mb[k]), k
    steps = [r for r in _records(a) if "loss" in r]
    lrs = [r["lr"] for r in steps]
    assert lrs[0] < lrs[1] and lrs[-1] < max(lrs)  # warm-up, then cosine decay
    moms = [r["key_momentum"] for r in steps]
    assert moms == sorted(moms) and moms[-1] > moms[0]


@pytest.mark.slow
def test_resume_refuses_other_data_or_schedule(tiny_data, tmp_path):
    from tinydata import make_tiny_prepared

    pretrain(_cfg("epochs=1"), tiny_data, "default", tmp_path / "r", progress=False)
    other = make_tiny_prepared(tmp_path / "other", n=60)
    with pytest.raises(SkelconError, match="training clips: 36 -> 45"):
        pretrain(_cfg("epochs=2"), other, "default", tmp_path / "r", progress=False, resume=True)
    # same shape and clip count, other clips: the fingerprint of the sample names differs
    same_size = make_tiny_prepared(tmp_path / "same", n=48, seed=1)
    names = np.load(same_size / "names.npy")
    np.save(same_size / "names.npy", np.array([f"x{n}" for n in names]))
    with pytest.raises(
        SkelconError, match=r"the training data differ \(other sample names \(36 training clips\)\)"
    ):
        pretrain(
            _cfg("epochs=2"), same_size, "default", tmp_path / "r", progress=False, resume=True
        )
    meta = json.loads((same_size / "meta.json").read_text())
    meta["dataset"] = "elsewhere"
    (same_size / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(
        SkelconError, match=r"the training data differ \(dataset: 'tiny' -> 'elsewhere'\)"
    ):
        pretrain(
            _cfg("epochs=2"), same_size, "default", tmp_path / "r", progress=False, resume=True
        )
    with pytest.raises(SkelconError, match=r"moco.temperature: 0.07 -> 0.2"):
        pretrain(
            _cfg("epochs=2", "moco.temperature=0.2"),
            tiny_data,
            "default",
            tmp_path / "r",
            progress=False,
            resume=True,
        )
    with pytest.raises(SkelconError, match=r"optim.lr"):
        pretrain(
            _cfg("epochs=2", "optim.lr=0.5"),
            tiny_data,
            "default",
            tmp_path / "r",
            progress=False,
            resume=True,
        )
    # a step schedule may be extended; a cosine one may not (its lr depends on epochs)
    pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "r", progress=False, resume=True)
    cos = ("optim.schedule=cosine",)
    pretrain(_cfg("epochs=1", *cos), tiny_data, "default", tmp_path / "c", progress=False)
    with pytest.raises(SkelconError, match="epochs: 1 -> 2"):
        pretrain(
            _cfg("epochs=2", *cos),
            tiny_data,
            "default",
            tmp_path / "c",
            progress=False,
            resume=True,
        )


def test_batches_of_one_and_file_out_are_one_line_errors(tiny_data, tmp_path):
    with pytest.raises(SkelconError, match="at least 2 clips"):
        pretrain(_cfg("batch_size=1"), tiny_data, "default", tmp_path / "r", progress=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(SkelconError, match="is a file"):
        pretrain(_cfg(), tiny_data, "default", tmp_path / "f", progress=False)


def test_resume_after_a_torn_metrics_line_and_the_callers_config_untouched(tiny_data, tmp_path):
    """A run killed while writing metrics.jsonl resumes (the torn line is dropped), and
    pretrain() stretches its own copy of the config, not the caller's."""
    cfg = _cfg("epochs=2", "min_steps=12")
    before = copy.deepcopy(cfg)
    _stopped(1, cfg, tiny_data, "default", tmp_path / "r", progress=False)
    assert cfg == before  # min_steps stretched the run's epochs, not the caller's object
    log = tmp_path / "r" / "metrics.jsonl"
    log.write_text(log.read_text() + '{"step": 99, "loss": 1.')  # killed mid-line
    pretrain(cfg, tiny_data, "default", tmp_path / "r", progress=False, resume=True)
    lines = log.read_text().splitlines()
    assert (
        all(json.loads(line) for line in lines) and '"step": 99, "loss": 1.' not in log.read_text()
    )
