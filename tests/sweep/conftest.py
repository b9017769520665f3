"""Fixtures of the sweep tests: a small sweep file and a stand-in for ``python -m
skelcon`` (``fake_skelcon.py``) that the runner starts instead of the real commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sweep_helpers import SWEEP

FAKE = Path(__file__).with_name("fake_skelcon.py")


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    """A 4-point sweep (SEQ alone and SEQ+STG, seeds 0 and 1), linear on each."""
    path = tmp_path / "small.yaml"
    path.write_text(SWEEP)
    return path


class Fake:
    """The stand-in's calls (one dict per command: argv, threads, start, end)."""

    def __init__(self, calls: Path):
        self.calls_path = calls

    def calls(self) -> list[dict]:
        if not self.calls_path.exists():
            return []
        return [json.loads(line) for line in self.calls_path.read_text().splitlines()]

    def commands(self) -> list[tuple[str, str]]:
        """(command, point id) of every call, in order."""
        out = []
        for c in self.calls():
            argv = c["argv"]
            target = argv[argv.index("--out") + 1]
            point = Path(target).parts[Path(target).parts.index("points") + 1]
            out.append((" ".join(argv[:2]) if argv[0] == "eval" else argv[0], point))
        return out


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Fake:
    """The runner starts ``fake_skelcon.py`` instead of ``python -m skelcon``."""
    import skelcon.sweep.runner as runner

    calls = tmp_path / "calls.jsonl"
    monkeypatch.setattr(runner, "SKELCON", (sys.executable, str(FAKE)))
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    monkeypatch.delenv("FAKE_FAIL", raising=False)
    monkeypatch.delenv("FAKE_EPOCH_S", raising=False)
    return Fake(calls)
