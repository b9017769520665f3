"""``scripts/stream_study.py``: one command pre-trains and evaluates each stream, fuses
them, and resumes without redoing anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tinydata import make_tiny_prepared

ROOT = Path(__file__).resolve().parents[1]
FAST = "--set min_steps=0 --set epochs=1 --set batch_size=8 --set augment.out_len=16 --set moco.queue_size=16"


def _study(data: Path, out: Path) -> str:
    cmd = f"{ROOT / 'scripts' / 'stream_study.py'} --data {data} --out {out} --seeds 0 "
    cmd += f"--streams joint,bone --reps stg --quiet {FAST}"
    done = subprocess.run(
        [sys.executable, *cmd.split()], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_one_command_study_and_resume(tmp_path):
    data = make_tiny_prepared(tmp_path / "d", classes=3, n=32)
    out = tmp_path / "study"
    first = _study(data, out)
    assert "| joint |" in first and "| bone |" in first and "ensemble − joint" in first
    ens = json.loads((out / "seed0" / "ensemble" / "linear-stg" / "metrics.json").read_text())
    members = ens["members"]
    assert [m["stream"] for m in members] == ["joint", "bone"]
    assert [m["weight"] for m in members] == [1.0, 1.0]  # not the joint/bone/motion trio
    for stream in ("joint", "bone"):
        side = json.loads((out / "seed0" / stream / "knn-stg" / "scores.json").read_text())
        assert side["stream"] == stream
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("metrics.json")}
    assert len(stamps) == 6  # 2 streams x (linear, knn) + 2 ensembles
    second = _study(data, out)  # everything exists: nothing is redone
    assert "+ skelcon" not in second
    assert {p: p.stat().st_mtime_ns for p in out.rglob("metrics.json")} == stamps
    other = subprocess.run(  # another setting into the same directory: refused
        [
            sys.executable,
            str(ROOT / "scripts" / "stream_study.py"),
            "--data",
            str(data),
            "--out",
            str(out),
            "--streams",
            "joint,bone",
            "--reps",
            "stg",
            "--set",
            "epochs=2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode != 0 and "holds a study with set" in other.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"]["ensemble"]["linear-stg"] == [ens["top1"]]
