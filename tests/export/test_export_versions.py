"""``skelcon export --opset`` and what the contract says about runtimes (case
s3/10-onnx-other-shapes): opset, IR version and the oldest onnxruntime that loads the
file; an empty batch gives ``(0, D)`` in the Python API instead of aborting
onnxruntime's process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN

from skelcon.cli import main
from skelcon.config import PretrainConfig, load_config
from skelcon.engine.pretrain import pretrain
from skelcon.eval.encoder import load_encoder
from skelcon.export.writer import MIN_OPSET, load_exported, max_opset, min_onnxruntime


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq]"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("ver") / "r", progress=False)


def _export(run_dir, out, fmt, *extra) -> int:
    return main(
        [
            "export",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "seq",
            "--format",
            fmt,
            "--out",
            str(out),
            *extra,
        ]
    )


def test_oldest_runtime_table():
    # onnxruntime 1.16.3 (the case) loads opset 19 / IR 9 but not opset 20 or IR 10
    assert min_onnxruntime(18, 8) == "1.14" and min_onnxruntime(19, 9) == "1.15"
    assert min_onnxruntime(20, 9) == "1.17" and min_onnxruntime(19, 10) == "1.18"
    assert min_onnxruntime(99, 8) is None


@pytest.mark.parametrize(
    ("extra", "want"),
    [
        (
            ["--format", "onnx", "--opset", "17"],
            f"--opset 17 is not one torch's ONNX exporter "
            f"writes for skelcon's encoders (valid: {MIN_OPSET}..",
        ),
        (["--format", "onnx", "--opset", "99"], "--opset 99 is not one"),
        (["--format", "torchscript", "--opset", "18"], "--opset is for --format onnx"),
    ],
)
def test_opset_refused_before_any_work(tmp_path, capsys, extra, want):
    # no checkpoint exists: the option is checked before it is looked for
    rc = main(
        [
            "export",
            "--checkpoint",
            str(tmp_path / "none"),
            "--representation",
            "seq",
            "--out",
            str(tmp_path / "x"),
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and want in err and err.count("\n") == 1
    assert MIN_OPSET <= max_opset()


@pytest.mark.slow
def test_opset_ir_and_runtime_in_contract_and_empty_batch(run_dir, tmp_path, capsys):
    import onnx

    out = tmp_path / "seq.onnx"
    assert _export(run_dir, out, "onnx", "--opset", str(MIN_OPSET)) == 0
    assert f"opset {MIN_OPSET}, IR 8: onnxruntime >= 1.14" in capsys.readouterr().out
    c = json.loads((tmp_path / "seq.onnx.json").read_text())
    model = onnx.load(str(out))
    assert (c["onnx_opset"], c["onnx_ir_version"], c["min_onnxruntime"]) == (MIN_OPSET, 8, "1.14")
    assert model.ir_version == 8  # lowered from the exporter's newest, so older runtimes load it
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [MIN_OPSET]
    assert "N >= 1" in c["inputs"]["x"]["meaning"]
    # the Python API: 0 clips -> (0, D), never into onnxruntime (which aborts the process)
    run = load_exported("onnx", out)
    empty = run(np.zeros((0, 3, 30, 25, 2), np.float32), np.zeros(0, np.int64))
    assert empty.shape == (0, c["feature_dim"]) and empty.dtype == np.float32
    x = np.random.default_rng(0).normal(size=(2, 3, 30, 25, 2)).astype(np.float32)
    want = load_encoder(run_dir, "seq")(x, [30, 4]).numpy()
    np.testing.assert_allclose(run(x, np.array([30, 4])), want, atol=1e-4)
    with pytest.raises(Exception, match="num_frames must be >= 1, got 0"):
        run(x, np.array([0, 4]))


def test_empty_batch_in_pytorch_and_torchscript(run_dir, tmp_path):
    model = load_encoder(run_dir, "seq")
    empty = model(torch.zeros(0, 3, 30, 25, 2), torch.zeros(0, dtype=torch.int64))
    assert empty.shape == (0, model.feature_dim)
    assert _export(run_dir, tmp_path / "seq.pt", "torchscript") == 0
    got = load_exported("torchscript", tmp_path / "seq.pt")(np.zeros((0, 3, 7, 25, 2)), [])
    assert got.shape == (0, model.feature_dim)
