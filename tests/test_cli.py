"""The command line: bad input gets one line on stderr and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN

from skelcon.cli import main


def _sets(items):
    out = []
    for it in items:
        out += ["--set", it]
    return out


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    rc = main(
        [
            "pretrain",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(out),
            "--epochs",
            "1",
            "--quiet",
            *_sets(TINY_PRETRAIN),
        ]
    )
    assert rc == 0
    return out


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("skelcon: error:"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


def test_pretrain_then_eval_end_to_end(run_dir, tiny_data, tmp_path, capsys):
    assert (run_dir / "last.pt").exists()
    rc = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "seq",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "k"),
            "--quiet",
        ]
    )
    assert rc == 0
    rec = json.loads((tmp_path / "k" / "metrics.json").read_text())
    assert rec["protocol"] == "knn" and rec["num_test"] == 12
    _check_metrics(rec)
    rc = main(
        [
            "eval",
            "linear",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "stg",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "l"),
            "--epochs",
            "1",
            "--quiet",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    assert "top-1" in capsys.readouterr().out
    _check_metrics(json.loads((tmp_path / "l" / "metrics.json").read_text()))
    # both wrote their per-sample scores: fuse them (equal weights, both joint stream)
    assert np.load(tmp_path / "k" / "scores.npy").shape == (12, 3)
    ens = tmp_path / "ens"
    assert main(["ensemble", str(tmp_path / "k"), str(tmp_path / "l"), "--out", str(ens)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("ensemble of 2 (joint 1, joint 1) knn+linear seq+stg on tiny/default")
    _check_metrics(json.loads((ens / "metrics.json").read_text()))
    assert main(["ensemble", str(tmp_path / "k"), "--out", str(ens)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 2 evaluation directories, got 1" in err
    png = tmp_path / "cm.png"
    assert main(["plot", "confusion", str(tmp_path / "l"), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def _check_metrics(rec: dict) -> None:
    """linear / knn metrics.json: top1 as before, plus top-5, per-class accuracy with the
    dataset's class names, mean class accuracy and the confusion matrix."""
    assert {
        "top1",
        "top5",
        "mean_class_accuracy",
        "classes",
        "per_class_accuracy",
        "per_class_count",
        "confusion_matrix",
    } <= set(rec)
    cm = np.asarray(rec["confusion_matrix"])
    assert rec["classes"] == ["c0", "c1", "c2"] and cm.shape == (3, 3)
    assert cm.sum() == rec["num_test"] and cm.sum(1).tolist() == rec["per_class_count"]
    assert np.trace(cm) / cm.sum() * 100 == pytest.approx(rec["top1"])
    assert rec["top5"] == 100.0  # 3 classes
    present = [a for a in rec["per_class_accuracy"] if a is not None]
    assert rec["mean_class_accuracy"] == pytest.approx(sum(present) / len(present))


def test_resume_via_cli(run_dir, tiny_data, capsys):
    rc = main(
        [
            "pretrain",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(run_dir),
            "--resume",
            "--epochs",
            "2",
            "--quiet",
        ]
    )
    assert rc == 0
    import torch

    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 2


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("optim.lrr=0.1", ["'optim.lrr'", "lr, momentum"]),
        ("epoch=3", ["'epoch'", "epochs"]),
        ("epochs=many", ["'epochs'", "int", "'many'"]),
        ("preset=huge", ["'huge'", "paper, small"]),
        ("representations=[seq, rgb]", ["rgb", "seq, img, stg"]),
    ],
)
def test_bad_config(tiny_data, tmp_path, capsys, override, needles):
    rc = main(
        [
            "pretrain",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "r"),
            "--set",
            override,
        ]
    )
    assert rc == 2
    _one_line_error(capsys, *needles)


