"""The crop bank of linear evaluation (``crop_bank`` K): reproducible, one fixed crop at
K = 1, a different bank entry per clip each epoch, recorded, and refused when invalid."""

from __future__ import annotations

import json

import pytest
import torch
from tinydata import TINY_PRETRAIN

from skelcon.augment import temporal_crop_resize
from skelcon.cli import main
from skelcon.config import LinearEvalConfig, PretrainConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.build import build_encoders, data_spec
from skelcon.engine.data import batch_loader, epoch_seed
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.crop_bank import (
    bank_batches,
    bank_bytes,
    bank_seed,
    check_bank_size,
    extract_crop_bank,
)
from skelcon.eval.linear import _random_crop_features, freeze, linear_eval
from skelcon.eval.run import run_linear

OUT_LEN = 16
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def train(tiny_data):
    return load_prepared(tiny_data, "default", "train")


@pytest.fixture(scope="module")
def encoder(train):
    torch.manual_seed(0)
    enc = build_encoders(["seq"], "small", data_spec(train.meta, OUT_LEN))["seq"]
    return freeze(enc)


def _bank(encoder, train, k, seed=0, crop_min=0.5, batch_size=8):
    return extract_crop_bank(
        encoder,
        train,
        k,
        CPU,
        out_len=OUT_LEN,
        crop_min=crop_min,
        seed=seed,
        batch_size=batch_size,
        progress=False,
    )


def test_bank_is_reproducible_from_the_seed(encoder, train):
    bank, labels = _bank(encoder, train, 3)
    assert bank.shape == (3, len(train), encoder.feature_dim) and bank.dtype == torch.float32
    assert torch.equal(labels, torch.as_tensor(train.labels))
    again, _ = _bank(encoder, train, 3)
    assert torch.equal(bank, again)
    other, _ = _bank(encoder, train, 3, seed=1)
    assert not torch.allclose(bank, other)
    assert not torch.allclose(bank[0], bank[1]) and not torch.allclose(bank[1], bank[2])


def test_k1_is_one_fixed_random_crop_of_the_protocol(encoder, train):
    (bank,), _ = _bank(encoder, train, 1, seed=3)
    gen = torch.Generator().manual_seed(bank_seed(3))
    want = torch.cat(
        [
            encoder(temporal_crop_resize(x, nf, out_len=OUT_LEN, l_min=0.5, generator=gen))
            for x, nf, _ in batch_loader(train, 8)
        ]
    )
    torch.testing.assert_close(bank, want)
    # every epoch trains on the same features, in the epoch's order
    labels = torch.as_tensor(train.labels)
    for epoch in range(3):
        es = epoch_seed(0, epoch)
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(es))
        feats = torch.cat([f for f, _ in bank_batches(bank[None], labels, es, 8)])
        assert torch.equal(feats, bank[order])


def test_deterministic_crops_give_the_exact_protocols_batches(encoder, train):
    """With crop_min 1 every crop is the whole clip: a bank must then feed the classifier
    exactly what the exact protocol feeds it, batch by batch (same clip order)."""
    bank, labels = _bank(encoder, train, 2, crop_min=1.0)
    torch.testing.assert_close(bank[0], bank[1])
    cfg = LinearEvalConfig(batch_size=8, crop_min=1.0)
    es = epoch_seed(0, 4)
    gen = torch.Generator().manual_seed(es)
    exact = list(
        _random_crop_features(encoder, train, cfg, CPU, OUT_LEN, gen, es, temporal_crop_resize)
    )
    cached = list(bank_batches(bank, labels, es, 8))
    assert [len(y) for _, y in exact] == [len(y) for _, y in cached]
    for (f0, y0), (f1, y1) in zip(exact, cached, strict=True):
        assert torch.equal(y0, y1)
        torch.testing.assert_close(f0, f1, rtol=1e-4, atol=1e-5)


def test_epochs_draw_different_bank_entries():
    k, n = 8, 37
    # bank[j, i] = (j, i): every row says which crop of which clip it is
    bank = torch.stack(torch.meshgrid(torch.arange(k), torch.arange(n), indexing="ij"), -1).float()
    labels = torch.arange(n)

    def epoch(seed):
        rows = torch.cat([f for f, _ in bank_batches(bank, labels, seed, 8)]).long()
        ys = torch.cat([y for _, y in bank_batches(bank, labels, seed, 8)])
        assert torch.equal(rows[:, 1], ys)  # features and labels stay paired
        assert sorted(rows[:, 1].tolist()) == list(range(n))  # every clip once
        pick = torch.empty(n, dtype=torch.long)
        pick[rows[:, 1]] = rows[:, 0]
        return pick

    picks = [epoch(epoch_seed(0, e)) for e in range(4)]
    assert torch.equal(picks[0], epoch(epoch_seed(0, 0)))  # reproducible from (seed, epoch)
    for a, b in zip(picks, picks[1:], strict=False):
        assert (a != b).float().mean() > 0.5  # ~7/8 of the clips change crop
    assert set(torch.cat(picks).tolist()) == set(range(k))
    sizes = [len(y) for _, y in bank_batches(bank, labels, 1, 8)]
    assert sizes == [8, 8, 8, 8, 5]  # the protocol's batches
    sizes = [len(y) for _, y in bank_batches(bank[:, :33], labels[:33], 1, 8)]
    assert sizes == [8, 8, 8, 9]  # one left over: folded, BatchNorm never sees a batch of 1


