"""One definition of "random init": ``eval knn --random-init`` (and every --random-init
baseline) is the run's own query encoder before its first step, so it reproduces the
epoch-0 figure of the run's kNN monitor for every representation."""

from __future__ import annotations

import json

import pytest
import torch
from tinydata import TINY_PRETRAIN, make_tiny_prepared

import skelcon
from skelcon.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ri")
    data = make_tiny_prepared(root / "d", classes=10, n=80, seed=1)  # not saturated by kNN
    sets = [a for it in TINY_PRETRAIN for a in ("--set", it)]
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(data),
                "--out",
                str(root / "r"),
                "--epochs",
                "1",
                "--quiet",
                "--seed",
                "3",
                *sets,
                "--set",
                "monitor.every=1",
            ]
        )
        == 0
    )
    first = json.loads((root / "r" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["epoch"] == 0
    return root / "r", data, first


@pytest.mark.parametrize("rep", ["stg", "seq"])
def test_random_init_is_the_runs_epoch_0_encoder(run, tmp_path, rep):
    r, data, first = run
    assert (
        main(
            [
                "eval",
                "knn",
                "--checkpoint",
                str(r),
                "--representation",
                rep,
                "--data",
                str(data),
                "--random-init",
                "--out",
                str(tmp_path / "k"),
                "--quiet",
            ]
        )
        == 0
    )
    top1 = json.loads((tmp_path / "k" / "metrics.json").read_text())["top1"]
    assert top1 == pytest.approx(first[f"knn/{rep}"], abs=1e-4)


def test_another_seed_draws_other_weights(run):
    r = run[0]
    own = skelcon.load_encoder(r, "stg", random_init=True).encoder.state_dict()
    again = skelcon.load_encoder(r, "stg", random_init=True).encoder.state_dict()
    other = skelcon.load_encoder(r, "stg", random_init=True, seed=4).encoder.state_dict()
    trained = skelcon.load_encoder(r, "stg").encoder.state_dict()
    weights = [k for k, v in own.items() if v.is_floating_point() and v.dim() > 1]
    assert all(torch.equal(own[k], again[k]) for k in weights)
    assert sum(torch.equal(own[k], other[k]) for k in weights) < len(weights) / 2
    assert not all(torch.equal(own[k], trained[k]) for k in weights)


def test_random_init_weights_are_the_pretraining_models_first_weights(run):
    """The weights themselves: pre-training's model as built before its first step."""
    from skelcon.config import PretrainConfig, from_dict
    from skelcon.engine.build import build_moco
    from skelcon.engine.checkpoint import load_checkpoint, seed_everything

    r = run[0]
    ckpt = load_checkpoint(r)
    cfg = from_dict(PretrainConfig, ckpt["config"])
    seed_everything(cfg.seed)
    first = build_moco(cfg, dict(ckpt["data"])).query_encoders
    for rep in ("stg", "seq"):
        got = skelcon.load_encoder(r, rep, random_init=True).encoder.state_dict()
        want = first[rep].state_dict()
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in want), rep
