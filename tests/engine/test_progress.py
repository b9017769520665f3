"""The run-wide progress display: the time left for the whole run, the long-run note on
a CPU (with the estimate and the CPU-sized recipe) and the small-data note."""

from __future__ import annotations

import re

import torch

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.progress import WARM_STEPS, RunProgress, duration, size_notes


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_duration_units():
    assert [duration(s) for s in (5, 600, 3 * 3600, 9 * 86400)] == [
        "5 s",
        "10 min",
        "3.0 h",
        "9.0 days",
    ]


def test_long_cpu_run_gets_one_note_with_the_estimate(capsys):
    cfg = load_config(PretrainConfig, None, ["epochs=451", "batch_size=64", "preset=paper"])
    clock = _Clock()
    shown = RunProgress(cfg, torch.device("cpu"), 626, 0, enabled=False, clock=clock)
    for _ in range(10):
        clock.t += 20.0  # 20 s a step: 3.2 samples/s, the paper preset on 2 cores
        shown.step(4.0)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skelcon: note: at 3.2 samples/s on this CPU")
    assert "days" in err[0] and "--config cpu_small" in err[0]
    assert abs(shown.left() - (451 * 626 - 10) * 20.0) < 1e-6


def test_short_gpu_or_small_preset_runs_get_no_note(capsys):
    for preset, device, step_s in (
        ("paper", "cpu", 0.001),
        ("paper", "cuda", 20.0),
        ("small", "cpu", 20.0),
    ):
        cfg = load_config(PretrainConfig, None, ["epochs=451", f"preset={preset}"])
        clock = _Clock()
        shown = RunProgress(cfg, torch.device(device), 100, 0, enabled=False, clock=clock)
        for _ in range(10):
            clock.t += step_s
            shown.step(1.0)
    assert capsys.readouterr().err == ""


def test_epoch_line_says_time_left(capsys):
    cfg = load_config(PretrainConfig, None, ["epochs=4"])
    clock = _Clock()
    shown = RunProgress(cfg, torch.device("cpu"), 10, 1, clock=clock)  # resumed at epoch 1
    for _ in range(10):
        clock.t += 3.0
        shown.step(1.0)
    shown.epoch_line(2, 1.0, 100.0)
    shown.close()
    out = capsys.readouterr().out
    assert "epoch 2/4  loss 1.0000  100 samples/s  about 60 s left" in out


def test_small_split_note():
    cfg = PretrainConfig(batch_size=64)
    assert size_notes(cfg, 64) == []
    (note,) = size_notes(cfg, 18)
    assert note.startswith("the 18 training clips are fewer than batch_size 64")


def _bar_left(shown: RunProgress) -> str:
    """The time left that the bar shows now (what tqdm would draw)."""
    return re.search(r"<([^,\]]+),", str(shown.bar)).group(1)


def _seconds(interval: str) -> int:
    parts = [int(p) for p in interval.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def test_monitor_checkpoints_and_first_step_are_not_training_speed():
    cfg = load_config(PretrainConfig, None, ["epochs=3"])
    clock = _Clock()
    shown = RunProgress(cfg, torch.device("cpu"), 10, 0, enabled=False, clock=clock)
    shown.plan_monitor(lambda e: True)  # before the first epoch and after each: 4 passes
    with shown.monitor_pass(0):
        clock.t += 300.0
    for epoch in range(2):
        shown.epoch(epoch)
        for i in range(10):
            clock.t += 40.0 if epoch == i == 0 else 2.0  # the first step warms up
            shown.step(1.0)
        clock.t += 1.0  # end-of-epoch bookkeeping
        with shown.monitor_pass(epoch + 1):
            clock.t += 300.0
        with shown.aside():  # a checkpoint
            clock.t += 50.0
    # 19 timed steps, the 1 s of bookkeeping in one of them: 39 s
    assert abs(shown.step_s() - 39.0 / 19) < 1e-9
    # 10 steps and the one pass still due (after the last epoch), at 300 s a pass
    assert abs(shown.left() - (10 * 39.0 / 19 + 300.0)) < 1e-9


def test_bar_and_epoch_line_show_the_same_time_left(capsys):
    cfg = load_config(PretrainConfig, None, ["epochs=4", "monitor.every=2"])
    clock = _Clock()
    shown = RunProgress(cfg, torch.device("cpu"), 10, 0, clock=clock)
    shown.plan_monitor(lambda e: e % 2 == 0)  # epochs 0, 2 and 4
    with shown.monitor_pass(0):
        clock.t += 300.0
    shown.epoch(0)
    clock.t += 12.0
    shown.step(1.0)
    assert _bar_left(shown) == "?"  # nothing timed yet: not the monitor's 300 s as a step
    for _ in range(9):
        clock.t += 3.0
        shown.step(1.0)
    shown.epoch_line(1, 1.0, 21.0)
    # 30 steps of 3 s and the passes after epochs 2 and 4 (300 s each): 690 s
    assert shown.left() == 690.0
    assert _seconds(_bar_left(shown)) == 690
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("epoch 1/4"))
    assert line.endswith(f"about {duration(690.0)} left") and duration(690.0) == "12 min"
    shown.close()


