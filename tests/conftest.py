"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shareddirs import not_found, shared_cases_dir, shared_data_dir

# The suite compares runs bit for bit (exact resume, DDP against one process): keep the
# thread count fixed rather than following the machine's load (tests/utils/test_threads.py
# tests that policy itself).
os.environ.setdefault("SKELCON_THREADS", "torch")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real dataset samples; skips the test when they are not available."""
    d = shared_data_dir()
    if d is None:
        pytest.skip(not_found("real data samples", "SKELCON_SHARED_DATA", "data"))
    return d


@pytest.fixture(scope="session")
def shared_cases() -> Path:
    """The handed failing inputs (shared/cases); skips the test when they are absent."""
    d = shared_cases_dir()
    if d is None:
        pytest.skip(not_found("failing-input cases", "SKELCON_SHARED_CASES", "cases"))
    return d


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A tiny NTU-layout prepared dataset shared by the engine and eval tests."""
    from tinydata import make_tiny_prepared

    return make_tiny_prepared(tmp_path_factory.mktemp("tiny") / "prepared")
