"""A failed ``prepare`` leaves nothing behind: no ``.partial`` with a pre-allocated
``data.npy``, no ``.lock``; a duplicate sample is named before any parsing."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data import kinetics, pipeline
from skelcon.data.imports import prepare_import_npy
from skelcon.data.prepared import PreparedWriter, read_meta
from skelcon.errors import DataFormatError
from skelcon.examples import write_kinetics


def _npy(d: Path, n: int = 6) -> Path:
    rng = np.random.default_rng(0)
    d.mkdir(parents=True)
    np.save(d / "train_data_joint.npy", rng.normal(size=(n, 3, 10, 25, 1)).astype(np.float32))
    frames = np.full(n, 10)
    frames[3] = 99  # a bad sample mid-way
    np.save(d / "train_num_frame.npy", frames)
    (d / "train_label.pkl").write_bytes(pickle.dumps(([f"s{i}" for i in range(n)], [0] * n)))
    return d


def _pyskl(path: Path) -> Path:
    rng = np.random.default_rng(1)
    anns = [
        {
            "frame_dir": f"v{i}",
            "label": 0,
            "total_frames": 8,
            "keypoint": rng.normal(size=(1, 8, 25, 3)).astype(np.float32),
        }
        for i in range(5)
    ]
    anns[2]["total_frames"] = 9  # a bad annotation mid-way
    path.write_bytes(pickle.dumps({"split": {}, "annotations": anns}))
    return path


def _left(parent: Path, *keep: str) -> list[str]:
    return sorted(set(os.listdir(parent)) - set(keep))


def test_handed_kinetics_duplicate_named_before_parsing(
    shared_cases, tmp_path, capsys, monkeypatch
):
    raw = tmp_path / "raw"
    shutil.copytree(shared_cases / "s3" / "03-kinetics-same-id-in-train-and-val" / "raw", raw)
    parsed = []
    monkeypatch.setattr(kinetics, "prepare_clip", lambda t: parsed.append(t) or 1 / 0)
    monkeypatch.chdir(tmp_path)
    assert main(["prepare", "kinetics-skeleton", "--raw", "raw", "--out", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "skelcon: error: --raw 'raw': video id 'v0' names two clips, raw/kinetics_train/v0.json "
        "and raw/kinetics_val/v0.json (4 shared ids in all); a video id must name one clip "
        "(remove or rename one); nothing was written"
    ]
    assert parsed == []  # refused before any clip was read
    assert _left(tmp_path, "raw") == []  # no .out.partial, no .out.lock


@pytest.mark.parametrize("command", ["import-npy", "import-pyskl", "kinetics-skeleton"])
def test_strict_failure_mid_way_leaves_nothing(command, tmp_path, capsys):
    if command == "import-npy":
        raw = _npy(tmp_path / "raw")
    elif command == "import-pyskl":
        raw = _pyskl(tmp_path / "raw.pkl")
    else:
        raw = write_kinetics(tmp_path / "raw", num_classes=2, per_class=3)
        (raw / "kinetics_train" / "vid00001.json").write_text('{"data": 3}')
    out = tmp_path / "out"
    assert main(["prepare", command, "--raw", str(raw), "--out", str(out), "--strict"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("skelcon: error: ")
    assert _left(tmp_path, raw.name) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, DataFormatError])
def test_interrupt_or_error_while_writing_leaves_nothing_and_keeps_an_old_dataset(
    exc, tmp_path, monkeypatch, capsys
):
    raw = _npy(tmp_path / "raw")
    np.save(raw / "train_num_frame.npy", np.full(6, 10))
    out = tmp_path / "out"
    assert main(["prepare", "import-npy", "--raw", str(raw), "--out", str(out)]) == 0
    assert _left(tmp_path, "raw") == ["out"]  # a success leaves no .lock either
    real_add = PreparedWriter.add

    def add(self, *a, **k):
        if len(self) == 2:
            raise exc("stop") if exc is KeyboardInterrupt else exc("disk on fire", "x")
        return real_add(self, *a, **k)

    monkeypatch.setattr(PreparedWriter, "add", add)
    rc = main(["prepare", "import-npy", "--raw", str(raw), "--out", str(out), "--overwrite"])
    assert rc == (130 if exc is KeyboardInterrupt else 2)
    assert _left(tmp_path, "raw") == ["out"]  # no .out.partial, no .out.lock
    assert read_meta(out)["counts"]["samples"] == 6  # the previous dataset is intact


def test_python_callers_get_the_same_cleanup(tmp_path, monkeypatch):
    raw = _npy(tmp_path / "raw")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_consume", boom)
    with pytest.raises(KeyboardInterrupt):
        prepare_import_npy(raw, tmp_path / "out", progress=False)
    assert _left(tmp_path, "raw") == []


def test_stale_partial_removed_even_when_the_next_prepare_fails_early(
    tmp_path, capsys, monkeypatch
):
    """A prepare killed outright (SIGKILL) leaves ``.o_k.partial``; the next prepare to
    that --out removes it as soon as it holds the lock, even when it then fails on its
    options (here an unknown class name) before any writer exists."""
    monkeypatch.chdir(tmp_path)
    stale = tmp_path / ".o_k.partial"
    stale.mkdir()
    (stale / "data.npy").write_bytes(b"\0" * 4096)  # the pre-allocated data of the dead run
    rc = main(["prepare", "synthetic", "--out", "o_k", "--classes", "nope"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "removed .o_k.partial left by an interrupted prepare" in err
    assert "nope" in err.splitlines()[-1]
    assert _left(tmp_path) == []  # no .partial, no .lock, no o_k
