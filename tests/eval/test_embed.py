"""Feature export: ``skelcon embed`` writes what ``skelcon.load_encoder`` computes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN

import skelcon
from skelcon.cli import main
from skelcon.config import PretrainConfig, load_config
from skelcon.data.prepared import PreparedWriter, load_prepared
from skelcon.engine.pretrain import pretrain
from skelcon.eval.encoder import LoadedEncoder


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq]"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("emb") / "r", progress=False)


def _embed(run_dir, data, out, *extra, split="test", rep="seq"):
    return main(
        [
            "embed",
            "--checkpoint",
            str(run_dir),
            "--representation",
            rep,
            "--data",
            str(data),
            "--benchmark",
            "default",
            "--split",
            split,
            "--out",
            str(out),
            "--quiet",
            "--device",
            "cpu",
            "--batch-size",
            "5",
            *extra,
        ]
    )


def test_embed_matches_load_encoder(run_dir, tiny_data, tmp_path, capsys):
    out = tmp_path / "sub" / "feats.npy"
    assert _embed(run_dir, tiny_data, out) == 0
    assert "12 x 256" in capsys.readouterr().out
    feats = np.load(out, allow_pickle=False)
    side = json.loads((tmp_path / "sub" / "feats.json").read_text())
    split = load_prepared(tiny_data, "default", "test")
    assert feats.dtype == np.float32 and feats.shape == (12, 256)
    assert side["names"] == split.names.tolist() and side["labels"] == split.labels.tolist()
    assert (
        side["representation"] == "seq"
        and side["checkpoint"] == str(run_dir)
        and not side["random_init"]
    )
    assert (
        side["shape"] == [12, 256]
        and side["split"] == "test"
        and side["classes"] == ["c0", "c1", "c2"]
    )
    assert side["num_frames"] == split.num_frames.tolist() and side["layout"] == "ntu25"
    assert side["checkpoint_epoch"] == 1
    assert not any(p.name.endswith(".tmp") for p in out.parent.iterdir())

    loaded = skelcon.load_encoder(run_dir, "seq")  # the public entry point, imported lazily
    assert isinstance(loaded, LoadedEncoder)
    x = torch.from_numpy(split.data[:])
    nf = torch.from_numpy(split.num_frames)
    with torch.no_grad():
        expected = loaded.encoder.eval()(loaded.transform(x, nf)).numpy()
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-5)


def test_random_init_differs(run_dir, tiny_data, tmp_path):
    assert _embed(run_dir, tiny_data, tmp_path / "a.npy", split="train") == 0
    assert _embed(run_dir, tiny_data, tmp_path / "b.npy", "--random-init", split="train") == 0
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == b.shape == (36, 256) and not np.allclose(a, b)
    side = json.loads((tmp_path / "b.json").read_text())
    assert side["random_init"] and side["checkpoint"] is None


def _one_line(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("skelcon: error:") and "\n" not in err, err
    assert all(n in err for n in needles), err


def test_embed_errors(run_dir, tiny_data, tmp_path, capsys):
    assert _embed(run_dir, tiny_data, tmp_path / "feats.txt") == 2
    _one_line(capsys, "feats.txt", ".npy")
    assert _embed(run_dir, tiny_data, tmp_path / "f.npy", rep="stg") == 2
    _one_line(capsys, "'stg'", "not in checkpoint")
    assert _embed(run_dir, tiny_data, tmp_path / "f.npy", split="val") == 2
    _one_line(capsys, "'val'")
    w = PreparedWriter(
        tmp_path / "e",
        dataset="e",
        layout="ntu25",
        classes=["a"],
        capacity=1,
        max_frames=4,
        num_persons=2,
    )
    w.add(np.zeros((3, 4, 25, 2), np.float32), 0, 4, "e0")
    w.finalize({"default": {"train": [0], "test": []}})
    assert _embed(run_dir, tmp_path / "e", tmp_path / "f.npy") == 2
    _one_line(capsys, "'test'", "empty")
    assert not (tmp_path / "f.npy").exists()


def test_embed_defaults_to_the_test_split_and_the_only_benchmark(run_dir, tiny_data, tmp_path):
    out = tmp_path / "f.npy"
    rc = main(
        [
            "embed",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "seq",
            "--data",
            str(tiny_data),
            "--out",
            str(out),
            "--quiet",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    side = json.loads((tmp_path / "f.json").read_text())
    assert side["split"] == "test" and side["benchmark"] == "default"
    assert side["names"] == load_prepared(tiny_data, "default", "test").names.tolist()