def test_bad_yaml_key(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("optim:\n  learning_rate: 0.1\n")
    rc = main(
        [
            "pretrain",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "r"),
            "--config",
            str(cfg),
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "optim.learning_rate", "valid keys")


def test_missing_data_dir(tmp_path, capsys):
    rc = main(
        [
            "pretrain",
            "--data",
            str(tmp_path / "nope"),
            "--benchmark",
            "x",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "does not exist")


def test_unknown_benchmark(tiny_data, tmp_path, capsys):
    rc = main(
        ["pretrain", "--data", str(tiny_data), "--benchmark", "xsub", "--out", str(tmp_path / "r")]
    )
    assert rc == 2
    _one_line_error(capsys, "'xsub'", "default")


def test_wrong_shape_data(tiny_data, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_data, bad)
    np.save(bad / "data.npy", np.zeros((48, 3, 24, 25), np.float32))
    rc = main(
        ["pretrain", "--data", str(bad), "--benchmark", "default", "--out", str(tmp_path / "r")]
    )
    assert rc == 2
    _one_line_error(capsys, "shape", "(N, C, T, V, M)")


def test_data_that_does_not_fit_the_encoder(run_dir, tmp_path, capsys):
    from tinydata import make_tiny_prepared

    other = make_tiny_prepared(tmp_path / "kinect", layout="kinect20", persons=1, n=12)
    rc = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "seq",
            "--data",
            str(other),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "k"),
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "joints (25 vs 20)", "layout (ntu25 vs kinect20)")


def test_checkpoint_of_another_representation(run_dir, tiny_data, tmp_path, capsys):
    rc = main(
        [
            "eval",
            "linear",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "img",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "l"),
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "'img'", "seq, stg")


def test_not_a_checkpoint(tiny_data, tmp_path, capsys):
    bogus = tmp_path / "x.pt"
    bogus.write_bytes(b"not a checkpoint")
    rc = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(bogus),
            "--representation",
            "seq",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "k"),
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "cannot load checkpoint")


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["pretrain", "--data"])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


@pytest.mark.parametrize("flag", ["--representations", "--representation"])
@pytest.mark.parametrize("value", ["seq+stg", "seq,stg"])
def test_pretrain_takes_both_representation_syntaxes(monkeypatch, tiny_data, tmp_path, flag, value):
    import skelcon.engine.pretrain as engine

    seen = []

    def fake(cfg, *a, **kw):
        cfg.validate()
        seen.append(cfg.representations)

    monkeypatch.setattr(engine, "pretrain", fake)
    rc = main(
        [
            "pretrain",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "r"),
            flag,
            value,
        ]
    )
    assert rc == 0 and seen == [["seq", "stg"]]


@pytest.mark.parametrize("value", ["seq+stg", "seq,stg"])
def test_eval_takes_both_representation_syntaxes(run_dir, tiny_data, tmp_path, value):
    rc = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(run_dir),
            "--representation",
            value,
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "k"),
            "--quiet",
        ]
    )
    assert rc == 0
    assert json.loads((tmp_path / "k" / "metrics.json").read_text())["representation"] == "seq+stg"


def test_bad_representation_is_one_line(run_dir, tiny_data, tmp_path, capsys):
    rc = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(run_dir),
            "--representation",
            "seq;stg",
            "--data",
            str(tiny_data),
            "--benchmark",
            "default",
            "--out",
            str(tmp_path / "k"),
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "'seq;stg'", "joined with '+' or ','")


def _prepare_commands() -> dict[str, list[str]]:
    """Every ``skelcon prepare`` subcommand with its other required arguments (inputs that
    do not exist: the --out check must come first)."""
    from skelcon.cli import build_parser

    parser = build_parser()
    prep = parser._subparsers._group_actions[0].choices["prepare"]
    names = prep._subparsers._group_actions[0].choices
    extra = {
        "pku-mmd1": ["--labels", "nolabels"],
        "pku-mmd2": ["--labels", "nolabels"],
        "folder": ["--layout", "coco17"],
    }
    return {n: (["--raw", "noraw"] if n != "synthetic" else []) + extra.get(n, []) for n in names}


