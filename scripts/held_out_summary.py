#!/usr/bin/env python
"""One table of several ``pretraining_study.py`` studies: per set, per encoder and probe,
pre-trained / random init (gain), mean ± std over the seeds each study holds.

    python scripts/held_out_summary.py runs/held/results/ntu120 runs/held/results/utkinect ...

Each directory is aggregated first (``pretraining_study.py --out DIR --table``), so its
``summary.json`` covers every ``seed*/results.json`` found; a row names its seeds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

CELLS = [("seq", "linear"), ("seq", "knn"), ("stg", "linear"), ("stg", "knn")]


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 else 2
    here = Path(__file__).resolve().parent
    print("| set | seeds | " + " | ".join(f"{r.upper()} {p}" for r, p in CELLS) + " |")
    print("|---|---|" + "---|" * len(CELLS))
    for d in map(Path, sys.argv[1:]):
        subprocess.run(
            [sys.executable, str(here / "pretraining_study.py"), "--out", str(d), "--table"],
            check=True,
            capture_output=True,
        )
        s = json.loads((d / "summary.json").read_text())
        cells = []
        for rep, probe in CELLS:
            pre = s["rows"][f"{rep}/pretrained"][probe]
            rnd = s["rows"][f"{rep}/random_init"][probe]
            gain = s["rows"][f"{rep}/gain"][probe]
            cells.append(f"{fmt(pre)} / {fmt(rnd)} (**{fmt(gain)}**)")
        seeds = ", ".join(map(str, s["seeds"]))
        print(f"| {d.name} | {seeds} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
