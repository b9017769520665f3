"""Pre-training loop: outputs, checkpoints and exact resume."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from tinydata import TINY_PRETRAIN

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError


def _cfg(*extra: str) -> PretrainConfig:
    return load_config(PretrainConfig, None, [*TINY_PRETRAIN, *extra])


def test_run_directory_contents(tiny_data, tmp_path):
    run = pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "run", progress=False)
    assert (run / "last.pt").is_file() and (run / "epoch_0001.pt").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 2
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("epoch_loss" in r for r in lines) and any("loss/seq->stg" in r for r in lines)
    ck = load_checkpoint(run)
    assert ck["epoch"] == 2 and ck["config"]["representations"] == ["seq", "stg"]
    assert {"model", "optimizer", "scheduler", "rng", "data"} <= set(ck)
    assert any(k.startswith("queues.seq") for k in ck["model"])
    assert ck["scheduler"]["last_epoch"] == 2
    assert (run / "tb").is_dir()


def test_resume_is_exact(tiny_data, tmp_path):
    straight = pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "a", progress=False)
    pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "b", progress=False, stop_after=1)
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
    assert a["scheduler"] == b["scheduler"]
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
        pretrain(_cfg("epochs=2", "preset=paper"), tiny_data, "default", tmp_path / "r",
                 progress=False, resume=True)  # fmt: skip


@pytest.mark.parametrize("reps", ["[img]", "[seq, img, stg]"])
def test_other_representation_sets(tiny_data, tmp_path, reps):
    run = pretrain(_cfg("epochs=1", f"representations={reps}"), tiny_data, "default", tmp_path / "r",
                   progress=False)  # fmt: skip
    ck = load_checkpoint(run)
    assert ck["representations"] == yaml.safe_load(reps)