@pytest.mark.parametrize("dataset", sorted(_prepare_commands()))
def test_prepare_refuses_a_non_empty_out(dataset, tmp_path, capsys):
    out = tmp_path / "prepared"
    out.mkdir()
    (out / "meta.json").write_text("{}")
    rc = main(["prepare", dataset, *_prepare_commands()[dataset], "--out", str(out)])
    assert rc == 2
    _one_line_error(capsys, str(out), "--overwrite")
    assert [p.name for p in out.iterdir()] == ["meta.json"]
    assert (out / "meta.json").read_text() == "{}"


def test_prepare_overwrite_and_empty_out(tmp_path, capsys):
    out = tmp_path / "syn"
    out.mkdir()  # an empty directory is fine
    argv = [
        "prepare",
        "synthetic",
        "--out",
        str(out),
        "--per-class",
        "2",
        "--frames",
        "16",
        "--classes",
        "wave,punch",
    ]
    assert main(argv) == 0
    assert main(argv) == 2
    _one_line_error(capsys, "--overwrite")
    assert main([*argv, "--overwrite", "--seed", "3"]) == 0
    assert json.loads((out / "meta.json").read_text())["generator"]["seed"] == 3


def test_prepare_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "f"
    f.write_text("x")
    assert main(["prepare", "synthetic", "--out", str(f), "--overwrite"]) == 2
    _one_line_error(capsys, "is a file")


def _all_parsers():
    import argparse

    from skelcon.cli import build_parser

    todo = [("skelcon", build_parser())]
    while todo:
        path, p = todo.pop()
        yield path, p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                todo += [(f"{path} {n}", sp) for n, sp in a.choices.items()]


def test_help_has_no_raw_markup():
    import re

    seen = 0
    for path, p in _all_parsers():
        text = p.format_help()
        assert not re.search(r"``|:class:|:mod:|:func:|:meth:", text), (path, text)
        seen += 1
    assert seen > 20
    top = dict(_all_parsers())["skelcon"].format_help()
    assert "inter-skeleton contrastive learning" in top and "skelcon configs" in top
    assert "\n  skelcon prepare synthetic --out data/synthetic\n" in top  # epilog kept as written


