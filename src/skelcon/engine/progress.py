"""What a pre-training run tells its user while it runs: one progress bar over every
step of the run (tqdm: elapsed, the training speed and the time left for the *whole*
run), an epoch line with the same time left, a bar of its own for each kNN monitor pass,
and one-time notes about runs that will take long here or data smaller than a batch.

The time left is one number, :meth:`RunProgress.left`, shown by the bar and the epoch
line alike: the training steps still to run at the speed of the steps timed so far, plus
the kNN monitor passes still due at the measured cost of one. One-off work is not
training speed: the first step of a run (set-up, warm-up, compilation), the monitor
passes and checkpoint saving are left out of the step times."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from tqdm import tqdm

from ..config import PretrainConfig

WARM_STEPS = 5  # timed steps before the long-run estimate (the first step is not timed) ...
NOTE_AFTER_S = 20.0  # ... or this many seconds of timed steps, or a first step this long
# a training step costs at least this many times the monitor's inference per clip
# (measured on the 2-core CPU: 2.4x for the paper SEQ+STG step, 1.5x for cpu_small's)
INFER_TO_TRAIN = 1.5
LONG_RUN_S = 2 * 3600  # a CPU run longer than this gets the cpu_small note
# tqdm's bar with the time left and the speed of RunProgress (training steps only)
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{left}, {speed}{postfix}]"


def duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"3.4 h"``, ``"6.2 days"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def size_notes(cfg: PretrainConfig, num_clips: int) -> list[str]:
    """One-line notes about training data smaller than what the config expects."""
    notes = []
    if num_clips < cfg.batch_size:
        notes.append(
            f"the {num_clips} training clips are fewer than batch_size {cfg.batch_size}: every "
            f"step is one batch of all {num_clips} clips"
        )
    return notes


class _Bar(tqdm):  # type: ignore[misc]  # (tqdm has no type hints)
    """A tqdm bar whose time left and speed are those of its :class:`RunProgress`."""

    run: RunProgress | None = None

    @property
    def format_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = super().format_dict
        run = self.run
        left = run.left() if run is not None else math.nan
        step_s = run.step_s() if run is not None else math.nan
        d["left"] = "?" if math.isnan(left) else tqdm.format_interval(left)
        if math.isnan(step_s):
            d["speed"] = "?s/step"
        elif step_s >= 1:
            d["speed"] = f"{step_s:.1f}s/step"
        else:
            d["speed"] = f"{1 / max(step_s, 1e-9):.1f}step/s"
        return d


class RunProgress:
    """The run-wide progress display of :func:`~skelcon.engine.pretrain.pretrain`.

    ``epoch(e)`` when an epoch starts, ``step(loss)`` after every optimiser step,
    ``epoch_line(...)`` after every epoch; one-off work runs inside :meth:`aside`, a kNN
    monitor pass inside :meth:`monitor_pass` (its time is measured and predicted for the
    passes still due, :meth:`plan_monitor`). The time left, :meth:`left`, is the one
    figure of the bar and the epoch line. Once :data:`WARM_STEPS` steps or
    :data:`NOTE_AFTER_S` seconds of steps are timed (whichever first; the first step is
    not timed), or right after a first step that took :data:`NOTE_AFTER_S` or more
    (without ``compile``), the paper preset on a CPU gets a note when the rest of the run
    would take more than :data:`LONG_RUN_S`, with the estimate and the CPU-sized recipe.
    ``clock`` is injectable for tests (seconds, monotonic).
    """

    def __init__(
        self,
        cfg: PretrainConfig,
        device: torch.device,
        steps_per_epoch: int,
        start_epoch: int,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.cfg, self.device, self.enabled, self.clock = cfg, device, enabled, clock
        self.start_epoch = start_epoch
        self.total = cfg.epochs * steps_per_epoch
        self.done = start_epoch * steps_per_epoch
        self.steps = 0  # steps timed: every step after the first of this call
        self.train_s = 0.0  # their seconds, one-off work (aside) left out
        self.mark: float | None = None  # when the step under way began (None: first step)
        self.began: float | None = None  # when the first step began (its epoch started)
        self.decided = False  # whether the long-run estimate was made
        self.monitor_due: set[int] = set()  # epochs whose kNN pass is still to run
        self.monitor_s: list[float] = []  # seconds of each pass run so far
        self.pass_began: float | None = None  # when the monitor pass under way began
        self.estimated = False  # whether the estimate from the monitor's speed was made
        self.bar = _Bar(
            total=self.total,
            initial=self.done,
            unit="step",
            leave=False,
            disable=not enabled,
            bar_format=BAR_FORMAT,
            file=sys.stderr,
        )
        self.bar.run = self

    def epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (0-based) starts."""
        self.bar.set_description(f"epoch {epoch + 1}/{self.cfg.epochs}", refresh=False)
        if self.began is None:
            self.began = self.clock()

    def plan_monitor(self, due: Callable[[int], bool]) -> None:
        """The kNN monitor runs after the epochs ``e`` where ``due(e)`` (0: before the
        first): those still ahead of this call count in :meth:`left`."""
        first = 0 if self.start_epoch == 0 else self.start_epoch + 1
        self.monitor_due = {e for e in range(first, self.cfg.epochs + 1) if due(e)}

    def step_s(self) -> float:
        """Seconds per training step, over the steps timed so far (NaN before one)."""
        return self.train_s / self.steps if self.steps else math.nan

    def left(self) -> float:
        """Seconds left for the whole run: the steps still to run at :meth:`step_s`, and
        the kNN monitor passes still due at the mean cost of those run (NaN before the
        first step is timed)."""
        if not self.steps:
            return math.nan
        return (self.total - self.done) * self.step_s() + self.monitor_left()

    def monitor_left(self) -> float:
        """Seconds of the kNN monitor passes still due, at the mean of those run (0
        before one has run)."""
        return len(self.monitor_due) * sum(self.monitor_s) / max(len(self.monitor_s), 1)

    def step(self, loss: float) -> None:
        """One optimiser step finished with ``loss``."""
        now = self.clock()
        self.done += 1
        first_s = math.nan  # the first step (and any set-up before it) is not timed
        if self.mark is not None:
            self.steps += 1
            self.train_s += now - self.mark
        elif self.began is not None:
            first_s = now - self.began
        self.mark = now
        self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        self.bar.update(1)
        if self.decided or self.cfg.preset != "paper" or self.device.type != "cpu":
            return
        if self.steps >= WARM_STEPS or (self.steps and self.train_s >= NOTE_AFTER_S):
            self.long_run_note(self.step_s(), "")
        elif first_s >= NOTE_AFTER_S and not self.cfg.compile:
            # a first step this slow is enough to tell (its warm-up is small on a CPU
            # without compilation); waiting for timed steps would be minutes more
            self.long_run_note(first_s, " (timed on the first step)")

    def long_run_note(self, step_s: float, how: str) -> None:
        """The one-time estimate: a note when the rest of the run at ``step_s`` seconds
        a step (and the monitor passes still due) takes more than :data:`LONG_RUN_S`."""
        self.decided = True
        left = (self.total - self.done) * step_s + self.monitor_left()
        if left > LONG_RUN_S:
            knn_s = self.monitor_left()
            knn = (
                (
                    f" ({duration(knn_s)} of it the {len(self.monitor_due)} kNN monitor "
                    "passes still due)"
                )
                if knn_s
                else ""
            )
            self.note(
                f"at {self.cfg.batch_size / step_s:.1f} samples/s on this CPU{how} the rest "
                f"of this run takes about {duration(left)}{knn}; --config cpu_small is the "
                "recipe sized for a CPU (minutes on a few thousand clips)"
            )

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """One-off work (a checkpoint, a monitor pass): its time is not step time."""
        t = self.clock()
        try:
            yield
        finally:
            if self.mark is not None:
                self.mark += self.clock() - t
            elif self.began is not None:
                self.began += self.clock() - t

    @contextlib.contextmanager
    def monitor_pass(self, epoch: int) -> Iterator[None]:
        """The kNN monitor's pass after ``epoch`` epochs: set aside, timed for the
        passes still due."""
        t = self.pass_began = self.clock()
        with self.aside():
            yield
        self.monitor_s.append(self.clock() - t)
        self.monitor_due.discard(epoch)
        self.pass_began = None

    def monitor_speed(self, samples_per_s: float) -> None:
        """The kNN monitor's inference speed so far (clips embedded by every encoder per
        second): during the epoch-0 pass, which on a paper preset on a CPU takes minutes
        before any step, after :data:`NOTE_AFTER_S` of it, a first estimate of the run,
        once. A training step costs at least :data:`INFER_TO_TRAIN` times the inference
        of its clips, so the estimate is a lower bound; the note after the first timed
        steps (:meth:`step`) measures it."""
        began = self.pass_began
        paper_on_cpu = self.cfg.preset == "paper" and self.device.type == "cpu"
        if self.estimated or self.decided or not paper_on_cpu or began is None:
            return
        if self.clock() - began < NOTE_AFTER_S or samples_per_s <= 0:
            return
        self.estimated = True
        step_s = INFER_TO_TRAIN * self.cfg.batch_size / samples_per_s
        left = (self.total - self.done) * step_s
        if left > LONG_RUN_S:
            self.note(
                f"the kNN monitor embeds {samples_per_s:.1f} clips/s on this CPU and a "
                f"training step costs at least {INFER_TO_TRAIN:g}x that per clip, so this run "
                f"takes at least about {duration(left)} besides its {len(self.monitor_due)} kNN "
                "monitor passes (an estimate: the first training steps measure it); --config "
                "cpu_small is the recipe sized for a CPU (minutes on a few thousand clips)"
            )

    def note(self, text: str) -> None:
        """A one-line note on stderr (also with ``--quiet``: it is about the whole run)."""
        tqdm.write(f"skelcon: note: {text}", file=sys.stderr)

    def epoch_line(self, epoch: int, loss: float, samples_per_s: float) -> None:
        """The summary line of finished epoch ``epoch`` (1-based), with the time left (the
        bar's); on runs of more than 100 epochs (a small split under ``min_steps``) about
        100 lines in all, the last one always."""
        every = -(-self.cfg.epochs // 100)
        if self.enabled and (epoch % every == 0 or epoch == self.cfg.epochs):
            left_s = self.left()
            more = (self.done < self.total or self.monitor_left() > 0) and not math.isnan(left_s)
            left = f"  about {duration(left_s)} left" if more else ""
            tqdm.write(
                f"epoch {epoch}/{self.cfg.epochs}  loss {loss:.4f}  "
                f"{samples_per_s:.0f} samples/s{left}"
            )

    def close(self) -> None:
        self.bar.close()
