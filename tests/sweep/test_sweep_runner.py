"""Running a sweep here: resumable after a failure or a stop, --jobs, --status, and a
sweep directory that refuses another grid. The commands are a stand-in
(fake_skelcon.py); test_sweep_end_to_end.py runs the real ones."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from skelcon.cli import main
from skelcon.errors import Interrupted, SkelconError
from skelcon.sweep.grid import build_plan
from skelcon.sweep.runner import run_sweep, threads_per_job
from skelcon.sweep.spec import load_sweep
from skelcon.sweep.status import open_sweep, read_status, status_lines
from skelcon.utils.threads import usable_cores

POINTS = [
    "representations-seq__seed-0",
    "representations-seq__seed-1",
    "representations-seq+stg__seed-0",
    "representations-seq+stg__seed-1",
]


def _sweep(sweep_file, data, out, *extra: str) -> int:
    return main(["sweep", str(sweep_file), "--data", str(data), "--out", str(out), *extra])


def test_a_failed_point_is_retried_alone_and_finished_ones_are_skipped(
    fake, sweep_file, tiny_data, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "sw"
    monkeypatch.setenv("FAKE_FAIL", "seq+stg__seed-0/evals/linear-stg")
    assert _sweep(sweep_file, tiny_data, out) == 1
    printed = capsys.readouterr()
    assert (
        "[3/4] representations-seq+stg__seed-0: failed in eval linear-stg: skelcon: error: boom"
        in printed.out
    )
    assert "1 points failed" in printed.err
    st = read_status(out, POINTS[2])
    assert st["state"] == "failed" and st["pretrained"] and "boom" in st["error"]
    # --status says what is done and why the failed one failed
    assert main(["sweep", "--status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 points: 3 done, 1 failed" in text
    assert f"failed       {POINTS[2]}: eval linear-stg: skelcon: error: boom" in text
    first = fake.commands()
    assert len(first) == 4 + 6  # 4 pre-trainings, 6 evaluations
    monkeypatch.delenv("FAKE_FAIL")
    assert _sweep(sweep_file, tiny_data, out) == 0
    assert "4 points, 3 done, 1 to run" in capsys.readouterr().out
    # only the failed evaluation ran again: not its pre-training nor its finished linear-seq
    assert fake.commands()[len(first) :] == [("eval linear", POINTS[2])]
    assert all(read_status(out, p)["state"] == "done" for p in POINTS)


def test_a_stopped_sweep_resumes_the_interrupted_point_from_last_pt(
    fake, sweep_file, tiny_data, tmp_path, monkeypatch
):
    """SIGTERM while a point pre-trains: its command is stopped and keeps its last epoch,
    the point is marked interrupted; the next run skips the finished points and resumes it."""
    out = tmp_path / "sw"
    open_sweep(out, build_plan(load_sweep(sweep_file), data=tiny_data, overrides=["epochs=40"]))
    monkeypatch.setenv("FAKE_EPOCH_S", "0.05")
    seen: list[str] = []

    def say(line: str) -> None:
        seen.append(line)
        if f"{POINTS[1]}: started" in line:  # stop the sweep once point 2 saved an epoch
            threading.Thread(target=kill_after_first_epoch, daemon=True).start()

    def kill_after_first_epoch() -> None:
        last = out / "points" / POINTS[1] / "run" / "last.pt"
        for _ in range(3000):
            if last.exists():
                break
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    def stop(signum, frame):  # what the command line's handler does
        raise Interrupted("stopped by SIGTERM", signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(Interrupted, match="sweep stopped by SIGTERM: 1 of 4 points done") as e:
            run_sweep(out, say=say)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert e.value.exit_code == 143
    st = read_status(out, POINTS[1])
    assert st["state"] == "interrupted" and st["stage"] == "pretrain"
    kept = json.loads((out / "points" / POINTS[1] / "run" / "last.pt").read_text())["epoch"]
    assert 0 < kept < 40
    assert read_status(out, POINTS[2])["state"] == "pending"  # never started
    lines = status_lines(out)
    assert any(
        ln.startswith(f"interrupted  {POINTS[1]}: pretrain") and "resumes from run/last.pt" in ln
        for ln in lines
    )
    monkeypatch.setenv("FAKE_EPOCH_S", "0")
    n = len(fake.calls())
    run_sweep(out, say=seen.append)
    again = fake.calls()[n:]
    assert [c["argv"][0] for c in again][:2] == ["pretrain", "eval"]
    resumed = again[0]["argv"]
    assert POINTS[1] in resumed[resumed.index("--out") + 1] and "--resume" in resumed
    assert not any(POINTS[0] in " ".join(c["argv"]) for c in again)  # done: skipped
    assert f"[2/4] {POINTS[1]}: started (resuming from run/last.pt)" in seen
    assert all(read_status(out, p)["state"] == "done" for p in POINTS)


def test_jobs_run_side_by_side_with_the_cores_divided(
    fake, sweep_file, tiny_data, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("SKELCON_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("FAKE_EPOCH_S", "0.3")
    assert _sweep(sweep_file, tiny_data, tmp_path / "sw", "--jobs", "2") == 0
    calls = [c for c in fake.calls() if c["argv"][0] == "pretrain"]
    assert len(calls) == 4
    want = str(max(1, usable_cores() // 2))
    assert {c["threads"] for c in fake.calls()} == {want}
    overlap = any(
        a["start"] < b["end"] and b["start"] < a["end"]
        for i, a in enumerate(calls)
        for b in calls[i + 1 :]
    )
    assert overlap  # two pre-trainings ran at the same time
    assert f"2 side by side, {want} threads each" in capsys.readouterr().out


def test_threads_per_job():
    cores = usable_cores()
    assert threads_per_job(1, {}) is None  # one job: the command's own policy
    assert threads_per_job(2, {}) == max(1, cores // 2)
    assert threads_per_job(4 * cores, {}) == 1
    assert threads_per_job(2, {"SKELCON_THREADS": "3"}) is None  # the user's choice stays


def test_a_sweep_dir_refuses_another_grid(fake, sweep_file, tiny_data, tmp_path, capsys):
    out = tmp_path / "sw"
    assert _sweep(sweep_file, tiny_data, out) == 0
    assert _sweep(sweep_file, tiny_data, out, "--axis", "seed=[0,1,2]") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "holds another grid (sweep 'small'): points: 4 -> 6 points, new:" in err[0]
    assert _sweep(sweep_file, tiny_data, out, "--recipe", "ntu60") == 2
    assert "recipe: 'cpu_small' -> 'ntu60'" in capsys.readouterr().err
    # the same grid again: nothing runs; --out alone goes on with the recorded grid
    n = len(fake.calls())
    assert _sweep(sweep_file, tiny_data, out) == 0
    assert main(["sweep", "--out", str(out)]) == 0
    assert len(fake.calls()) == n
    # a non-empty directory that is no sweep's is refused
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("")
    assert _sweep(sweep_file, tiny_data, tmp_path / "other") == 2
    assert "is not empty and holds no sweep.json" in capsys.readouterr().err
    with pytest.raises(SkelconError, match="is not a sweep directory"):
        status_lines(tmp_path / "other")


def test_a_command_that_cannot_start_fails_its_point(sweep_file, tiny_data, tmp_path, monkeypatch):
    import skelcon.sweep.runner as runner

    monkeypatch.setattr(runner, "SKELCON", (str(tmp_path / "no-such-python"), "-m", "skelcon"))
    out = tmp_path / "sw"
    assert (
        _sweep(
            sweep_file, tiny_data, out, "--axis", "seed=[0]", "--axis", "representations=[[seq]]"
        )
        == 1
    )
    st = read_status(out, "representations-seq__seed-0")
    assert st["state"] == "failed" and st["stage"] == "pretrain"
    assert "skelcon: error: cannot start" in st["error"] and "(exit 127)" in st["error"]
