"""Every batch-size edge works in every protocol: a training split of ``k * B + 1``
clips, of fewer clips than a batch, of one clip, and batch size 1 (shared case
"Batch of one")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN

from skelcon.config import FinetuneConfig, KnnConfig, LinearEvalConfig, PretrainConfig, load_config
from skelcon.engine.data import batch_bounds
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.run import run_finetune, run_knn, run_linear


def _dataset(out: Path, n_train: int, n_test: int = 6, frames: int = 20) -> Path:
    from skelcon.data.prepared import PreparedWriter

    rng = np.random.default_rng(n_train)
    n = n_train + n_test
    w = PreparedWriter(
        out,
        dataset="edges",
        layout="ntu25",
        classes=["a", "b", "c"],
        capacity=n,
        max_frames=frames,
        num_persons=2,
    )
    for i in range(n):
        x = np.zeros((3, frames, 25, 2), np.float32)
        x[..., 0] = rng.normal(size=(3, frames, 25)) + i % 3
        w.add(x, i % 3, frames, f"s{i:03d}")
    idx = np.arange(n)
    w.finalize({"default": {"train": idx[:n_train], "test": idx[n_train:]}})
    return out


def test_batch_bounds_fold_a_trailing_single_clip():
    assert batch_bounds(17, 8) == [(0, 8), (8, 16), (16, 17)]
    assert batch_bounds(17, 8, min_batch=2) == [(0, 8), (8, 17)]
    assert batch_bounds(18, 8, min_batch=2) == [(0, 8), (8, 16), (16, 18)]
    assert batch_bounds(1, 8, min_batch=2) == [(0, 1)]  # nothing to fold into
    assert batch_bounds(5, 8, drop_last=True) == [(0, 5)]  # the only batch stays
    assert batch_bounds(17, 8, drop_last=True, min_batch=2) == [(0, 8), (8, 16)]
    for n in range(1, 40):
        for b in (1, 2, 3, 8):
            bounds = batch_bounds(n, b, min_batch=2)
            assert bounds[0][0] == 0 and bounds[-1][1] == n  # every clip, once, in order
            assert all(e0 == s1 for (_, e0), (s1, _) in zip(bounds, bounds[1:], strict=False))
            assert n < 2 or all(e - s >= 2 for s, e in bounds) or b == 1


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("run") / "r", progress=False)


@pytest.mark.slow
@pytest.mark.parametrize(("n_train", "batch"), [(17, 8), (5, 8), (9, 2), (2, 1)])
def test_every_protocol_any_split_size(run_dir, tmp_path, n_train, batch):
    data = _dataset(tmp_path / "d", n_train)
    lin = LinearEvalConfig(epochs=1, batch_size=batch, device="cpu", standardize=batch > 1)
    for crop in ("random", "center"):
        lin.train_crop = crop
        rec = run_linear(
            run_dir, "seq+stg", data, "default", tmp_path / f"lin-{crop}", lin, progress=False
        )
        assert rec["num_train"] == n_train and 0 <= rec["top1"] <= 100
    rec = run_knn(
        run_dir, "stg", data, "default", tmp_path / "knn", KnnConfig(device="cpu"), progress=False
    )
    assert rec["num_train"] == n_train
    ft = FinetuneConfig(epochs=1, batch_size=batch, device="cpu", fractions=[1.0], repeats=1)
    for protocol in ("finetune", "semi"):
        rec = run_finetune(
            protocol, run_dir, "stg", data, "default", tmp_path / protocol, ft, progress=False
        )
        assert np.isfinite(rec["top1"] if "top1" in rec else 0.0)
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", f"batch_size={batch}"])
    if batch < 2:
        with pytest.raises(SkelconError, match="batches of at least 2 clips"):
            pretrain(cfg, data, "default", tmp_path / "pre", progress=False)
    else:
        pretrain(cfg, data, "default", tmp_path / "pre", progress=False)


def test_one_clip_training_split(run_dir, tmp_path):
    data = _dataset(tmp_path / "d", 1)
    rec = run_knn(
        run_dir, "stg", data, "default", tmp_path / "knn", KnnConfig(device="cpu"), progress=False
    )
    assert rec["num_train"] == 1
    lin = LinearEvalConfig(epochs=1, device="cpu")
    with pytest.raises(SkelconError, match="at least 2 training clips"):
        run_linear(run_dir, "stg", data, "default", tmp_path / "lin", lin, progress=False)
    lin.standardize = False  # without BatchNorm a single clip trains
    assert run_linear(run_dir, "stg", data, "default", tmp_path / "lin2", lin, progress=False)
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    with pytest.raises(SkelconError, match="batches of at least 2 clips"):
        pretrain(cfg, data, "default", tmp_path / "pre", progress=False)
