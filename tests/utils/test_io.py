"""Durable atomic writes and output locks (skelcon.utils.io)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

import skelcon.utils.io as io
from skelcon.errors import SkelconError
from skelcon.utils.io import atomic_path, atomic_write, lock_path, output_lock


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def half(p):
        p.write_text("ne")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic_write(target, half)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_file_is_fsynced_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        kind = "dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(a, b):
        events.append("replace")
        real_replace(a, b)

    monkeypatch.setattr(io.os, "fsync", fsync)
    monkeypatch.setattr(io.os, "replace", replace)
    atomic_write(tmp_path / "f", lambda p: p.write_text("x"))
    assert events == ["fsync file", "replace", "fsync dir"]


def test_full_disk_is_one_line_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(SkelconError) as info:
        with atomic_path(target, kept=" (the previous f.txt is intact)") as tmp:
            with open(tmp, "wb") as f, open("/dev/full", "wb") as full:
                f.write(b"half")
                full.write(b"x" * 65536)
                full.flush()  # the real ENOSPC of a full device
    assert str(info.value) == (
        f"no space left on the device writing {target} (the previous f.txt is intact); "
        "free some space and run again"
    )
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


KILLED_WRITER = """
import sys
from skelcon.utils.io import atomic_write
path, n = sys.argv[1], 1 << 21
print("go", flush=True)
i = 0
while True:
    i += 1
    data = (b"A" if i % 2 else b"B") * n
    atomic_write(path, lambda p: p.write_bytes(data))
"""


def test_kill_9_mid_write_never_leaves_a_torn_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"A" * (1 << 21))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for delay in (0.2, 0.45):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(target)], env=env, stdout=subprocess.PIPE
        )
        assert proc.stdout.readline() == b"go\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        assert len(data) == 1 << 21 and data in (b"A" * len(data), b"B" * len(data))


def test_second_lock_is_refused_until_the_first_is_released(tmp_path):
    out = tmp_path / "run"
    with output_lock(out, "prepare") as path:
        assert path == lock_path(tmp_path / "." / "run") == tmp_path / ".run.lock"
        with pytest.raises(SkelconError) as info:
            with output_lock(out, "prepare"):
                pass
        assert str(info.value) == (
            f"{out} is in use by another skelcon prepare (pid {os.getpid()}, lock {path}); "
            "wait for it to finish or pick another --out"
        )
    with output_lock(out, "prepare"):  # released on exit
        pass


HOLDER = """
import sys, time
from skelcon.utils.io import output_lock
with output_lock(sys.argv[1], "pretrain"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_lock_of_another_process_blocks_and_a_dead_holder_does_not(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], env=env, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout.readline() == b"held\n"
        with pytest.raises(SkelconError, match=rf"another skelcon pretrain \(pid {proc.pid},"):
            with output_lock(out, "pretrain"):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)  # dies without cleaning up: the file stays
        proc.wait()
    assert lock_path(out).exists()
    with output_lock(out, "pretrain"):  # a stale lock file never blocks
        pass


def test_no_space_errors_leave_other_errors_alone(tmp_path):
    with pytest.raises(OSError) as info:
        with io.no_space_errors(tmp_path):
            raise OSError(errno.EACCES, "denied")
    assert info.value.errno == errno.EACCES


def test_an_unwritable_place_is_one_line(tmp_path):
    from skelcon.errors import SkelconError
    from skelcon.utils.io import atomic_write

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(SkelconError, match=r"cannot write .*afile/x\.json: .*writable --out"):
        atomic_write(afile / "x.json", lambda p: p.write_text("{}"))


def test_npy_error_never_advises_unpickling(tmp_path):
    import numpy as np

    from skelcon.utils.io import npy_error

    for name, content in (("text.npy", b"just text\n"), ("obj.npy", None)):
        p = tmp_path / name
        if content is None:
            np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        else:
            p.write_bytes(content)
        try:
            np.load(p, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - numpy's own error, as the readers catch it
            msg = npy_error(e)
        else:
            raise AssertionError("np.load read it")
        assert "allow_pickle" not in msg and "pickle.load" not in msg
        assert msg.startswith("not a plain NumPy array file"), msg
