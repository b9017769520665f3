"""A real sweep: skelcon pretrain and skelcon eval run by the sweep on a tiny dataset,
stopped by SIGTERM while a point pre-trains, resumed from its last.pt, then reported."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from tinydata import TINY_PRETRAIN

from skelcon.cli import main
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.errors import Interrupted
from skelcon.sweep.grid import build_plan
from skelcon.sweep.runner import run_sweep
from skelcon.sweep.spec import load_sweep
from skelcon.sweep.status import log_path, open_sweep, read_status

SWEEP = """\
name: e2e
recipe: cpu_small
benchmark: default
set: ["representations=[seq]", monitor.every=0]
axes:
  epochs: [1, 20]
evaluations:
  - {protocol: linear, representation: all, set: [epochs=1, batch_size=8], only: {epochs: [20]}}
table:
  rows: [epochs]
"""


@pytest.mark.slow
def test_a_real_sweep_stops_resumes_and_reports(tiny_data, tmp_path, capsys):
    (tmp_path / "e2e.yaml").write_text(SWEEP)
    extra = [s for s in TINY_PRETRAIN if not s.startswith("representations")]
    plan = build_plan(load_sweep(tmp_path / "e2e.yaml"), data=tiny_data, overrides=extra)
    out = tmp_path / "sw"
    open_sweep(out, plan)
    long = plan.points[1].id
    last = out / "points" / long / "run" / "last.pt"

    def kill_after_first_epoch() -> None:
        for _ in range(12000):
            if last.exists():
                break
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    def say(line: str) -> None:
        if f"{long}: started" in line:
            threading.Thread(target=kill_after_first_epoch, daemon=True).start()

    def stop(signum, frame):
        raise Interrupted("stopped by SIGTERM", signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(Interrupted, match="1 of 2 points done"):
            run_sweep(out, say=say)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert read_status(out, long)["state"] == "interrupted"
    kept = load_checkpoint(last)["epoch"]
    assert 1 <= kept < 20
    # the same command goes on: the finished point is skipped, the stopped one resumes
    assert main(["sweep", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"[2/2] {long}: started (resuming from run/last.pt)" in printed
    assert f"{long}: done in" in printed and "linear-seq" in printed
    assert load_checkpoint(last)["epoch"] == 20
    log = log_path(out, long).read_text()
    assert log.count("$ ") == 3 and "--resume" in log.split("$ ")[2]  # pretrain, resumed, eval
    assert main(["report", str(out), "--out", str(tmp_path / "r.md")]) == 0
    md = (tmp_path / "r.md").read_text()
    assert "## e2e: linear" in md and "| epochs 20 |" in md and "| epochs 1 |" not in md
