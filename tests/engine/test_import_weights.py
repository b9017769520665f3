"""``skelcon import-weights``: the authors' checkpoints as skelcon runs.

The fixtures are state dicts in the authors' key layout built here from sizes
(``tests/authors_ckpt.py``), never their code; ``bench/import_skeleton_contrast.py``
compares against their modules themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from authors_ckpt import SMALL, authors_moco

from skelcon.cli.main import main
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.engine.imported import import_weights
from skelcon.engine.skeleton_contrast import read_checkpoint
from skelcon.errors import SkelconError
from skelcon.eval.encoder import load_encoder


def _save(path: Path, state, legacy: bool = False) -> Path:
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.fixture(scope="module")
def seq_stg(tmp_path_factory) -> tuple[Path, dict]:
    """An inter-skeleton SEQ+STG checkpoint in their (PyTorch 1.2, non-zip) format."""
    state, query = authors_moco(["seq", "stg"])
    return _save(tmp_path_factory.mktemp("authors") / "ckpt.pth.tar", state, legacy=True), query


def frame_per_call(gru: torch.nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """Their BIGRU's feature: the GRU fed one frame per call, the last step's output."""
    out, h = gru(x[:, :1])
    for i in range(1, x.shape[1]):
        out, h = gru(x[:, i : i + 1], h)
    return out[:, -1]


def their_gcn(x, theirs: dict, pre: str, adjacency: torch.Tensor) -> torch.Tensor:
    """Their adaptive graph conv, written from its definition, before BatchNorm and the
    residual: per subset k, ``conv_d_k(x (A_k + PA_k + softmax(theta_k^T phi_k / (c' T))))``."""
    n, c, t, v = x.shape
    y = 0
    for k in range(3):
        a = F.conv2d(x, theirs[f"{pre}conv_a.{k}.weight"], theirs[f"{pre}conv_a.{k}.bias"])
        b = F.conv2d(x, theirs[f"{pre}conv_b.{k}.weight"], theirs[f"{pre}conv_b.{k}.bias"])
        a = a.permute(0, 3, 1, 2).reshape(n, v, -1)
        att = torch.softmax(a @ b.reshape(n, -1, v) / a.shape[-1], dim=-2)
        g = att + adjacency[k] + theirs[f"{pre}PA"][k]
        z = (x.reshape(n, c * t, v) @ g).reshape(n, c, t, v)
        y = y + F.conv2d(z, theirs[f"{pre}conv_d.{k}.weight"], theirs[f"{pre}conv_d.{k}.bias"])
    return y


def test_mapping_computes_their_model(seq_stg, tmp_path):
    path, query = seq_stg
    res = import_weights("skeleton-contrast", path, tmp_path / "run", dataset="ntu60")
    assert (res.representations, res.preset, res.epoch, res.heads) == (
        ["seq", "stg"],
        "small",
        451,
        True,
    )
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt["imported"]["modules"] == {"seq": "encoder_q", "stg": "encoder_r"}
    assert ckpt["config"]["seq"]["recurrence"] == "stepwise"
    assert ckpt["data"]["seq_recurrence"] == "stepwise"
    assert ckpt["config"]["moco"]["queue_size"] == 32
    # SEQ: the GRU's weights as they are, run one frame per call
    seq = load_encoder(tmp_path / "run", "seq").encoder
    x = torch.randn(2, 3, 64, 25, 2)
    gru = torch.nn.GRU(150, 128, 2, bidirectional=True, batch_first=True)
    gru.load_state_dict(
        {k[len("encoder.gru.") :]: v for k, v in query["seq"].items() if "gru" in k}
    )
    with torch.no_grad():
        ref = frame_per_call(gru, x.permute(0, 2, 3, 1, 4).reshape(2, 64, 150))
        assert torch.allclose(seq(x), ref, atol=1e-5)
    # STG: block 0's fused graph conv computes their three subset convolutions
    stg = load_encoder(tmp_path / "run", "stg").encoder
    xb = torch.randn(2, 3, 8, 25)
    t = query["stg"]

    def bn(y, pre):
        w, b = t[f"{pre}.weight"], t[f"{pre}.bias"]
        return F.batch_norm(y, t[f"{pre}.running_mean"], t[f"{pre}.running_var"], w, b)

    with torch.no_grad():
        ours = stg.blocks[0].gcn(xb, stg.adjacency)
        down = F.conv2d(xb, t["l1.gcn1.down.0.weight"], t["l1.gcn1.down.0.bias"])
        y = bn(their_gcn(xb, t, "l1.gcn1.", stg.adjacency), "l1.gcn1.bn")
        ref = torch.relu(y + bn(down, "l1.gcn1.down.1"))
        assert torch.allclose(ours, ref, atol=1e-5)
    sd = stg.state_dict()
    assert torch.equal(sd["blocks.2.tcn.conv.weight"], query["stg"]["l3.tcn1.conv.weight"])
    assert torch.equal(
        sd["blocks.1.residual.bn.running_var"], query["stg"]["l2.residual.bn.running_var"]
    )
    assert torch.equal(sd["blocks.0.gcn.offset"], query["stg"]["l1.gcn1.PA"])
    # heads: fc.0 / fc.2 as ProjectionHead 0 / 2
    assert torch.equal(ckpt["model"]["query_heads.stg.2.weight"], query["stg"]["fc.2.weight"])


def test_hcn_keys_land_in_place(tmp_path):
    state, query = authors_moco(["stg", "img"])  # their graph-based_and_image-based model
    path = _save(tmp_path / "gi.pth.tar", state)
    res = import_weights("skeleton-contrast", path, tmp_path / "run", dataset="ntu120")
    assert res.modules == {"stg": "encoder_q", "img": "encoder_r"}
    img = load_encoder(tmp_path / "run", "img").encoder.state_dict()
    theirs = query["img"]
    for ours, their in [
        ("position.conv1.weight", "conv1.0.weight"),
        ("position.conv2.bias", "conv2.bias"),
        ("motion.conv3.weight", "conv3m.0.weight"),
        ("motion.conv2.weight", "conv2m.weight"),
        ("conv6.bias", "conv6.0.bias"),
    ]:
        assert torch.equal(img[ours], theirs[their]), ours


def test_intra_checkpoint_without_mlp_heads(tmp_path):
    state, _ = authors_moco(["img"])
    sd = state["state_dict"]
    for q in ("encoder_q", "encoder_k"):  # without --mlp: one Linear fc
        for k in ("fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias"):
            del sd[f"module.{q}.{k}"]
        sd[f"module.{q}.fc.weight"] = torch.zeros(128, 512)
        sd[f"module.{q}.fc.bias"] = torch.zeros(128)
    path = _save(tmp_path / "intra.pth.tar", state)
    res = import_weights("skeleton-contrast", path, tmp_path / "run", dataset="ntu60")
    assert (res.representations, res.heads) == (["img"], False)
    assert not any(k.startswith("query_heads") for k in load_checkpoint(tmp_path / "run")["model"])


def _refusal(tmp_path: Path, state, name: str = "bad.pth.tar") -> str:
    path = tmp_path / name
    if isinstance(state, bytes):
        path.write_bytes(state)
    else:
        torch.save(state, path)
    with pytest.raises(SkelconError) as e:
        import_weights("skeleton-contrast", path, tmp_path / "out", dataset="ntu60")
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    assert not (tmp_path / "out").exists()  # nothing left behind
    return msg


class _Payload:
    """Its unpickling would run ``Path.touch``: it must be refused, not run."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_refusals_are_one_line_naming_the_file(tmp_path):
    assert "truncated, corrupt or not a torch file" in _refusal(tmp_path, b"not a checkpoint")
    assert "is not one of the authors' checkpoints (it holds: model" in _refusal(
        tmp_path, {"model": {}}
    )
    target = tmp_path / "ran"
    msg = _refusal(tmp_path, {"state_dict": {}, "x": _Payload(target)})
    assert "refused, not run" in msg and not target.exists()
    state, _ = authors_moco(["seq"])
    state["state_dict"]["module.extra.weight"] = torch.zeros(1)
    state["state_dict"]["module.encoder_q.bogus"] = torch.zeros(1)
    assert "1 key(s) that the authors' MoCo model does not have (extra.weight)" in _refusal(
        tmp_path, state
    )
    del state["state_dict"]["module.extra.weight"]
    del state["state_dict"]["module.encoder_q.encoder.gru.bias_hh_l1"]
    msg = _refusal(tmp_path, state)
    assert "encoder_q (SEQ, their BIGRU): 1 missing (encoder.gru.bias_hh_l1)" in msg
    assert "1 unexpected (bogus)" in msg
    sizes = {**SMALL, "stg": {"channels": [32, 64, 96], "strides": [4, 2, 1]}}
    state, _ = authors_moco(["stg"], sizes=sizes)
    msg = _refusal(tmp_path, state)
    assert "does not fit skelcon's small preset" in msg and "l3.gcn1.conv_d.0.weight" in msg
    state = {"state_dict": {"module.encoder_q.something": torch.zeros(1)}}
    assert "encoder_q is none of the authors' encoders" in _refusal(tmp_path, state)


def test_refuses_an_existing_run_and_bad_choices(seq_stg, tmp_path):
    path, _ = seq_stg
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"a run")
    with pytest.raises(SkelconError, match="already exists and holds a run"):
        import_weights("skeleton-contrast", path, tmp_path / "run", dataset="ntu60")
    assert (tmp_path / "run" / "last.pt").read_bytes() == b"a run"
    with pytest.raises(SkelconError, match="unknown ntu60 benchmark 'xsetup'"):
        import_weights(
            "skeleton-contrast", path, tmp_path / "r", dataset="ntu60", benchmark="xsetup"
        )
    with pytest.raises(SkelconError, match="unknown source 'aimclr'"):
        import_weights("aimclr", path, tmp_path / "r", dataset="ntu60")
    assert read_checkpoint(path).modules == {"seq": "encoder_q", "stg": "encoder_r"}


def test_cli_import_then_eval_and_report(seq_stg, tiny_data, tmp_path, capsys):
    """The imported run goes through `eval knn` on tiny data; eval and report say imported."""
    path, _ = seq_stg
    run = tmp_path / "run"
    argv = ["import-weights", str(path), "--from", "skeleton-contrast", "--out", str(run)]
    assert main([*argv, "--dataset", "ntu60", "--benchmark", "xview"]) == 0
    out = capsys.readouterr().out
    assert "imported seq (their encoder_q), stg (their encoder_r)" in out and "451 epochs" in out
    assert main([*argv, "--dataset", "ntu60"]) == 2
    assert "already exists" in capsys.readouterr().err
    ev = tmp_path / "knn"
    rc = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(run),
            "--representation",
            "seq",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(ev),
            "--quiet",
        ]
    )
    assert rc == 0
    line = capsys.readouterr().out
    assert "(imported: the authors' weights (skeleton-contrast, ckpt.pth.tar))" in line
    rec = json.loads((ev / "metrics.json").read_text())
    assert rec["imported"]["sha256"] == load_checkpoint(run)["imported"]["sha256"]
    assert main(["report", str(ev), "--out", str(tmp_path / "report.md")]) == 0
    report = (tmp_path / "report.md").read_text()
    assert (
        "imported: the authors' weights (skeleton-contrast, ckpt.pth.tar), inter SEQ↔STG" in report
    )
