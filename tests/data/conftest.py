"""Fixtures shared by the dataset tests: the PKU-MMD Phase I shared subset, prepared
once per session (about 400k frames: the slowest preparation in the suite)."""

from __future__ import annotations

import time
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
def pku1_prepared(pku1_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``skelcon prepare pku-mmd1`` of the shared subset (default official splits)."""
    from skelcon.data.pku import prepare_pku

    out = tmp_path_factory.mktemp("pku1") / "prepared"
    t0 = time.perf_counter()
    prepare_pku("pku-mmd1", pku1_dirs["raw"], pku1_dirs["labels"], out, workers=2, progress=False)
    print(f"\nPKU-MMD I shared subset prepared in {time.perf_counter() - t0:.1f} s")
    return out
