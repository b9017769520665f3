#!/usr/bin/env python
"""Check that the demo figures the README states are what ``skelcon demo`` printed.

    python scripts/check_demo_readme.py [RESULTS_JSON] [README]   (defaults:
    runs/demo/results.json, README.md)

The README's line between the ``<!-- demo-results -->`` markers reads
``SEQ linear P_LIN / kNN P_KNN pre-trained against R_LIN / R_KNN at random init``; each
figure must be within TOLERANCE points (top-1 %) of ``results.json``. The demo is seeded
and deterministic on one machine; other CPUs (other BLAS kernels, other float rounding)
move single test clips, hence the tolerance. Exit 1 with one line per figure that
differs, 0 when all agree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TOLERANCE = 2.0  # points of top-1 %: ~5 of the 260 synthetic test clips
LINE = re.compile(r"<!-- demo-results -->(?P<text>.*?)<!-- /demo-results -->", re.DOTALL)
FIGURES = re.compile(
    r"SEQ linear (?P<p_lin>[\d.]+) / kNN (?P<p_knn>[\d.]+) pre-trained against "
    r"(?P<r_lin>[\d.]+) / (?P<r_knn>[\d.]+) at random init"
)


def main(argv: list[str]) -> int:
    results = Path(argv[0] if argv else "runs/demo/results.json")
    readme = Path(argv[1] if len(argv) > 1 else "README.md")
    got = json.loads(results.read_text())
    m = LINE.search(readme.read_text())
    f = FIGURES.search(" ".join(m.group("text").split())) if m else None
    if f is None:
        print(f"{readme}: no demo-results line (see {__file__})")
        return 1
    bad = []
    for key, (row, col) in {
        "p_lin": ("pretrained", "linear"),
        "p_knn": ("pretrained", "knn"),
        "r_lin": ("random_init", "linear"),
        "r_knn": ("random_init", "knn"),
    }.items():
        stated, measured = float(f.group(key)), float(got[row][col])
        if abs(stated - measured) > TOLERANCE:
            bad.append(
                f"{readme}: {row} {col} states {stated}, the demo gave {measured} "
                f"(tolerance {TOLERANCE})"
            )
    print("\n".join(bad) or f"{readme}: demo figures agree with {results} (within {TOLERANCE})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
