"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$SKELCON_SHARED_DATA`` or ``<repo>/../shared/data``, if it exists."""
    env = os.environ.get("SKELCON_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real dataset samples; skips the test when they are not available."""
    d = shared_data_dir()
    if d is None:
        pytest.skip(
            "real data samples not found (set SKELCON_SHARED_DATA or put shared/ beside the repo)"
        )
    return d


def shared_cases_dir() -> Path | None:
    """``$SKELCON_SHARED_CASES`` or ``<repo>/../shared/cases``, if it exists."""
    env = os.environ.get("SKELCON_SHARED_CASES")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "cases")
    return next((c for c in candidates if c.is_dir()), None)


@pytest.fixture(scope="session")
def shared_cases() -> Path:
    """The handed failing inputs (shared/cases); skips the test when they are absent."""
    d = shared_cases_dir()
    if d is None:
        pytest.skip(
            "failing-input cases not found (set SKELCON_SHARED_CASES or put shared/ beside the repo)"
        )
    return d


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A tiny NTU-layout prepared dataset shared by the engine and eval tests."""
    from tinydata import make_tiny_prepared

    return make_tiny_prepared(tmp_path_factory.mktemp("tiny") / "prepared")
