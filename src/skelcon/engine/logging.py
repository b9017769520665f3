"""Metrics as JSON lines (``metrics.jsonl``) and TensorBoard scalars."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from ..utils.io import atomic_write


class MetricsLogger:
    """Append one JSON object per call to ``run/metrics.jsonl``; mirror scalars to TensorBoard."""

    def __init__(self, run_dir: str | os.PathLike[str], tensorboard: bool = True):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tb"))
            except ImportError:  # tensorboard is a dependency, but don't die without it
                self._tb = None

    def log(self, step: int, **values: Any) -> None:
        rec = {"step": int(step), "time": round(time.time(), 3), **values}
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    self._tb.add_scalar(k, v, step)

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (used when resuming from an earlier checkpoint)."""
        if not self.path.exists():
            return
        keep = [line for line in self.path.read_text().splitlines() if _step(line) <= step]
        text = "".join(line + "\n" for line in keep)
        atomic_write(self.path, lambda p: p.write_text(text))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _step(line: str) -> float:
    """The ``step`` of one metrics.jsonl line; a blank or torn line (a run killed while
    writing it) counts as past every step, so it is dropped."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return math.inf
    return rec.get("step", 0) if isinstance(rec, dict) and line.strip() else math.inf


class NullLogger(MetricsLogger):
    """A logger that writes nothing (every process but rank 0 under DDP)."""

    def __init__(self) -> None:
        self._tb = None

    def log(self, step: int, **values: Any) -> None:
        pass

    def truncate_after(self, step: int) -> None:
        pass