def test_version_has_one_source(capsys):
    import tomllib

    import skelcon

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"skelcon {skelcon.__version__}"
    # pyproject.toml reads skelcon.__version__ (no second number to forget)
    toml = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert toml["project"]["dynamic"] == ["version"] and "version" not in toml["project"]
    assert toml["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "skelcon.__version__"}
    assert skelcon.__version__ != "0.1.0"  # this version's checkpoints differ from 0.1.0's


def test_configs_says_what_each_recipe_is_for(capsys):
    from skelcon.cli import packaged_configs

    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == packaged_configs()
    for ln in lines:
        name, summary = ln.split(maxsplit=1)
        assert 20 < len(summary) <= 100 and not summary.startswith("#"), ln
    assert any("NTU RGB+D 60" in ln and ln.startswith("ntu60 ") for ln in lines)
    assert any("CPU" in ln and ln.startswith("cpu_small ") for ln in lines)


def test_shared_flags_have_the_same_defaults_everywhere():
    """--split defaults to test wherever a model embeds a split (plot augment: train, the
    split pre-training augments; plot skeleton: none, its --index counts over the whole
    dataset unless --benchmark/--split are given); --benchmark is never required; --device
    defaults to auto."""
    flags: dict[str, dict[str, object]] = {}
    for path, p in _all_parsers():
        for a in p._actions:
            # by the flag: plot skeleton's --benchmark has a dest of its own
            for flag in a.option_strings:
                name = flag.lstrip("-")
                if name in ("split", "benchmark", "device", "quiet"):
                    flags.setdefault(name, {})[path] = (a.required, a.default)
    assert flags["split"] == {
        "skelcon embed": (False, "test"),
        "skelcon plot tsne": (False, "test"),
        "skelcon plot retrieval": (False, "test"),
        "skelcon plot augment": (False, "train"),
        "skelcon plot skeleton": (False, None),
    }
    assert len(flags["benchmark"]) >= 11
    assert all(v == (False, None) for v in flags["benchmark"].values())
    # None: the config's device, whose default is auto; embed/plot have no config
    assert all(v in ((False, None), (False, "auto")) for v in flags["device"].values())
    assert set(flags["quiet"]) >= {f"skelcon eval {p}" for p in ("linear", "knn", "semi")}


def test_benchmark_defaults_to_the_only_one_else_one_line(tiny_data, tmp_path, capsys):
    from tinydata import make_tiny_prepared

    from skelcon.cli import resolve_benchmark

    assert resolve_benchmark(tiny_data, None) == "default"
    assert resolve_benchmark(tiny_data, "x") == "x"
    two = make_tiny_prepared(tmp_path / "two", n=12)
    meta = json.loads((two / "meta.json").read_text())
    (two / "splits" / "other").mkdir()
    meta["benchmarks"]["other"] = meta["benchmarks"]["default"]
    (two / "meta.json").write_text(json.dumps(meta))
    rc = main(["pretrain", "--data", str(two), "--out", str(tmp_path / "r")])
    assert rc == 2
    _one_line_error(capsys, "--benchmark is required", "default, other")


def test_knn_random_init_seed(run_dir, tiny_data, tmp_path):
    base = [
        "eval",
        "knn",
        "--checkpoint",
        str(run_dir),
        "--representation",
        "seq",
        "--data",
        str(tiny_data),
        "--random-init",
        "--quiet",
    ]
    assert main([*base, "--out", str(tmp_path / "a"), "--seed", "3", "--batch-size", "7"]) == 0
    rec = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert rec["random_init"] and rec["config"]["batch_size"] == 7


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "skelcon", "configs"], capture_output=True, text=True)
    assert r.returncode == 0 and "cpu_small" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "skelcon", "pretrain", "--data", "/nonexistent", "--out", "/tmp/x"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_prepare_out_must_be_a_new_or_prepared_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["prepare", "synthetic", "--per-class", "2", "--frames", "20"]
    for out in (".", "..", "sub/.."):
        assert main([*args, "--out", out, "--overwrite"]) == 2
        assert "current directory or above it" in capsys.readouterr().err
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    (run / "last.pt").write_bytes(b"a pre-training run")
    assert main([*args, "--out", str(run), "--overwrite"]) == 2
    assert "is not a prepared dataset (no meta.json)" in capsys.readouterr().err
    assert (run / "last.pt").read_bytes() == b"a pre-training run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # no partial left behind


def test_config_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch):
    from skelcon.cli import resolve_config_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ntu60").mkdir()  # a prepared dataset named like the recipe
    assert resolve_config_path("ntu60").name == "ntu60.yaml"
    assert resolve_config_path("ntu60").is_file()


# ---------------------------------------------------------------------------
# What a new user meets on the command line


