"""The reader registry and the case runner: :data:`READERS` (name -> case function),
:data:`WEIGHTS` (share of a mixed run), :func:`schedule` and :func:`run_case`."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import cases_config, cases_datasets, cases_imports, cases_owndata, cases_prepared
from .corpus import Corpus
from .mutators import Case
from .outcomes import CaseResult, classify

# The order is part of a run's identity: schedule() breaks ties by it.
READERS: dict[str, Callable[[Case, Corpus], str]] = {
    "ntu": cases_datasets.case_ntu,
    "ntu-prepare": cases_datasets.case_ntu_prepare,
    "pku-skeleton": cases_datasets.case_pku_skeleton,
    "pku-labels": cases_datasets.case_pku_labels,
    "pku-splits": cases_datasets.case_pku_splits,
    "pku-prepare": cases_datasets.case_pku_prepare,
    "ucla": cases_datasets.case_ucla,
    "ucla-prepare": cases_datasets.case_ucla_prepare,
    "import-npy": cases_imports.case_import_npy,
    "import-pyskl": cases_imports.case_import_pyskl,
    "config": cases_config.case_config,
    "layout": cases_owndata.case_layout,
    "kinetics": cases_owndata.case_kinetics,
    "kinetics-prepare": cases_owndata.case_kinetics_prepare,
    "folder-prepare": cases_owndata.case_folder_prepare,
    "openpose-prepare": cases_owndata.case_openpose_prepare,
    "missing-joints": cases_owndata.case_missing_joints,
    "csv-locale": cases_owndata.case_csv_locale,
    "axes": cases_owndata.case_axes,
    "folder-tree-prepare": cases_owndata.case_folder_tree,
    "prepared-open": cases_prepared.case_prepared_open,
    "checkpoint-open": cases_prepared.case_checkpoint_open,
}
# share of the cases per reader in a mixed run (reader level cheap, end to end less)
WEIGHTS: dict[str, int] = {
    "ntu": 14,
    "ntu-prepare": 5,
    "pku-skeleton": 12,
    "pku-labels": 12,
    "pku-splits": 6,
    "pku-prepare": 5,
    "ucla": 12,
    "ucla-prepare": 5,
    "import-npy": 10,
    "import-pyskl": 10,
    "config": 12,
    "layout": 8,
    "kinetics": 10,
    "kinetics-prepare": 5,
    "folder-prepare": 6,
    "openpose-prepare": 5,
    "missing-joints": 6,
    "csv-locale": 6,
    "axes": 6,
    "folder-tree-prepare": 4,
    "prepared-open": 10,
    "checkpoint-open": 6,
}


def schedule(cases: int) -> list[str]:
    """The reader of each of ``cases`` cases, interleaved, proportional to WEIGHTS."""
    total = sum(WEIGHTS.values())
    out: list[str] = []
    credit = dict.fromkeys(WEIGHTS, 0.0)
    for _ in range(cases):
        for r in credit:
            credit[r] += WEIGHTS[r] / total
        r = max(credit, key=lambda k: credit[k])
        credit[r] -= 1
        out.append(r)
    return out


def run_case(
    reader: str,
    seed: int,
    corpus: Corpus,
    *,
    limit: float = 20.0,
    tmp_root: str | os.PathLike | None = None,
) -> CaseResult:
    """Run one fuzz case of ``reader`` (a key of :data:`READERS`) from ``seed``."""
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"fuzz-{reader}-", dir=tmp_root))
    case = Case(random.Random(f"{reader}:{seed}"), tmp)
    try:
        outcome, detail = classify(lambda: READERS[reader](case, corpus), limit)
        post = case.post
        if post is not None:
            outcome, detail = post(outcome, detail)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return CaseResult(reader, seed, outcome, "; ".join(case.log), detail, time.perf_counter() - t0)
