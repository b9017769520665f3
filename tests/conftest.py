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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``shared_data`` every test that uses the real dataset samples, directly or
    through a fixture built on them (``readme_prepared``, ``pku1_dirs``, ...), so that
    ``-m "not shared_data"`` runs without them; those on the README's preparations
    (``readme_prepared``: NTU-60, NTU-120 and PKU-MMD I, about a minute) also ``slow``."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "shared_data" in names:
            item.add_marker(pytest.mark.shared_data)
        if "readme_prepared" in names:
            item.add_marker(pytest.mark.slow)


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


# The official download names the README's `skelcon prepare` lines read, and where the
# shared samples hold them.
README_DOWNLOADS = {
    "nturgbd_skeletons_s001_to_s017.zip": "ntu/nturgbd_skeletons_s001_to_s017.zip",
    "nturgbd_skeletons_s018_to_s032.zip": "ntu/nturgbd_skeletons_s018_to_s032.zip",
    "PKU_Skeleton_Renew": "pku_mmd/v1/PKU_Skeleton_Renew",
    "Train_Label_PKU_final": "pku_mmd/v1/Train_Label_PKU_final",
    "Split": "pku_mmd/v1/Split",
}


@pytest.fixture(scope="session")
def readme_prepared(shared_data: Path, tmp_path_factory) -> dict[str, Path]:
    """The README's "Using it" ``skelcon prepare`` lines for NTU-60, NTU-120 and PKU-MMD I,
    run as written in a folder where the shared samples stand under their official
    download names; ``{"data/pku1": path, ...}`` by the ``--out`` of each line. The PKU-MMD
    line is the one behind the README's Results table (the only PKU-MMD preparation of
    the suite: about 40 s of CPU)."""
    import contextlib
    import io

    from test_readme import README, readme_prepare_lines

    from skelcon.cli import main

    root = tmp_path_factory.mktemp("readme_shared")
    for name, rel in README_DOWNLOADS.items():
        if not (shared_data / rel).exists():
            pytest.skip(f"{rel} is not in the shared data")
        (root / name).symlink_to(shared_data / rel)
    out: dict[str, Path] = {}
    here = Path.cwd()
    os.chdir(root)
    try:
        for argv in readme_prepare_lines(README.read_text(), ("ntu60", "ntu120", "pku-mmd1")):
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                assert main(argv) == 0, argv
            target = argv[argv.index("--out") + 1]
            out[target] = root / target
            (root / f"{target}.out").write_text(text.getvalue())  # what it printed
    finally:
        os.chdir(here)
    return out