def test_bank_size_bound():
    assert bank_bytes(8, 40_320, 2048) == 8 * 40_320 * 2048 * 4
    check_bank_size(8, 40_320, 2048, 4.0)  # 2.46 GiB: fine
    with pytest.raises(
        SkelconError,
        match=r"needs 4\.92 GiB, over crop_bank_max_gib 4: use "
        r"crop_bank <= 6 or raise",
    ) as e:
        check_bank_size(8, 40_320, 4096, 4.0)
    assert "\n" not in str(e.value)
    with pytest.raises(SkelconError, match="raise crop_bank_max_gib"):
        check_bank_size(1, 10, 10, 1e-9)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("crop_bank=-1", "crop_bank -1 is not valid (valid: 0, the exact protocol, or K >= 1"),
        ("crop_bank=2.5", "config key 'crop_bank' expects int, got 2.5"),
        ("crop_bank=eight", "config key 'crop_bank' expects int, got 'eight'"),
        ("crop_bank_max_gib=0", "crop_bank_max_gib 0.0 must be a positive number of GiB"),
    ],
)
def test_invalid_values_are_one_line_errors(override, needle):
    with pytest.raises(SkelconError) as e:
        load_config(LinearEvalConfig, None, [override]).validate()
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bank_with_centre_crops_is_refused():
    cfg = load_config(LinearEvalConfig, None, ["crop_bank=4", "train_crop=center"])
    with pytest.raises(SkelconError, match="crop_bank 4 caches random crops: it needs train_crop"):
        cfg.validate()


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("run") / "r", progress=False)


def test_option_is_recorded(run_dir, tiny_data, tmp_path):
    cfg = LinearEvalConfig(epochs=2, batch_size=8, device="cpu", crop_bank=3)
    rec = run_linear(run_dir, "seq", tiny_data, "default", tmp_path / "bank", cfg, progress=False)
    on_disk = json.loads((tmp_path / "bank" / "metrics.json").read_text())
    assert on_disk["config"]["crop_bank"] == 3 and rec["config"]["crop_bank"] == 3
    assert on_disk["crop_bank"]["k"] == 3
    assert on_disk["crop_bank"]["bytes"] == 3 * 36 * 256 * 4  # K x N x D float32, small SEQ
    assert on_disk["crop_bank"]["seconds"] >= 0
    assert (
        "bank of 3" in on_disk["train_input"] and "not the exact protocol" in on_disk["train_input"]
    )
    exact = run_linear(
        run_dir,
        "seq",
        tiny_data,
        "default",
        tmp_path / "exact",
        LinearEvalConfig(epochs=1, batch_size=8, device="cpu"),
        progress=False,
    )
    assert exact["crop_bank"] is None and "(the protocol)" in exact["train_input"]
    assert exact["config"]["crop_bank"] == 0


def test_linear_eval_with_a_bank_is_reproducible(run_dir, tiny_data):
    from skelcon.eval.encoder import load_encoder

    loaded = load_encoder(run_dir, "stg")
    train = load_prepared(tiny_data, "default", "train")
    test = load_prepared(tiny_data, "default", "test")
    cfg = LinearEvalConfig(epochs=3, batch_size=8, device="cpu", crop_bank=2)
    runs = [
        linear_eval(
            loaded.encoder, train, test, cfg, CPU, out_len=loaded.num_frames, progress=False
        )
        for _ in range(2)
    ]
    assert runs[0].history == runs[1].history and len(runs[0].history) == 3


def test_cli_set_crop_bank(run_dir, tiny_data, tmp_path, capsys):
    args = [
        "eval",
        "linear",
        "--checkpoint",
        str(run_dir),
        "--representation",
        "seq",
        "--data",
        str(tiny_data),
        "--benchmark",
        "default",
        "--epochs",
        "1",
        "--quiet",
        "--device",
        "cpu",
    ]
    assert main([*args, "--out", str(tmp_path / "l"), "--set", "crop_bank=2"]) == 0
    assert "[crop bank 2: not the exact protocol]" in capsys.readouterr().out
    rec = json.loads((tmp_path / "l" / "metrics.json").read_text())
    assert rec["config"]["crop_bank"] == 2
    for bad, needle in [
        ("crop_bank=-3", "crop_bank -3 is not valid"),
        ("crop_bank_max_gib=1e-9", "needs 0.00 GiB, over crop_bank_max_gib 1e-09"),
    ]:
        assert (
            main([*args, "--out", str(tmp_path / "bad"), "--set", "crop_bank=8", "--set", bad]) == 2
        )
        err = capsys.readouterr().err.strip()
        assert err.startswith("skelcon: error:") and "\n" not in err and needle in err, err
