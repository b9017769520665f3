"""Checkpoints are validated when opened (a checkpoint of another skelcon version):
required entries (naming the skelcon version that wrote the file), state-dict
mismatches naming the keys and sizes, DDP ``module.`` keys read as the same weights."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tinydata import TINY_PRETRAIN

from skelcon.cli import main, package_version
from skelcon.config import PretrainConfig, load_config
from skelcon.engine.checkpoint import load_checkpoint, state_dict_mismatch
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.encoder import load_encoder

CASE = "s3/12-checkpoint-other-version"


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory) -> Path:
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    return pretrain(
        cfg, tiny_data, "default", tmp_path_factory.mktemp("ck") / "run", progress=False
    )


@pytest.fixture(scope="module")
def edited(shared_cases: Path, run_dir: Path) -> Path:
    """The case's make.py: last.pt as other versions and tools write it."""
    subprocess.run(
        [sys.executable, str(shared_cases / CASE / "make.py")], cwd=run_dir.parent, check=True
    )
    return run_dir.parent


def _one_line(fn) -> str:
    with pytest.raises(SkelconError) as e:
        fn()
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_new_checkpoints_record_the_version(run_dir):
    ck = torch.load(run_dir / "last.pt", weights_only=True)
    assert ck["skelcon_version"] == package_version()


@pytest.mark.parametrize("entry", ["data", "representations"])
def test_missing_entry_named_with_the_writer(edited, entry, tiny_data, capsys):
    name = {"data": "no_data_spec.pt", "representations": "no_representations.pt"}[entry]
    msg = _one_line(lambda: load_encoder(edited / name, "seq"))
    assert f"has no '{entry}' entry" in msg
    # make.py edits a run of this version: no "pre-train again with this skelcon" advice
    assert f"(written by skelcon {package_version()}, this version); this version writes " in msg
    assert "so the file was edited since: use an intact copy" in msg
    # the CLI: eval and export say the same in one line
    for argv in (
        [
            "eval",
            "knn",
            "--checkpoint",
            str(edited / name),
            "--representation",
            "seq",
            "--data",
            str(tiny_data),
            "--out",
            str(edited / "ev"),
            "--quiet",
        ],
        [
            "export",
            "--checkpoint",
            str(edited / name),
            "--representation",
            "seq",
            "--format",
            "torchscript",
            "--out",
            str(edited / "x.pt"),
        ],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"has no '{entry}' entry" in err and err.count("\n") == 1


def test_version_named_when_recorded(run_dir, tmp_path):
    ck = torch.load(run_dir / "last.pt", weights_only=True)
    del ck["skelcon_version"], ck["data"]
    torch.save(ck, tmp_path / "old.pt")
    msg = _one_line(lambda: load_checkpoint(tmp_path / "old.pt"))
    assert "did not record its version (0.1.0 or older)" in msg
    ck = torch.load(run_dir / "last.pt", weights_only=True)
    ck["skelcon_version"] = "9.9.9"
    del ck["rng"]
    torch.save(ck, tmp_path / "x.pt")
    load_checkpoint(tmp_path / "x.pt")  # an encoder needs no RNG state
    from skelcon.engine.checkpoint import RESUME_ENTRIES

    msg = _one_line(lambda: load_checkpoint(tmp_path / "x.pt", require=RESUME_ENTRIES))
    assert "has no 'rng' entry (written by skelcon 9.9.9); pre-train again with this " in msg
    assert f"this skelcon ({package_version()}) to get a complete checkpoint" in msg
    ck["skelcon_version"] = "0.1.0"  # the version before this one: told apart from it
    torch.save(ck, tmp_path / "x.pt")
    msg = _one_line(lambda: load_checkpoint(tmp_path / "x.pt", require=RESUME_ENTRIES))
    assert "(written by skelcon 0.1.0); pre-train again with this skelcon (" in msg
    assert "this version" not in msg.split(";")[0]


def test_preset_mismatch_names_keys_and_sizes(edited):
    msg = _one_line(lambda: load_encoder(edited / "preset_paper.pt", "seq"))
    assert "does not fit the seq encoder (preset 'paper')" in msg
    assert "keys differ in size (gru.weight_ih_l0: checkpoint (" in msg
    assert "missing (gru.weight_ih_l2" in msg  # the paper preset has more GRU layers


def test_ddp_module_prefix_is_the_same_weights(edited, run_dir):
    a = load_encoder(edited / "module_prefix.pt", "seq").encoder.state_dict()
    b = load_encoder(run_dir, "seq").encoder.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_other_repository_checkpoint(edited):
    msg = _one_line(lambda: load_checkpoint(edited / "moco_other_repo.pth.tar"))
    assert "is not a skelcon checkpoint" in msg and "it holds: epoch, arch, state_dict" in msg


def _nan_weight(ck):
    name = next(k for k, v in ck["model"].items() if v.is_floating_point())
    ck["model"][name] = ck["model"][name].clone().fill_(float("nan"))


@pytest.mark.parametrize(
    ("edit", "want"),
    [
        (lambda c: c["data"].pop("num_joints"), "data spec has no num_joints"),
        (lambda c: c["data"].update(in_channels=0), "in_channels is 0, not a positive integer"),
        (lambda c: c.update(representations="seq"), "'representations' is 'seq', not a list"),
        (lambda c: c.update(epoch=-1), "'epoch' is -1"),
        (lambda c: c["config"].pop("preset"), "its config has no 'preset'"),
        (lambda c: c.update(model={"a": 1}), "'model' entry holds values other than tensors"),
        (lambda c: c["config"].update(preset=["small"]), "preset ['small'] is not a preset name"),
        (lambda c: c["data"].update(num_joints=26), "num_joints=26 but layout 'ntu25' has 25"),
        (lambda c: c["data"].update(num_frames=10**9), "num_frames=1000000000 is beyond any"),
        (
            lambda c: c["data"].update(channels=["x"]),
            "data spec is inconsistent: channels: ['x'] is not",
        ),
        (_nan_weight, "non-finite values in model tensor query_encoders."),
    ],
)
def test_malformed_entries(run_dir, tmp_path, edit, want):
    ck = torch.load(run_dir / "last.pt", weights_only=True)
    edit(ck)
    torch.save(ck, tmp_path / "x.pt")
    assert want in _one_line(lambda: load_checkpoint(tmp_path / "x.pt"))


def test_resume_with_other_weights_names_keys(run_dir, tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    ck = torch.load(out / "last.pt", weights_only=True)
    ck["model"]["extra.weight"] = torch.zeros(2)
    torch.save(ck, out / "last.pt")
    rc = main(
        [
            "pretrain",
            "--data",
            str(tiny_data),
            "--out",
            str(out),
            "--resume",
            "--epochs",
            "2",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "does not fit the model of this run: 1 unexpected (extra.weight)" in err


def test_mismatch_lists_first_three_and_counts():
    want = {f"k{i}": torch.zeros(2) for i in range(5)}
    have = {**{f"k{i}": torch.zeros(3) for i in range(4)}, "z": torch.zeros(1)}
    msg = state_dict_mismatch(want, have)
    assert msg.startswith("4 keys differ in size (k0: checkpoint (3,) vs model (2,), k1")
    assert ", ...); 1 missing (k4); 1 unexpected (z)" in msg
    assert state_dict_mismatch(want, dict(want)) == ""
