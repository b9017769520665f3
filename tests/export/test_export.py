"""``skelcon export``: every encoder to TorchScript and ONNX, matching PyTorch's features
(onnxruntime within 1e-4, TorchScript within 1e-5) on batches the graph was not traced
on, with the input contract beside it; one-line errors; atomic writes."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN

import skelcon
from skelcon.cli import main
from skelcon.config import PretrainConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.pretrain import pretrain
from skelcon.export import contract_path, export_encoder
from skelcon.export.graph import example_inputs

REPS = ["seq", "img", "stg"]
FEATURE_DIM = {"seq": 256, "img": 128, "stg": 128}  # small preset, 16-frame views


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    """A 1-epoch SEQ+IMG+STG run of the small preset on the tiny NTU-layout data."""
    cfg = load_config(
        PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq, img, stg]"]
    )
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("exp") / "r", progress=False)


def _export(run_dir, rep, fmt, out, *extra) -> int:
    return main(
        [
            "export",
            "--checkpoint",
            str(run_dir),
            "--representation",
            rep,
            "--format",
            fmt,
            "--out",
            str(out),
            *extra,
        ]
    )


def _batches(tiny_data):
    """Real prepared clips (another N than the traced one, T = 24) and a random batch of
    one 57-frame clip."""
    test = load_prepared(tiny_data, "default", "test")
    x, nf = test.data[:7], test.num_frames[:7]
    one_x, one_nf = example_inputs({"in_channels": 3, "num_joints": 25, "num_persons": 2}, 1, 57)
    return [(torch.from_numpy(x), torch.from_numpy(nf)), (one_x, one_nf)]


@pytest.mark.slow
@pytest.mark.parametrize("rep", REPS)
def test_onnx_matches_pytorch_in_onnxruntime(run_dir, tiny_data, tmp_path, rep, capsys):
    import onnx
    import onnxruntime as ort

    out = tmp_path / f"{rep}.onnx"
    assert _export(run_dir, rep, "onnx", out) == 0
    assert f"features (N, {FEATURE_DIM[rep]}) float32" in capsys.readouterr().out
    model = skelcon.load_encoder(run_dir, rep)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "num_frames"]
    assert [o.name for o in session.get_outputs()] == ["features"]
    for x, nf in _batches(tiny_data):
        got = session.run(None, {"x": x.numpy(), "num_frames": nf.numpy()})[0]
        want = model(x, nf).numpy()
        assert got.shape == want.shape == (len(nf), FEATURE_DIM[rep])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    # N and T are symbolic in the graph, the other axes fixed
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    sizes = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    assert sizes[0] is None and sizes[2] is None and sizes[1:2] + sizes[3:] == [3, 25, 2]


@pytest.mark.slow
@pytest.mark.parametrize("rep", [*REPS, "seq+stg"])
def test_torchscript_matches_pytorch(run_dir, tiny_data, tmp_path, rep):
    out = tmp_path / f"{rep}.pt"
    assert _export(run_dir, rep, "torchscript", out) == 0
    model = skelcon.load_encoder(run_dir, rep)
    scripted = torch.jit.load(str(out))
    for x, nf in _batches(tiny_data):
        with torch.no_grad():
            got = scripted(x, nf)
        np.testing.assert_allclose(got.numpy(), model(x, nf).numpy(), rtol=0, atol=1e-5)


def test_contract_says_what_the_graph_takes(run_dir, tmp_path):
    out = tmp_path / "m" / "stg.pt"
    contract = export_encoder(run_dir, "stg", "torchscript", out)
    side = json.loads(contract_path(out).read_text())
    assert side == json.loads(json.dumps(contract))
    assert contract_path(out).name == "stg.pt.json"
    assert side["format"] == "torchscript" and side["file"] == "stg.pt"
    assert side["inputs"]["x"]["shape"] == ["N", 3, "T", 25, 2]
    assert side["inputs"]["x"]["dtype"] == "float32"
    assert side["inputs"]["num_frames"] == {**side["inputs"]["num_frames"], "dtype": "int64"}
    assert side["output"]["features"]["shape"] == ["N", 128]
    assert (side["C"], side["V"], side["M"], side["feature_dim"]) == (3, 25, 2, 128)
    assert side["channels"] == ["x", "y", "z"] and side["layout"] == "ntu25"
    lay = side["layout_def"]
    assert len(lay["joints"]) == 25 and lay["center"] == "spine_mid" and len(lay["bones"]) == 24
    assert side["crop"]["ratio"] == 0.95 and side["crop"]["encoder_frames"] == 16
    assert side["checkpoint"] == str(run_dir) and side["checkpoint_epoch"] == 1
    assert side["skelcon_version"] and side["representation"] == "stg"
    assert "not recorded" in side["normalization"]  # the tiny data: imported as it came
    assert side["verified"]["max_abs_diff"] <= side["verified"]["tolerance"]
    assert not any(p.name.endswith(".tmp") for p in out.parent.iterdir())


def test_random_init_export_differs(run_dir, tmp_path):
    a = export_encoder(run_dir, "img", "torchscript", tmp_path / "a.pt")
    b = export_encoder(run_dir, "img", "torchscript", tmp_path / "b.pt", random_init=True)
    assert a["checkpoint_epoch"] == 1 and b["checkpoint"] is None and b["random_init"]
    x, nf = example_inputs({"in_channels": 3, "num_joints": 25, "num_persons": 2}, 2, 20)
    fa, fb = (torch.jit.load(str(tmp_path / n))(x, nf) for n in ("a.pt", "b.pt"))
    assert not torch.allclose(fa, fb)


def _one_line(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("skelcon: error:") and "\n" not in err, err
    for n in needles:
        assert n in err, err


def test_errors_are_one_line(run_dir, tmp_path, capsys):
    out = tmp_path / "x.onnx"
    assert _export(run_dir, "hand", "onnx", out) == 2
    _one_line(capsys, "'hand'", "holds: seq, img, stg")
    ckpt = torch.load(run_dir / "last.pt", weights_only=True)
    ckpt["representations"] = ["seq"]
    torch.save(ckpt, tmp_path / "seq_only.pt")
    assert _export(tmp_path / "seq_only.pt", "stg", "onnx", out) == 2
    _one_line(capsys, "'stg' is not in checkpoint", "it holds: seq")
    assert _export(tmp_path / "nowhere", "seq", "onnx", out) == 2
    _one_line(capsys, "not found")
    assert _export(run_dir, "seq", "onnx", tmp_path) == 2
    _one_line(capsys, "is a directory")
    with pytest.raises(SystemExit):
        _export(run_dir, "seq", "tflite", out)
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
    assert not out.exists()


def test_missing_onnx_package_says_how_to_install(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # `import onnxscript` fails
    assert _export(run_dir, "seq", "onnx", tmp_path / "s.onnx") == 2
    _one_line(capsys, "onnxscript", "pip install 'skelcon[export]'")
    assert not any(tmp_path.iterdir())


def test_a_failed_export_leaves_the_previous_one(run_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "seq.pt"
    assert _export(run_dir, "seq", "torchscript", out) == 0
    before, side_before = out.read_bytes(), contract_path(out).read_text()
    # the written graph disagrees with PyTorch: refused, nothing renamed into place
    monkeypatch.setattr("skelcon.export.writer.TOLERANCE", {"torchscript": -1.0})
    assert _export(run_dir, "seq", "torchscript", out, "--random-init") == 2
    _one_line(capsys, "differs from PyTorch", "nothing was written")
    assert out.read_bytes() == before and contract_path(out).read_text() == side_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq.pt", "seq.pt.json"]


def test_normalization_is_said_only_where_known():
    from skelcon.export.contract import normalization

    ntu = {"dataset": "ntu60", "layout": "ntu25", "in_channels": 3}
    assert "skelcon.data.normalize.normalize" in normalization(ntu)
    # 2D data of the same dataset name are not normalised the 3D way: not claimed
    assert "not recorded" in normalization({**ntu, "channels": ["x", "y", "score"]})
    assert "not recorded" in normalization({**ntu, "in_channels": 2})
    assert normalization({**ntu, "normalization": "image size"}) == "image size"


def test_an_exporter_failure_is_one_line(run_dir, tmp_path, monkeypatch, capsys):
    def broken(graph, example, path):
        raise RuntimeError("unsupported operator aten::foo\n  long details")

    monkeypatch.setattr("skelcon.export.writer.write_torchscript", broken)
    assert _export(run_dir, "seq", "torchscript", tmp_path / "s.pt") == 2
    _one_line(capsys, "torchscript exporter failed on the seq encoder", "aten::foo")
    assert not any(tmp_path.iterdir())
