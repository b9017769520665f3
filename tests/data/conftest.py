"""Fixtures shared by the dataset tests: the PKU-MMD Phase I shared subset, prepared
once per session by the README's own command (about 400k frames: the slowest
preparation in the suite; tests/conftest.py ``readme_prepared``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pku1_dirs(shared_data: Path) -> dict[str, Path]:
    """Raw skeleton, label and split folders of the shared PKU-MMD Phase I subset."""
    root = shared_data / "pku_mmd" / "v1"
    dirs = {
        "raw": root / "PKU_Skeleton_Renew",
        "labels": root / "Train_Label_PKU_final",
        "splits": root / "Split",
    }
    if not all(d.is_dir() for d in dirs.values()):
        pytest.skip("PKU-MMD Phase I sample not in the shared data")
    return dirs


@pytest.fixture(scope="session")
def pku1_prepared(readme_prepared: dict[str, Path]) -> Path:
    """The shared subset as the README's ``skelcon prepare pku-mmd1`` line prepares it
    (official split lists, ``--min-instances 50``: the 8 interaction classes)."""
    return readme_prepared["data/pku1"]