def test_long_run_note_comes_after_the_warm_steps_whatever_the_monitor_took(capsys):
    def run(first: float, then: float, *extra: str) -> tuple[RunProgress, list[str]]:
        """A 300 s monitor pass, then steps: the notes after each step."""
        cfg = load_config(PretrainConfig, None, ["epochs=451", "preset=paper", *extra])
        clock = _Clock()
        shown = RunProgress(cfg, torch.device("cpu"), 23, 0, enabled=False, clock=clock)
        shown.plan_monitor(lambda e: e % 10 == 0 or e == 451)
        with shown.monitor_pass(0):
            clock.t += 300.0
        shown.epoch(0)
        notes = []
        for t in (first, *[then] * 6):
            clock.t += t
            shown.step(4.0)
            notes.append(capsys.readouterr().err.strip())
        return shown, notes

    # a first step of 45 s tells at once (no compilation), the monitor's 300 s not in it
    _, notes = run(45.0, 45.0)
    assert notes[0].startswith("skelcon: note: at 1.4 samples/s on this CPU (timed on the ")
    assert "46 kNN monitor passes still due" in notes[0] and not any(notes[1:])
    # 8 s steps: the note once 20 s of steps are timed (3 steps after the first)
    _, notes = run(10.0, 8.0)
    assert [bool(n) for n in notes] == [False] * 3 + [True] + [False] * 3
    assert notes[3].startswith("skelcon: note: at 8.0 samples/s on this CPU the rest")
    # a compiled run's first step is compilation: the timed steps decide
    _, notes = run(60.0, 8.0, "compile=true")
    assert [bool(n) for n in notes] == [False] * 3 + [True] + [False] * 3
    # fast steps (0.5 s), one per epoch, a 300 s monitor pass after each: the note after
    # WARM_STEPS timed steps, at the speed of the steps alone
    cfg = load_config(PretrainConfig, None, ["epochs=2000", "batch_size=64", "preset=paper"])
    clock = _Clock()
    shown = RunProgress(cfg, torch.device("cpu"), 1, 0, enabled=False, clock=clock)
    shown.plan_monitor(lambda e: True)
    with shown.monitor_pass(0):
        clock.t += 300.0
    for epoch in range(WARM_STEPS + 1):  # the first step is not timed
        assert not shown.decided
        shown.epoch(epoch)
        clock.t += 0.5
        shown.step(4.0)
        with shown.monitor_pass(epoch + 1):
            clock.t += 300.0
    (note,) = capsys.readouterr().err.strip().splitlines()
    assert note.startswith("skelcon: note: at 128.0 samples/s on this CPU")


def test_the_knn_monitor_shows_its_progress_unless_quiet(tiny_data, tmp_path, capsys):
    from tinydata import TINY_PRETRAIN

    from skelcon.engine.pretrain import pretrain

    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "monitor.every=1"])
    pretrain(cfg, tiny_data, "default", tmp_path / "shown")
    err = capsys.readouterr().err
    # a bar over the clips the monitor embeds, before the first epoch and after the last
    bars = re.findall(r"kNN monitor: seq\+stg features of (\d+) train \+ (\d+) test clips", err)
    assert len(set(bars)) == 1 and len(bars) >= 2
    n_train, n_test = map(int, bars[0])
    assert f"/{2 * (n_train + n_test)} [" in err  # counted in clips, of both encoders
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "monitor.every=1"])
    pretrain(cfg, tiny_data, "default", tmp_path / "quiet", progress=False)
    assert "kNN monitor" not in capsys.readouterr().err


def test_the_epoch_0_monitor_pass_gives_a_first_estimate_before_any_step(capsys):
    """A paper recipe on a CPU spends minutes in the epoch-0 kNN pass before its first
    step: after NOTE_AFTER_S of it the monitor's speed gives a lower-bound estimate."""
    from skelcon.engine.progress import INFER_TO_TRAIN, NOTE_AFTER_S

    cfg = load_config(PretrainConfig, None, ["epochs=451", "batch_size=64", "preset=paper"])
    clock = _Clock()
    shown = RunProgress(cfg, torch.device("cpu"), 24, 0, enabled=False, clock=clock)
    shown.plan_monitor(lambda e: e % 10 == 0 or e == 451)
    with shown.monitor_pass(0):
        clock.t += NOTE_AFTER_S / 2
        shown.monitor_speed(2.8)  # too early: nothing yet
        assert capsys.readouterr().err == ""
        clock.t += NOTE_AFTER_S
        shown.monitor_speed(2.8)
        shown.monitor_speed(2.8)  # once
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the kNN monitor embeds 2.8 clips/s on this CPU" in err[0]
    days = 451 * 24 * INFER_TO_TRAIN * 64 / 2.8 / 86400
    assert f"at least about {days:.1f} days" in err[0] and "--config cpu_small" in err[0]
    small = load_config(PretrainConfig, None, ["preset=small"])
    quiet = RunProgress(small, torch.device("cpu"), 24, 0, enabled=False, clock=clock)
    with quiet.monitor_pass(0):
        clock.t += 2 * NOTE_AFTER_S
        quiet.monitor_speed(0.5)
    assert capsys.readouterr().err == ""
