"""What a pre-training run tells its user while it runs: one progress bar over every
step of the run (tqdm: elapsed, rate and the time left for the *whole* run), an epoch
line with the time left, and one-time notes about runs that will take long here or data
smaller than a batch."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import torch
from tqdm import tqdm

from ..config import PretrainConfig

WARM_STEPS = 5  # steps timed before the long-run estimate (the first ones are slower)
LONG_RUN_S = 2 * 3600  # a CPU run longer than this gets the cpu_small note


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


class RunProgress:
    """The run-wide progress display of :func:`~skelcon.engine.pretrain.pretrain`.

    ``step(loss)`` after every optimiser step; ``epoch_line(...)`` after every epoch.
    After :data:`WARM_STEPS` timed steps of the paper preset on a CPU it notes once
    when the remaining run would take more than :data:`LONG_RUN_S` at the measured
    speed, with the estimate and the CPU-sized recipe. ``clock`` is injectable for tests (seconds, monotonic).
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
        self.total = cfg.epochs * steps_per_epoch
        self.done = start_epoch * steps_per_epoch
        self.steps = 0  # steps timed: every step after the first of this call
        self.t0: float | None = None  # when the first step of this call ended
        self.bar = tqdm(total=self.total, initial=self.done, unit="step", leave=False,
                        disable=not enabled, smoothing=0.05, file=sys.stderr)  # fmt: skip

    def epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (0-based) starts."""
        self.bar.set_description(f"epoch {epoch + 1}/{self.cfg.epochs}", refresh=False)

    def left(self) -> float:
        """Seconds left for the whole run at this call's average speed so far."""
        if self.t0 is None or not self.steps:
            return float("nan")
        rate = self.steps / max(self.clock() - self.t0, 1e-9)
        return (self.total - self.done) / max(rate, 1e-12)

    def step(self, loss: float) -> None:
        """One optimiser step finished with ``loss``."""
        self.done += 1
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        if self.t0 is None:  # the first step (and any set-up before it) is not timed
            self.t0 = self.clock()
            return
        self.steps += 1
        paper_on_cpu = self.cfg.preset == "paper" and self.device.type == "cpu"
        if self.steps == WARM_STEPS and paper_on_cpu and self.left() > LONG_RUN_S:
            samples_s = self.steps * self.cfg.batch_size / max(self.clock() - self.t0, 1e-9)
            self.note(
                f"at {samples_s:.1f} samples/s on this CPU the rest of this run takes about "
                f"{duration(self.left())}; --config cpu_small is the recipe sized for a CPU "
                "(minutes on a few thousand clips)"
            )

    def note(self, text: str) -> None:
        """A one-line note on stderr (also with ``--quiet``: it is about the whole run)."""
        tqdm.write(f"skelcon: note: {text}", file=sys.stderr)

    def epoch_line(self, epoch: int, loss: float, samples_per_s: float) -> None:
        """The summary line of finished epoch ``epoch`` (1-based), with the time left;
        on runs of more than 100 epochs (a small split under ``min_steps``) about 100 lines
        in all, the last one always."""
        every = -(-self.cfg.epochs // 100)
        if self.enabled and (epoch % every == 0 or epoch == self.cfg.epochs):
            more = self.done < self.total and self.steps > 0
            left = f"  about {duration(self.left())} left" if more else ""
            tqdm.write(f"epoch {epoch}/{self.cfg.epochs}  loss {loss:.4f}  "
                       f"{samples_per_s:.0f} samples/s{left}")  # fmt: skip

    def close(self) -> None:
        self.bar.close()
