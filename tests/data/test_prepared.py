"""Prepared-dataset writes under faults: a full disk, a crash between the renames,
durability before the rename, and two prepares on one output."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from tinydata import make_tiny_prepared

import skelcon.data.prepared as prepared
from skelcon.cli import main
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.errors import SkelconError
from skelcon.utils.io import output_lock


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_in_finalize_keeps_the_previous_dataset(tmp_path, monkeypatch):
    out = make_tiny_prepared(tmp_path / "p", n=12, seed=1)
    before = load_prepared(out, "default", "train").data[:]
    real_save = np.save
    calls = []

    def save(path, arr, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # labels written, num_frames half written
            with open(path, "wb") as f:
                f.write(b"\x93NUMPY half")
            _enospc()
        return real_save(path, arr, *args, **kwargs)

    monkeypatch.setattr(prepared.np, "save", save)
    with pytest.raises(SkelconError) as info:
        make_tiny_prepared(out, n=12, seed=2)
    assert str(info.value) == (
        f"no space left on the device writing {out} (removed the partial "
        f"{tmp_path / '.p.partial'}; the previous {out} is intact); free some space and run again"
    )
    assert os.listdir(tmp_path) == ["p"]  # no partial left to look complete
    monkeypatch.undo()
    assert np.array_equal(load_prepared(out, "default", "train").data[:], before)


def test_full_disk_when_reserving_the_data_file(tmp_path, monkeypatch):
    monkeypatch.setattr(prepared.os, "posix_fallocate", _enospc)
    with pytest.raises(
        SkelconError, match=r"no space left on the device writing .*nothing was kept"
    ):
        make_tiny_prepared(tmp_path / "p", n=12)
    assert os.listdir(tmp_path) == []


def test_data_is_fsynced_before_the_directory_is_renamed(tmp_path, monkeypatch):
    events = []
    real_fsync_tree, real_replace = prepared.fsync_tree, prepared.os.replace

    def fsync_tree(root):
        events.append(("fsync_tree", sorted(os.listdir(root))))
        real_fsync_tree(root)

    def replace(a, b):
        events.append(("replace", os.path.basename(a)))
        real_replace(a, b)

    monkeypatch.setattr(prepared, "fsync_tree", fsync_tree)
    monkeypatch.setattr(prepared.os, "replace", replace)
    make_tiny_prepared(tmp_path / "p", n=12)
    assert (
        events[0][0] == "fsync_tree" and "meta.json" in events[0][1] and "data.npy" in events[0][1]
    )
    assert events[-1] == ("replace", ".p.partial")


def test_crash_between_the_renames_points_at_the_old_copy(tmp_path):
    out = make_tiny_prepared(tmp_path / "p", n=12)
    os.replace(out, tmp_path / ".p.old")  # as if killed right after the first rename
    with pytest.raises(
        SkelconError, match=r"a prepare stopped while replacing it; the previous dataset is in"
    ):
        read_meta(out)
    make_tiny_prepared(out, n=12)  # running prepare again finishes the job
    assert sorted(os.listdir(tmp_path)) == ["p"]


def test_two_prepares_on_one_output(tmp_path, capsys):
    out = tmp_path / "syn"
    args = ["prepare", "synthetic", "--out", str(out), "--per-class", "2", "--frames", "20"]
    with output_lock(out, "prepare"):
        assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"skelcon: error: {out} is in use by another skelcon prepare (pid ")
    assert not out.exists() and not (tmp_path / ".syn.partial").exists()
    assert main(args) == 0 and read_meta(out)["complete"]
