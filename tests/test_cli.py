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
    rc = main(["pretrain", "--data", str(tiny_data), "--benchmark", "default", "--out", str(out),
               "--epochs", "1", "--quiet", *_sets(TINY_PRETRAIN)])  # fmt: skip
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
    rc = main(["eval", "knn", "--checkpoint", str(run_dir), "--representation", "seq", "--data",
               str(tiny_data), "--benchmark", "default", "--out", str(tmp_path / "k"), "--quiet"])  # fmt: skip
    assert rc == 0
    rec = json.loads((tmp_path / "k" / "metrics.json").read_text())
    assert rec["protocol"] == "knn" and rec["num_test"] == 12
    _check_metrics(rec)
    rc = main(["eval", "linear", "--checkpoint", str(run_dir), "--representation", "stg", "--data",
               str(tiny_data), "--benchmark", "default", "--out", str(tmp_path / "l"), "--epochs", "1",
               "--quiet", "--device", "cpu"])  # fmt: skip
    assert rc == 0
    assert "top-1" in capsys.readouterr().out
    _check_metrics(json.loads((tmp_path / "l" / "metrics.json").read_text()))
    png = tmp_path / "cm.png"
    assert main(["plot", "confusion", str(tmp_path / "l"), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def _check_metrics(rec: dict) -> None:
    """linear / knn metrics.json: top1 as before, plus top-5, per-class accuracy with the
    dataset's class names, mean class accuracy and the confusion matrix."""
    assert {"top1", "top5", "mean_class_accuracy", "classes", "per_class_accuracy",
            "per_class_count", "confusion_matrix"} <= set(rec)  # fmt: skip
    cm = np.asarray(rec["confusion_matrix"])
    assert rec["classes"] == ["c0", "c1", "c2"] and cm.shape == (3, 3)
    assert cm.sum() == rec["num_test"] and cm.sum(1).tolist() == rec["per_class_count"]
    assert np.trace(cm) / cm.sum() * 100 == pytest.approx(rec["top1"])
    assert rec["top5"] == 100.0  # 3 classes
    present = [a for a in rec["per_class_accuracy"] if a is not None]
    assert rec["mean_class_accuracy"] == pytest.approx(sum(present) / len(present))


def test_resume_via_cli(run_dir, tiny_data, capsys):
    rc = main(["pretrain", "--data", str(tiny_data), "--benchmark", "default", "--out", str(run_dir),
               "--resume", "--epochs", "2", "--quiet"])  # fmt: skip
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
    rc = main(["pretrain", "--data", str(tiny_data), "--benchmark", "default", "--out",
               str(tmp_path / "r"), "--set", override])  # fmt: skip
    assert rc == 2
    _one_line_error(capsys, *needles)


def test_bad_yaml_key(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("optim:\n  learning_rate: 0.1\n")
    rc = main(["pretrain", "--data", str(tiny_data), "--benchmark", "default", "--out",
               str(tmp_path / "r"), "--config", str(cfg)])  # fmt: skip
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
    rc = main(["eval", "knn", "--checkpoint", str(run_dir), "--representation", "seq", "--data",
               str(other), "--benchmark", "default", "--out", str(tmp_path / "k")])  # fmt: skip
    assert rc == 2
    _one_line_error(capsys, "joints (25 vs 20)", "layout (ntu25 vs kinect20)")


def test_checkpoint_of_another_representation(run_dir, tiny_data, tmp_path, capsys):
    rc = main(["eval", "linear", "--checkpoint", str(run_dir), "--representation", "img", "--data",
               str(tiny_data), "--benchmark", "default", "--out", str(tmp_path / "l")])  # fmt: skip
    assert rc == 2
    _one_line_error(capsys, "'img'", "seq, stg")


def test_not_a_checkpoint(tiny_data, tmp_path, capsys):
    bogus = tmp_path / "x.pt"
    bogus.write_bytes(b"not a checkpoint")
    rc = main(["eval", "knn", "--checkpoint", str(bogus), "--representation", "seq", "--data",
               str(tiny_data), "--benchmark", "default", "--out", str(tmp_path / "k")])  # fmt: skip
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
    rc = main(["pretrain", "--data", str(tiny_data), "--benchmark", "default",
               "--out", str(tmp_path / "r"), flag, value])  # fmt: skip
    assert rc == 0 and seen == [["seq", "stg"]]


@pytest.mark.parametrize("value", ["seq+stg", "seq,stg"])
def test_eval_takes_both_representation_syntaxes(run_dir, tiny_data, tmp_path, value):
    rc = main(["eval", "knn", "--checkpoint", str(run_dir), "--representation", value, "--data",
               str(tiny_data), "--benchmark", "default", "--out", str(tmp_path / "k"), "--quiet"])  # fmt: skip
    assert rc == 0
    assert json.loads((tmp_path / "k" / "metrics.json").read_text())["representation"] == "seq+stg"


def test_bad_representation_is_one_line(run_dir, tiny_data, tmp_path, capsys):
    rc = main(["eval", "knn", "--checkpoint", str(run_dir), "--representation", "seq;stg",
               "--data", str(tiny_data), "--benchmark", "default", "--out", str(tmp_path / "k")])  # fmt: skip
    assert rc == 2
    _one_line_error(capsys, "'seq;stg'", "joined with '+' or ','")


def _prepare_commands() -> dict[str, list[str]]:
    """Every ``skelcon prepare`` subcommand with its other required arguments (inputs that
    do not exist: the --out check must come first)."""
    from skelcon.cli import build_parser

    parser = build_parser()
    prep = parser._subparsers._group_actions[0].choices["prepare"]
    names = prep._subparsers._group_actions[0].choices
    extra = {"pku-mmd1": ["--labels", "nolabels"], "pku-mmd2": ["--labels", "nolabels"],
             "folder": ["--layout", "coco17"]}  # fmt: skip
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
    argv = ["prepare", "synthetic", "--out", str(out), "--per-class", "2", "--frames", "16",
            "--classes", "wave,punch"]  # fmt: skip
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
    base = ["eval", "knn", "--checkpoint", str(run_dir), "--representation", "seq", "--data",
            str(tiny_data), "--random-init", "--quiet"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a"), "--seed", "3", "--batch-size", "7"]) == 0
    rec = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert rec["random_init"] and rec["config"]["batch_size"] == 7


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "skelcon", "configs"], capture_output=True, text=True)
    assert r.returncode == 0 and "cpu_small" in r.stdout
    r = subprocess.run([sys.executable, "-m", "skelcon", "pretrain", "--data", "/nonexistent",
                        "--out", "/tmp/x"], capture_output=True, text=True)  # fmt: skip
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
