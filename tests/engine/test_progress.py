"""The run-wide progress display: the time left for the whole run, the long-run note on
a CPU (with the estimate and the CPU-sized recipe) and the small-data note."""

from __future__ import annotations

import torch

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.progress import RunProgress, duration, size_notes


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_duration_units():
    assert [duration(s) for s in (5, 600, 3 * 3600, 9 * 86400)] == [
        "5 s", "10 min", "3.0 h", "9.0 days"]  # fmt: skip


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
    for preset, device, step_s in (("paper", "cpu", 0.001), ("paper", "cuda", 20.0),
                                   ("small", "cpu", 20.0)):  # fmt: skip
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