HEAVY = ("torch", "matplotlib", "sklearn", "onnx", "onnxscript", "onnxruntime")


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["pretrain", "--help"],
        ["eval", "linear", "--help"],
        ["eval", "supervised", "--help"],
        ["export", "--help"],
        ["ensemble", "--help"],
        ["predict", "--help"],
        ["prepare", "folder", "--help"],
        ["extract", "--help"],
        ["plot", "--help"],
        ["configs"],
        ["sweep", "--help"],
        ["sweeps"],  # reads and checks every shipped sweep file
    ],
    ids=" ".join,
)
def test_help_and_version_import_no_torch(argv):
    """Building the parser imports no torch (nor matplotlib, sklearn, onnx): --version and
    --help answer at once (`python -X importtime` lists every module imported)."""
    import os
    import re
    import subprocess
    import sys

    import skelcon

    src = str(Path(skelcon.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "skelcon", *argv],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    imported = re.findall(r"^import time:\s*\d+ \|\s*\d+ \|\s*(\S+)$", r.stderr, re.M)
    assert "skelcon" in imported
    heavy = sorted({m for m in imported if m.split(".")[0] in HEAVY})
    assert not heavy, heavy[:5]
    if argv == ["--version"]:
        assert r.stdout == f"skelcon {skelcon.__version__}\n"
        assert "skelcon.cli" in imported and "skelcon.data" not in imported  # no subparsers
    else:
        assert r.stdout.strip()


def _help(*path: str) -> str:
    parsers = dict(_all_parsers())
    return " ".join(parsers[" ".join(("skelcon", *path))].format_help().split())


def test_eval_help_says_what_each_protocol_trains_by_default(monkeypatch):
    """Every protocol's --help states what it trains by default, generated from the
    config dataclasses (change a default: the help follows)."""
    from skelcon.config import FinetuneConfig, KnnConfig, LinearEvalConfig

    ft, lin, knn = FinetuneConfig(), LinearEvalConfig(), KnnConfig()
    n = len(ft.fractions) * ft.repeats
    assert n == 20  # the numbers the issue met: 4 fractions x 5 subsets
    for protocol in ("semi", "supervised"):
        text = _help("eval", protocol)
        assert f"By default: {n} models" in text
        assert "label fractions 1, 5, 10, 20 % x 5 random subsets each" in text
        assert f"{ft.epochs} epochs each" in text
        assert f"ratio ~ U[{ft.crop_min:g}, 1]" in text and "centre crop" in text
        assert "(default: the config's, 0.01,0.05,0.1,0.2)" in text
        assert f"(default: the config's, {ft.repeats})" in text
    listing = _help("eval")  # `skelcon eval --help`: the count beside each protocol
    assert "the labels (by default 20 models)" in listing
    assert "random initialisation (by default 20 models)" in listing
    assert "on all labels (by default 1 model)" in listing
    for protocol in ("finetune", "transfer"):
        text = _help("eval", protocol)
        assert "By default: 1 model (encoder + classifier) on 100 % of the labels" in text
        assert f"{ft.epochs} epochs," in text and "(default: the config's, 1)" in text
    text = _help("eval", "linear")
    assert "By default: 1 linear classifier on the frozen encoder's features" in text
    assert f"{lin.epochs} epochs, batch {lin.batch_size}" in text
    assert f"ratio ~ U[{lin.crop_min:g}, 1]" in text
    assert f"k={knn.k} nearest neighbour ({knn.similarity})" in _help("eval", "knn")
    # one source: the help is generated from the defaults
    import dataclasses

    import skelcon.cli.eval as eval_cli
    import skelcon.config as config

    @dataclasses.dataclass
    class Nine(LinearEvalConfig):
        epochs: int = 9

    monkeypatch.setitem(config.FINETUNE_PROTOCOL_DEFAULTS, "semi", {"repeats": 2, "epochs": 7})
    monkeypatch.setattr(eval_cli, "LinearEvalConfig", Nine)
    assert "By default: 8 models" in _help("eval", "semi")
    assert "7 epochs each" in _help("eval", "semi")
    assert "9 epochs, batch" in _help("eval", "linear")


def _fake_finetune(capsys, seen):
    def fake(protocol, *args, **kwargs):
        seen.append(capsys.readouterr().out)  # what was printed before any work
        return {
            "protocol": protocol,
            "representation": "seq",
            "random_init": True,
            "dataset": "tiny",
            "benchmark": "default",
            "results": [],
            "num_test": 0,
        }

    return fake


def test_every_eval_says_at_its_start_what_it_will_do(
    run_dir, tiny_data, tmp_path, monkeypatch, capsys
):
    import skelcon.eval.run as run

    seen: list[str] = []
    monkeypatch.setattr(run, "run_finetune", _fake_finetune(capsys, seen))
    common = ["--representation", "seq", "--data", str(tiny_data), "--out", str(tmp_path / "o")]
    assert main(["eval", "supervised", "--preset", "small", *common]) == 0
    assert seen[-1].splitlines() == [
        "skelcon: eval supervised: 20 models (encoder + classifier; label fractions 1, 5, 10, "
        "20 % x 5 random subsets each), 50 epochs each, batch 64, Adam lr 0.0001 (x0.1 at "
        "epochs 30, 40); training: random crop-resize (ratio ~ U[0.5, 1]); test: centre crop, "
        "final epoch; --fractions/--repeats/--epochs (or --config/--set) change it"
    ]
    ck = ["--checkpoint", str(run_dir)]
    assert main(["eval", "finetune", *ck, *common]) == 0
    assert seen[-1].startswith(
        "skelcon: eval finetune: 1 model (encoder + classifier) on 100 % "
        "of the labels, 50 epochs, batch 64"
    )
    assert (
        main(
            [
                "eval",
                "semi",
                *ck,
                *common,
                "--fractions",
                "0.5,1",
                "--repeats",
                "2",
                "--epochs",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert seen[-1].startswith(
        "skelcon: eval semi: 4 models (encoder + classifier; label fractions 50, 100 % x 2 "
        "random subsets each), 1 epoch each,"
    )
    # a bad value is still the one line, with no plan said before it
    assert main(["eval", "semi", *ck, *common, "--fractions", "0.5,2"]) == 2
    said = capsys.readouterr()
    assert said.out == "" and said.err.count("\n") == 1, said
    assert said.err.startswith("skelcon: error: fraction 2.0 is not valid"), said.err

    def fake_frozen(*args, **kwargs):
        seen.append(capsys.readouterr().out)
        return {
            "protocol": "x",
            "representation": "seq",
            "random_init": False,
            "dataset": "t",
            "benchmark": "default",
            "top1": 0.0,
            "num_train": 1,
            "num_test": 1,
        }

    monkeypatch.setattr(run, "run_linear", fake_frozen)
    monkeypatch.setattr(run, "run_knn", fake_frozen)
    assert main(["eval", "linear", *ck, *common, "--epochs", "3"]) == 0
    assert seen[-1].startswith(
        "skelcon: eval linear: 1 linear classifier on the frozen "
        "encoder's features, 3 epochs, batch 64, SGD lr 0.1"
    )
    capsys.readouterr()  # linear's result line
    assert main(["eval", "knn", *ck, *common, "--k", "3"]) == 0
    assert seen[-1].startswith(
        "skelcon: eval knn: no training; each test clip gets the label "
        "of its k=3 nearest neighbours (cosine)"
    )


def test_resume_without_a_checkpoint_says_to_run_without_resume(tiny_data, tmp_path, capsys):
    out = tmp_path / "never-started"
    rc = main(["pretrain", "--data", str(tiny_data), "--out", str(out), "--resume"])
    assert rc == 2
    err = _one_line_error(capsys, f"{out} has no last.pt to resume", "run without --resume")
    assert "another --out" not in err


def test_yaml_syntax_errors_name_file_line_and_column(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: 3\n  batch_size: 2\n")
    rc = main(
        ["pretrain", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--config", str(cfg)]
    )
    assert rc == 2
    _one_line_error(
        capsys, f"config file {cfg}:2:13 is not valid YAML: mapping values are not allowed here"
    )
    from skelcon.examples import write_folder

    raw = write_folder(tmp_path / "clips", num_classes=2, per_class=2)
    rig = tmp_path / "my_rig.yaml"
    rig.write_text("name: rig\njoints: [a, b\nbones: []\n")
    rc = main(
        ["prepare", "folder", "--raw", str(raw), "--layout", str(rig), "--out", str(tmp_path / "d")]
    )
    assert rc == 2
    _one_line_error(
        capsys,
        f"layout file {rig}:3:6 is not valid YAML: expected ',' or ']', "
        "but got ':' (while parsing a flow sequence from 2:9)",
    )


def test_pyproject_license_is_an_spdx_expression():
    """No setuptools deprecation block on `pip install`: an SPDX `license` string and
    `license-files` (setuptools >= 77), with the LICENSE file itself."""
    import tomllib

    root = Path(__file__).parents[1]
    toml = tomllib.loads((root / "pyproject.toml").read_text())
    assert toml["project"]["license"] == "MIT"
    assert toml["project"]["license-files"] == ["LICENSE"]
    assert toml["build-system"]["requires"] == ["setuptools>=77"]
    text = (root / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) the skelcon authors" in text


# Library errors name parameters, the command line names flags


def test_library_errors_name_parameters_the_cli_names_flags(tmp_path, capsys):
    from skelcon.cli.common import error_line
    from skelcon.data.ucla import prepare_ucla
    from skelcon.errors import SkelconError

    raw = tmp_path / "raw"
    with pytest.raises(SkelconError, match=r"^raw '.*' is not a directory$") as e:
        prepare_ucla(raw, tmp_path / "out")
    assert e.value.param == "raw"
    assert error_line(e.value).startswith("--raw '") and "/raw'" in error_line(e.value)
    rc = main(["prepare", "nw-ucla", "--raw", str(raw), "--out", str(tmp_path / "o")])
    assert rc == 2
    _one_line_error(capsys, f"--raw {str(raw)!r} is not a directory")
    raw.mkdir()
    rc = main(
        ["prepare", "nw-ucla", "--raw", str(raw), "--out", str(tmp_path / "o"), "--max-frames", "0"]
    )
    assert rc == 2
    _one_line_error(capsys, "--max-frames must be at least 1, got 0")
    # a command whose flag is named otherwise maps it; other words stay
    err = SkelconError("max_frames must be at least 16 (max_frames_x stays)", param="max_frames")
    assert error_line(err, {"max_frames": "--frames"}) == (
        "--frames must be at least 16 (max_frames_x stays)"
    )
    assert error_line(SkelconError("no parameter")) == "no parameter"


def test_predict_help_names_every_input_and_the_video_step():
    text = _help("predict")
    for needle in (
        "--model EVAL_DIR",
        "--input PATH",
        "--top-k",
        "--which",
        "--strict",
        "annotations.pkl",
        "Kinetics-skeleton",
        "`skelcon extract`",
        "--backend",
        "--keypoints DIR",
        "predictions.json",
    ):
        assert needle in text, needle
    assert "predict" in _help()


def test_extract_mistakes_are_one_line_before_any_video_is_read(tmp_path, monkeypatch, capsys):
    """`skelcon extract`: a missing video, a missing extract environment, backend options
    that do not fit; `plot skeleton` without what to draw."""
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    out = str(tmp_path / "clips")
    assert main(["extract", str(tmp_path / "none.mp4"), "--out", out]) == 2
    _one_line_error(capsys, "none.mp4' does not exist")
    monkeypatch.setenv("SKELCON_EXTRACT_PYTHON", str(tmp_path / "nowhere" / "python"))
    assert main(["extract", str(video), "--out", out]) == 2
    _one_line_error(capsys, "SKELCON_EXTRACT_PYTHON=", "make extract-env")
    assert main(["extract", str(video), "--out", out, "--max-people", "3"]) == 2
    _one_line_error(capsys, "--max-people 3: MediaPipe Pose finds one person a frame")
    assert main(["extract", str(video), "--out", out, "--backend", "rtmpose"]) == 2
    _one_line_error(capsys, "--backend rtmpose needs --pose-model")
    assert not (tmp_path / "clips").exists()
    assert main(["plot", "skeleton", "--out", str(tmp_path / "f.png")]) == 2
    _one_line_error(capsys, "needs --data DIR (a prepared dataset) or --clip CLIP.json")
    assert main(["plot", "skeleton", "--video", str(video), "--out", str(tmp_path / "f.png")]) == 2
    _one_line_error(capsys, "give it with --clip CLIP.json")
