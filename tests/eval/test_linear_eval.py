"""Linear evaluation keeps the encoder frozen; metrics files have the promised keys."""

from __future__ import annotations

import json

import pytest
import torch
from tinydata import TINY_PRETRAIN

from skelcon.config import KnnConfig, LinearEvalConfig, PretrainConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.encoder import load_encoder
from skelcon.eval.linear import linear_eval
from skelcon.eval.run import run_knn, run_linear


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("run") / "r", progress=False)


@pytest.mark.parametrize("rep", ["seq", "stg"])
def test_encoder_bit_identical_after_linear_eval(run_dir, tiny_data, rep):
    loaded = load_encoder(run_dir, rep)
    enc = loaded.encoder
    # Put the encoder in train mode first: linear eval must switch it to eval itself.
    enc.train()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    train = load_prepared(tiny_data, "default", "train")
    test = load_prepared(tiny_data, "default", "test")
    res = linear_eval(
        enc,
        train,
        test,
        LinearEvalConfig(epochs=2, device="cpu", batch_size=8),
        torch.device("cpu"),
        out_len=loaded.num_frames,
        progress=False,
    )
    after = enc.state_dict()
    assert before.keys() == after.keys()
    for k in before:  # weights and BatchNorm running statistics / counters
        assert torch.equal(before[k], after[k]), k
    assert any("running_mean" in k for k in before) or rep == "seq"
    assert not enc.training
    assert 0 <= res.top1 <= 100 and len(res.history) == 2


def test_loaded_weights_are_the_checkpoint_weights(run_dir):
    from skelcon.engine.checkpoint import load_checkpoint

    state = load_checkpoint(run_dir)["model"]
    enc = load_encoder(run_dir, "seq").encoder
    for k, v in enc.state_dict().items():
        assert torch.equal(v, state[f"query_encoders.seq.{k}"])
    rnd = load_encoder(run_dir, "seq", random_init=True).encoder
    assert any(
        not torch.equal(v, state[f"query_encoders.seq.{k}"]) for k, v in rnd.state_dict().items()
    )


def test_metrics_json(run_dir, tiny_data, tmp_path):
    rec = run_linear(
        run_dir,
        "seq+stg",
        tiny_data,
        "default",
        tmp_path / "lin",
        LinearEvalConfig(epochs=1, device="cpu"),
        progress=False,
    )
    on_disk = json.loads((tmp_path / "lin" / "metrics.json").read_text())
    assert on_disk["protocol"] == "linear" and on_disk["representation"] == "seq+stg"
    assert {"top1", "num_train", "num_test"} <= set(on_disk)
    assert on_disk["num_train"] == 36 and on_disk["num_test"] == 12
    assert rec["top1"] == on_disk["top1"]
    rec = run_knn(
        run_dir,
        "stg",
        tiny_data,
        "default",
        tmp_path / "knn",
        KnnConfig(device="cpu"),
        random_init=True,
        progress=False,
    )
    assert rec["protocol"] == "knn" and rec["random_init"] and rec["checkpoint"] is None


def test_absent_representation(run_dir):
    with pytest.raises(SkelconError, match="img.*not in checkpoint"):
        load_encoder(run_dir, "img")
    with pytest.raises(SkelconError, match="not valid"):
        load_encoder(run_dir, "rgb")


def test_results_are_typed_and_round_trip():
    from skelcon.eval.linear import LinearResult

    res = LinearResult(50.0, {"top5": 90.0}, 55.0, 3, [40.0, 55.0, 50.0], 8, 4, "crop", None)
    assert LinearResult.from_dict(res.to_dict()) == res
    with pytest.raises(TypeError):
        res["top1"]  # attributes, not keys
