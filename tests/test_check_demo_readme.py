"""scripts/check_demo_readme.py: the CI check that the README's demo figures are the
ones the demo prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_demo_readme.py"


def _run(tmp_path, stated: str, results: dict) -> subprocess.CompletedProcess:
    (tmp_path / "README.md").write_text(
        f"x\n<!-- demo-results -->{stated}\n<!-- /demo-results -->\n"
    )
    (tmp_path / "results.json").write_text(json.dumps(results))
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "results.json"), str(tmp_path / "README.md")],
        capture_output=True,
        text=True,
    )


RESULTS = {
    "pretrained": {"linear": 80.94, "knn": 56.99},
    "random_init": {"linear": 56.12, "knn": 38.81},
}


def test_agreeing_figures_pass(tmp_path):
    r = _run(
        tmp_path,
        "printing SEQ linear 81.5 / kNN 56.0 pre-trained\nagainst 56.12 / 38.81 at random init",
        RESULTS,
    )
    assert r.returncode == 0, r.stdout


def test_stale_figure_fails(tmp_path):
    r = _run(
        tmp_path,
        "SEQ linear 59.27 / kNN 56.99 pre-trained against 56.12 / 38.81 at random init",
        RESULTS,
    )
    assert r.returncode == 1 and "pretrained linear states 59.27, the demo gave 80.94" in r.stdout


def test_missing_line_fails(tmp_path):
    (tmp_path / "README.md").write_text("no figures\n")
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    r = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "results.json"), str(tmp_path / "README.md")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "no demo-results line" in r.stdout
