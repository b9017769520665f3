"""Did pre-training pay off? The run's own verdict, per encoder, from its kNN monitor.

At the end of a pre-training run each query encoder's kNN top-1 on the test split
(:class:`~skelcon.engine.monitor.KnnMonitor`: centre crop, cosine, ``monitor.knn_k``) is
compared with the same measurement before the first step, i.e. with this very run's
random-init encoder: same architecture, seed, data and protocol. The gain is judged
against the noise of a test split of ``n`` clips: one clip is ``100 / n`` points, and two
standard errors of the difference of two accuracies ``p0``, ``p1`` measured on ``n``
clips each are ``2 * sqrt((p0 (1 - p0) + p1 (1 - p1)) / n)`` (normal approximation of the
binomial; it ignores that the two share their clips, so it is conservative), and never
less than two clips. A gain above that band is ``paid off``; within it ``no clear
gain``; below it ``worse``; and ``too few test clips`` when even a perfect score after
pre-training would stay inside the band. This is a monitor, not the paper's protocol: the kNN and
linear tables come from ``skelcon eval``; docs/pretraining.md has both side by side.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..utils.io import atomic_write

PAID_OFF, NO_GAIN, WORSE, TOO_FEW = "paid off", "no clear gain", "worse", "too few test clips"
UNREACHABLE = "cannot be judged"  # no test clip has a class that occurs in training


@dataclass(frozen=True)
class Verdict:
    """One encoder's verdict: kNN top-1 (%) before and after, on ``n_test`` test clips of
    which ``reachable`` have a class that occurs in the training split (None: all)."""

    rep: str
    before: float
    after: float
    n_test: int
    reachable: int | None = None

    @property
    def ceiling(self) -> float:
        """The highest top-1 (%) any encoder can reach: test clips of a class seen in training."""
        k = self.n_test if self.reachable is None else self.reachable
        return 100.0 * k / self.n_test

    @property
    def gain(self) -> float:
        """Points gained over the run's own epoch-0 (random-init) kNN."""
        return self.after - self.before

    @property
    def clip_points(self) -> float:
        """Points one test clip is worth."""
        return 100.0 / self.n_test

    @property
    def noise(self) -> float:
        """Half-width in points of the band a gain must leave to count (module doc)."""
        p0, p1 = self.before / 100, self.after / 100
        se = math.sqrt((p0 * (1 - p0) + p1 * (1 - p1)) / self.n_test)
        return max(200 * se, 2 * self.clip_points)

    @property
    def status(self) -> str:
        """``paid off``, ``no clear gain``, ``worse``, ``too few test clips`` or ``cannot be
        judged`` (no test clip can be right)."""
        if self.reachable == 0:
            return UNREACHABLE
        best = Verdict(self.rep, self.before, self.ceiling, self.n_test)
        if self.ceiling - self.before <= best.noise:
            return TOO_FEW
        if self.gain > self.noise:
            return PAID_OFF
        return WORSE if self.gain < -self.noise else NO_GAIN

    def line(self) -> str:
        """One line for the console: ``SEQ kNN 39.0 -> 73.8 % (+34.9 points ...): paid off``."""
        return (
            f"{self.rep.upper()} kNN top-1 {self.before:.1f} -> {self.after:.1f} % "
            f"({self.gain:+.1f} points over its own random init at epoch 0; {self.n_test} test "
            f"clips: a point is {self.n_test / 100:.2f} clips, one clip {self.clip_points:.2f} "
            f"points; the noise band +/-{self.noise:.1f} points"
            + (
                f"; only {self.reachable} of {self.n_test} test clips have a class seen in "
                f"training: top-1 at most {self.ceiling:.1f} %"
                if self.ceiling < 100
                else ""
            )
            + f"): {self.status}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "gain": round(self.gain, 3),
            "noise": round(self.noise, 3),
            "points_per_clip": round(self.clip_points, 4),
            "clips_per_point": round(self.n_test / 100, 4),
            "status": self.status,
        }


