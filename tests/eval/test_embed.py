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


def test_embed_raw_clips_equals_embed_of_the_prepared_clips(tmp_path, capsys):
    """``embed --input`` reads raw clips as the run's data were prepared: the features of
    the raw files are those of the prepared split, row for row by name."""
    from skelcon.examples import write_folder

    raw = write_folder(tmp_path / "raw", num_classes=2, per_class=4)  # npy, csv, json
    data, run = tmp_path / "d", tmp_path / "run"
    flags = ["--layout", "coco17", "--channels", "x,y,score", "--normalize", "--max-frames", "30"]
    assert main(["prepare", "folder", "--raw", str(raw), "--out", str(data), *flags]) == 0
    sets = [a for it in TINY_PRETRAIN for a in ("--set", it)]
    argv = ["pretrain", "--data", str(data), "--out", str(run), "--epochs", "1", "--quiet"]
    assert main([*argv, *sets, "--set", "batch_size=4", "--set", "moco.queue_size=8"]) == 0
    assert _embed(run, data, tmp_path / "prep.npy", split="train") == 0
    (raw / "action_0" / "junk.npy").write_bytes(b"junk")
    base = ["embed", "--checkpoint", str(run), "--representation", "seq", "--quiet"]
    raw_out = tmp_path / "raw.npy"
    assert main([*base, "--input", str(raw), "--out", str(raw_out), "--batch-size", "3"]) == 0
    assert "skipped 1 clips" in capsys.readouterr().out
    prep = np.load(tmp_path / "prep.npy")
    side = json.loads((tmp_path / "prep.json").read_text())
    got = np.load(raw_out)
    raw_side = json.loads((tmp_path / "raw.json").read_text())
    assert raw_side["labels"] is None and len(raw_side["names"]) == 8 == got.shape[0]
    assert [s["path"] for s in raw_side["skipped"]] == [str(raw / "action_0" / "junk.npy")]
    rows = dict(zip(raw_side["names"], got, strict=True))
    assert len(side["names"]) >= 4
    for name, feats in zip(side["names"], prep, strict=True):
        np.testing.assert_allclose(rows[name], feats, atol=1e-5, err_msg=name)
    # one of --data and --input
    assert main([*base, "--out", str(tmp_path / "x.npy")]) == 2
    assert "one of --data" in capsys.readouterr().err
