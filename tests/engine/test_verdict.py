"""The run's own verdict: did pre-training pay off, per encoder, against its noise."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.pretrain import pretrain, stretch_to_min_steps
from skelcon.engine.verdict import (
    NO_GAIN,
    PAID_OFF,
    TOO_FEW,
    WORSE,
    Verdict,
    advice,
    conclude,
    judge,
    levers,
)


def _stopped(after: int, *args, **kw):
    """``pretrain(*args, **kw)`` ended after ``after`` epochs, as by an interruption."""
    import skelcon.engine.pretrain as pretrain_mod

    with mock.patch.object(pretrain_mod, "_STOP_AFTER", after):
        return pretrain(*args, **kw)


def test_rule_against_the_noise_of_the_test_split():
    # 195 test clips at 39 % -> 74 %: far above two standard errors (about 9.5 points)
    v = Verdict("seq", 39.0, 73.8, 195)
    assert (
        v.status == PAID_OFF and 9 < v.noise < 10 and v.clip_points == pytest.approx(0.5128, 1e-3)
    )
    assert "+34.8 points" in v.line() and "195 test clips: a point is 1.95 clips" in v.line()
    # the same gain on 40 test clips is within the noise (se about 22 points)
    assert Verdict("seq", 40.0, 55.0, 40).status == NO_GAIN
    # on 2 test clips (band: 2 clips = 100 points), or 9 starting at 70 %, not even 100 %
    # after pre-training would leave the band; at 33 % on 9 clips 100 % would
    assert Verdict("seq", 50.0, 100.0, 2).status == TOO_FEW
    assert Verdict("seq", 70.0, 100.0, 9).status == TOO_FEW
    assert Verdict("seq", 33.3, 100.0, 9).status == PAID_OFF
    assert "cannot tell" in advice([Verdict("seq", 50.0, 50.0, 2)], 100)
    assert Verdict("stg", 60.0, 40.0, 400).status == WORSE
    # at 0 % and 100 % the binomial se is 0: the band is never below two test clips
    assert Verdict("seq", 100.0, 100.0, 50).noise == pytest.approx(4.0)
    assert Verdict("seq", 0.0, 3.9, 50).status == NO_GAIN


def test_the_advice_names_only_the_levers_a_run_has_not_pulled():
    assert levers(300, two_d=True, cropped=False) == [
        "more steps (--set min_steps=1000)",
        "a temporal crop of the 2D keypoints (--set augment.temporal_2d=true)",
    ]
    assert levers(1000, two_d=True, cropped=True) == ["more steps (--set min_steps=2000)"]
    assert levers(8000, two_d=False, cropped=False) == []
    bad = [Verdict("stg", 40.0, 41.0, 195)]
    assert "try more steps" in advice(bad, 300, levers(300, False, False))
    assert "try" not in advice(bad, 8000, []) and advice([Verdict("s", 30, 80, 195)], 9) == ""


def test_judge_reads_epoch_zero_and_the_last_measurement():
    recs = [
        {"step": 0, "epoch": 0, "knn/seq": 30.0, "knn/stg": 50.0},
        {"step": 5, "loss": 3.0},
        {"step": 10, "epoch": 10, "knn/seq": 70.0, "knn/stg": 45.0},
        {"step": 20, "epoch": 20, "knn/seq": 80.0, "knn/stg": 52.0},
    ]
    seq, stg = judge(recs, 100)
    assert (seq.rep, seq.before, seq.after) == ("seq", 30.0, 80.0) and seq.status == PAID_OFF
    assert (stg.before, stg.after) == (50.0, 52.0) and stg.status == NO_GAIN
    # no epoch-0 measurement (monitor off): nothing to judge
    assert judge(recs[1:], 100) == []


def test_conclude_writes_verdict_json_and_warns(tmp_path, capsys):
    recs = [{"step": 0, "epoch": 0, "knn/seq": 30.0}, {"step": 9, "epoch": 3, "knn/seq": 31.0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (v,) = conclude(tmp_path, 60, 9)
    doc = json.loads((tmp_path / "verdict.json").read_text())
    assert doc["encoders"]["seq"]["status"] == NO_GAIN == v.status and doc["steps"] == 9
    err = capsys.readouterr().err
    assert "verdict: SEQ kNN top-1 30.0 -> 31.0 %" in err
    assert "warning: pre-training did not pay off for SEQ in 9 steps" in err
    assert "``" not in doc["rule"] and doc["encoders"]["seq"]["points_per_clip"] == 1.6667


@pytest.mark.slow
def test_a_run_on_pure_noise_says_it_did_not_pay_off(tmp_path, capsys):
    """Clips of Gaussian noise with random labels: nothing to learn, so neither encoder
    may claim a gain (a rule such as 'gain > 0' fails this about half the time)."""
    from skelcon.data.prepared import PreparedWriter

    rng = np.random.default_rng(0)
    n, frames = 160, 16
    w = PreparedWriter(
        tmp_path / "noise",
        dataset="noise",
        layout="ntu25",
        classes=[f"c{i}" for i in range(4)],
        capacity=n,
        max_frames=frames,
        num_persons=1,
    )
    for i in range(n):
        x = rng.normal(size=(3, frames, 25, 1)).astype("float32")
        w.add(x, int(rng.integers(4)), frames, f"n{i:03d}")
    idx = np.arange(n)
    w.finalize({"default": {"train": idx[idx % 4 != 0], "test": idx[idx % 4 == 0]}})
    cfg = load_config(
        PretrainConfig,
        None,
        [*TINY_PRETRAIN, "epochs=4", "save_every=0", "monitor.every=2", "batch_size=16"],
    )
    run = pretrain(cfg, tmp_path / "noise", "default", tmp_path / "run", progress=True)
    doc = json.loads((run / "verdict.json").read_text())
    assert set(doc["encoders"]) == {"seq", "stg"} and doc["n_test"] == 40
    assert all(e["status"] != PAID_OFF for e in doc["encoders"].values()), doc
    err = capsys.readouterr().err
    assert "warning: pre-training did not pay off for SEQ, STG" in err


def test_min_steps_stretches_a_small_split_alike():
    def cfg(*extra):
        return load_config(PretrainConfig, None, [*TINY_PRETRAIN, "batch_size=64", *extra])

    c = cfg("epochs=50", "min_steps=1000", "optim.warmup_epochs=2", "monitor.every=10")
    note = stretch_to_min_steps(c, 100)  # 1 step an epoch
    assert c.epochs == 1000 and c.optim.warmup_epochs == 40 and c.monitor.every == 200
    assert "50 epochs of the 100 training clips are 50 steps" in note and "1000 epochs" in note
    # deterministic and idempotent: the saved config stretches to itself
    assert stretch_to_min_steps(c, 100) == "" and c.epochs == 1000
    c = cfg("epochs=50", "min_steps=1000", "optim.milestones=[30, 40]")
    stretch_to_min_steps(c, 640)  # 10 steps an epoch
    assert c.epochs == 100 and c.optim.milestones == [60, 80]
    big = cfg("epochs=50", "min_steps=1000")
    assert stretch_to_min_steps(big, 1510) == "" and big.epochs == 50  # 1,150 steps already
    off = cfg("epochs=50")
    assert stretch_to_min_steps(off, 100) == "" and off.epochs == 50


@pytest.mark.slow
def test_min_steps_in_a_run_is_saved_and_resumes_exactly(tiny_data, tmp_path, capsys):
    import torch
    import yaml

    from skelcon.engine.checkpoint import load_checkpoint

    # tiny_data: 36 training clips, batch 8 -> 4 steps an epoch; 1 epoch -> 2 for 8 steps
    cfg = [*TINY_PRETRAIN, "epochs=1", "min_steps=8", "save_every=0", "optim.schedule=cosine"]
    a = pretrain(
        load_config(PretrainConfig, None, cfg), tiny_data, "default", tmp_path / "a", progress=True
    )
    assert "running 2 epochs (8 steps" in capsys.readouterr().err
    assert yaml.safe_load((a / "config.yaml").read_text())["epochs"] == 2
    assert load_checkpoint(a)["epoch"] == 2
    b = tmp_path / "b"
    _stopped(1, load_config(PretrainConfig, None, cfg), tiny_data, "default", b, progress=False)
    pretrain(
        load_config(PretrainConfig, None, cfg), tiny_data, "default", b, progress=False, resume=True
    )
    ka, kb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    assert all(torch.equal(ka[k], kb[k]) for k in ka)


def test_an_explicit_epoch_count_turns_the_recipes_min_steps_off():
    from skelcon.cli import resolve_config_path

    path = resolve_config_path("cpu_small")
    assert load_config(PretrainConfig, path, []).min_steps == 1000
    assert load_config(PretrainConfig, path, ["epochs=4"]).min_steps == 0
    assert load_config(PretrainConfig, path, ["epochs=4", "min_steps=300"]).min_steps == 300


def test_a_checkpoint_from_before_a_config_key_was_added_resumes(tiny_data, tmp_path):
    import torch

    cfg = [*TINY_PRETRAIN, "epochs=2", "save_every=0"]
    run = tmp_path / "old"
    _stopped(1, load_config(PretrainConfig, None, cfg), tiny_data, "default", run, progress=False)
    ck = torch.load(run / "last.pt", weights_only=True)
    del ck["config"]["augment"]["noise"], ck["config"]["augment"]["joint_drop"]  # 0.2.0's
    torch.save(ck, run / "last.pt")
    pretrain(
        load_config(PretrainConfig, None, cfg),
        tiny_data,
        "default",
        run,
        progress=False,
        resume=True,
    )
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 2


def test_a_test_split_no_clip_of_which_can_be_right_cannot_be_judged():
    from skelcon.engine.verdict import PAID_OFF, TOO_FEW, UNREACHABLE, Verdict, advice

    v = Verdict("seq", 0.0, 0.0, 8, reachable=0)
    assert v.status == UNREACHABLE
    assert "only 0 of 8 test clips have a class seen in training" in v.line()
    text = advice([v], 200, ["more steps (--set min_steps=1000)"])
    assert "none of the 8 test clips" in text and "min_steps" not in text
    # a ceiling of 10 % leaves no room to leave the noise band: too few, not "no gain"
    assert Verdict("seq", 5.0, 10.0, 200, reachable=20).status == TOO_FEW
    assert Verdict("seq", 5.0, 10.0, 200).status != TOO_FEW  # all reachable: judged
    assert Verdict("seq", 20.0, 60.0, 200, reachable=150).status == PAID_OFF