def judge(
    records: list[dict[str, Any]], n_test: int, reachable: int | None = None
) -> list[Verdict]:
    """Verdicts from a run's ``metrics.jsonl`` records: for every ``knn/<rep>`` key, its
    first measurement (epoch 0) against its last. Empty when the run has no epoch-0 kNN
    (monitor off, or no labelled test split)."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for rec in records:
        for key, value in rec.items():
            if key.startswith("knn/") and isinstance(value, int | float):
                rep = key.split("/", 1)[1]
                if rec.get("epoch") == 0:
                    first.setdefault(rep, float(value))
                last[rep] = float(value)
    return [Verdict(rep, first[rep], last[rep], n_test, reachable) for rep in first if n_test > 0]


def read_records(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The JSON records of ``run/metrics.jsonl`` (a torn last line is skipped)."""
    path = Path(run) / "metrics.jsonl"
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def advice(verdicts: list[Verdict], steps: int, levers: Sequence[str] = ()) -> str:
    """What to try when an encoder did not pay off (empty when all did); ``levers``: the
    measured levers that apply to this run (:func:`levers`)."""
    bad = [v.rep.upper() for v in verdicts if v.status != PAID_OFF]
    if not bad:
        return ""
    if any(v.status == UNREACHABLE for v in verdicts):
        return (
            f"none of the {verdicts[0].n_test} test clips has a class that occurs in the "
            "training split, so kNN cannot tell whether pre-training paid off; judge it on "
            "a benchmark whose test classes are trained on (skelcon prepare names them)"
        )
    if any(v.status == TOO_FEW for v in verdicts):
        n = verdicts[0].n_test
        return (
            f"the {n} test clips cannot tell whether pre-training paid off for "
            f"{', '.join(bad)}; judge it on a larger test split (skelcon eval knn|linear)"
        )
    try_ = f"; try {' or '.join(levers)}" if levers else ""
    return (
        f"pre-training did not pay off for {', '.join(bad)} in {steps} steps{try_}; see "
        f"docs/pretraining.md, section 6.5 ('Did it pay off?'), before using these weights"
    )


def levers(steps: int, two_d: bool, cropped: bool) -> list[str]:
    """The levers measured in docs/pretraining.md (section 6) that a run has not pulled:
    more steps below a few thousand, a temporal crop of 2D keypoints when it was off."""
    out = []
    if steps < 5000:
        out.append(f"more steps (--set min_steps={max(2 * steps, 1000)})")
    if two_d and not cropped:
        out.append("a temporal crop of the 2D keypoints (--set augment.temporal_2d=true)")
    return out


def conclude(
    run: str | os.PathLike[str],
    n_test: int,
    steps: int,
    *,
    echo: bool = True,
    tips: Sequence[str] = (),
    reachable: int | None = None,
) -> list[Verdict]:
    """Judge a finished run from its ``metrics.jsonl``; write ``run/verdict.json``
    (atomically) and, with ``echo``, print one line per encoder and a warning naming the
    encoders that did not pay off (stderr). ``reachable``: the test clips whose class occurs
    in training (None: all). Returns the verdicts (empty: nothing to judge)."""
    verdicts = judge(read_records(run), n_test, reachable)
    if not verdicts:
        return verdicts
    rule = " ".join(__doc__.split("\n\n")[1].replace("``", "").split())
    doc = {
        "steps": steps,
        "n_test": n_test,
        "rule": rule,
        "encoders": {v.rep: v.to_dict() for v in verdicts},
    }
    text = json.dumps(doc, indent=1)
    atomic_write(Path(run) / "verdict.json", lambda p: p.write_text(text))
    if echo:
        for v in verdicts:
            print(f"skelcon: verdict: {v.line()}", file=sys.stderr)
        warn = advice(verdicts, steps, list(tips))
        if warn:
            print(f"skelcon: warning: {warn}", file=sys.stderr)
    return verdicts
