"""``$SKELCON_SHARED_DATA`` / ``$SKELCON_SHARED_CASES`` take the shared root or the
folder itself; skip reasons say what was looked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import shareddirs
from shareddirs import not_found, resolve_shared_dir, shared_cases_dir, shared_data_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_shared(tmp_path, monkeypatch) -> Path:
    """``tmp/shared/{data/ntu, data/pku_mmd, cases/x}``, and no ``<repo>/../shared``."""
    root = tmp_path / "shared"
    for d in ("data/ntu", "data/pku_mmd", "cases/x"):
        (root / d).mkdir(parents=True)
    monkeypatch.setattr(shareddirs, "REPO", tmp_path / "elsewhere" / "repo")
    return root


@pytest.mark.parametrize("given", ["root", "data", "root/"])
def test_data_variable_takes_the_root_or_the_data_folder(fake_shared, monkeypatch, given):
    path = {"root": fake_shared, "data": fake_shared / "data", "root/": f"{fake_shared}/"}[given]
    monkeypatch.setenv("SKELCON_SHARED_DATA", str(path))
    assert shared_data_dir() == fake_shared / "data"


@pytest.mark.parametrize("given", ["root", "cases"])
def test_cases_variable_takes_the_root_or_the_cases_folder(fake_shared, monkeypatch, given):
    path = fake_shared if given == "root" else fake_shared / "cases"
    monkeypatch.setenv("SKELCON_SHARED_CASES", str(path))
    assert shared_cases_dir() == fake_shared / "cases"


def test_default_beside_the_repo(tmp_path, monkeypatch, fake_shared):
    monkeypatch.delenv("SKELCON_SHARED_DATA", raising=False)
    monkeypatch.delenv("SKELCON_SHARED_CASES", raising=False)
    assert shared_data_dir() is None and shared_cases_dir() is None
    monkeypatch.setattr(shareddirs, "REPO", fake_shared.parent / "repo")
    assert shared_data_dir() == fake_shared / "data"
    assert shared_cases_dir() == fake_shared / "cases"


def test_wrong_variable_is_named_in_the_skip_reason(fake_shared, monkeypatch):
    monkeypatch.setenv("SKELCON_SHARED_DATA", str(fake_shared / "cases"))  # no ntu/, no data/
    assert shared_data_dir() is None
    reason = not_found("real data samples", "SKELCON_SHARED_DATA", "data")
    assert "SKELCON_SHARED_DATA=" in reason and "cases" in reason and "data/ folder" in reason
    assert resolve_shared_dir(fake_shared / "missing", "data") is None


def test_skip_reasons_are_shown_by_default():
    """pyproject's addopts include -rs: the summary lists every skip with its reason."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    addopts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-rs" in addopts["addopts"].split()


def test_shared_root_runs_the_real_data_tests(tmp_path):
    """End to end: with the variable at the shared root, a real-data test runs (not skipped)."""
    real = shared_data_dir()
    if real is None:
        pytest.skip(not_found("real data samples", "SKELCON_SHARED_DATA", "data"))
    env = {**os.environ, "SKELCON_SHARED_DATA": str(real.parent), "PYTHONPATH": str(REPO / "src")}
    test = "tests/utils/test_text.py::test_ntu_skeleton_bytes_with_bom_and_line_ends"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-p", "no:cacheprovider", "-o", "addopts=-rs"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr
