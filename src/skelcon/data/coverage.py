"""Which classes a prepared dataset really covers, and which test clips can be right.

A top-1 accuracy "over C classes" misleads when some classes have no clip, a handful of
clips, or clips in only one split: a test clip whose class never occurs in training can
never be classified right, by any encoder, pre-trained or random. :func:`class_coverage`
is computed once by every ``prepare`` (meta.json ``class_coverage``) and printed as
notes by :func:`coverage_notes`; :func:`reachable` is what every accuracy printout
says when some test clips cannot be right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FEW = 5  # a class with 1..FEW-1 clips is "tiny": a split can leave it out of train or test
LISTED = 10  # class names shown in a note (meta.json lists them all)


def class_coverage(
    labels: np.ndarray,
    classes: Sequence[str],
    splits: Mapping[str, Mapping[str, np.ndarray]],
    few: int = FEW,
) -> dict:
    """Per-class clip counts and split coverage of a prepared dataset.

    ``labels``: ``(N,)`` 0-based class of every stored sample; ``classes``: the C class
    names; ``splits``: ``{benchmark: {split: (n,) sample indices}}``. Returns the
    meta.json ``class_coverage`` entry: ``empty`` / ``tiny`` (1..few-1 clips) class
    names, and per benchmark the classes with clips in ``test`` but none in ``train``
    (``test_only``; their test clips can never be right) and with train clips but no
    test clip (``train_only``), and ``reachable_test`` / ``num_test`` (test clips whose
    class has a training clip / all test clips)."""
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=len(classes))
    out: dict = {
        "few": few,
        "empty": [classes[c] for c in np.flatnonzero(counts == 0)],
        "tiny": [classes[c] for c in np.flatnonzero((counts > 0) & (counts < few))],
        "benchmarks": {},
    }
    for bench, parts in splits.items():
        tr = labels[np.asarray(parts.get("train", []), dtype=np.int64)]
        te = labels[np.asarray(parts.get("test", []), dtype=np.int64)]
        if not len(te):
            continue
        has_tr, has_te = (
            np.bincount(tr, minlength=len(classes)) > 0,
            np.bincount(te, minlength=len(classes)) > 0,
        )
        out["benchmarks"][bench] = {
            "test_only": [classes[c] for c in np.flatnonzero(has_te & ~has_tr)],
            "train_only": [classes[c] for c in np.flatnonzero(has_tr & ~has_te)],
            "reachable_test": int(has_tr[te].sum()),
            "num_test": int(len(te)),
        }
    return out


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def coverage_notes(meta: Mapping, *, drop_hint: str = "") -> list[str]:
    """One-line notes about the classes of a prepared dataset's ``meta`` (``meta.json``)
    that have no clip, fewer than ``few`` clips, or clips in only one split of a
    benchmark; ``[]`` when every class is covered. ``drop_hint`` (e.g. the flag that
    keeps only frequent classes) is appended to the note on empty and tiny classes."""
    cov = meta.get("class_coverage")
    if not cov:
        return []
    n = len(meta.get("classes", []))
    notes = []
    parts = []
    if cov["empty"]:
        parts.append(
            f"{_count(len(cov['empty']), 'class has', 'classes have')} no clip "
            f"({_names(cov['empty'])})"
        )
    if cov["tiny"]:
        parts.append(
            f"{_count(len(cov['tiny']), 'class has', 'classes have')} only "
            f"1-{cov['few'] - 1} clips ({_names(cov['tiny'])})"
        )
    if parts:
        notes.append(
            f"of {n} classes, "
            + " and ".join(parts)
            + "; an accuracy 'over all classes' counts them (meta.json class_coverage)"
            + (f"; {drop_hint}" if drop_hint else "")
        )
    for bench in meta.get("benchmarks", {}):
        if bench not in cov["benchmarks"]:  # no test split (e.g. --test-fraction 0)
            notes.append(
                f"benchmark {bench} has no test split: the evaluations (eval knn, "
                "linear, ...) and the pre-training kNN monitor need one"
            )
    for bench, b in cov["benchmarks"].items():
        if b["test_only"]:
            lost = b["num_test"] - b["reachable_test"]
            notes.append(
                f"benchmark {bench}: {_count(len(b['test_only']), 'class has', 'classes have')} "
                f"test clips but no training clip ({_names(b['test_only'])}): {lost} of "
                f"{b['num_test']} test clips can never be classified right (top-1 at most "
                f"{100 * b['reachable_test'] / b['num_test']:.1f} %)"
            )
        if b["train_only"]:
            notes.append(
                f"benchmark {bench}: {_count(len(b['train_only']), 'class has', 'classes have')} "
                f"training clips but no test clip ({_names(b['train_only'])}): the test split "
                "does not measure " + ("it" if len(b["train_only"]) == 1 else "them")
            )
    return notes


def reachable(train_labels: np.ndarray, test_labels: np.ndarray) -> tuple[int, int]:
    """``(k, n)``: of the ``n`` test clips, the ``k`` whose class has at least one
    training clip; no classifier trained on ``train_labels`` can get the other
    ``n - k`` right. ``train_labels``: ``(N_train,)``, ``test_labels``: ``(n,)`` ints."""
    seen = np.unique(np.asarray(train_labels, dtype=np.int64))
    test = np.asarray(test_labels, dtype=np.int64)
    return int(np.isin(test, seen).sum()), int(len(test))


def reachable_note(k: int, n: int) -> str:
    """``""`` when every test clip's class occurs in training, else one line saying how
    many test clips could be right at all and the top-1 ceiling that implies."""
    if n == 0 or k == n:
        return ""
    return (
        f"only {k} of {n} test clips have a class that occurs in the training split; the "
        f"other {n - k} can never be right (top-1 at most {100 * k / n:.1f} %, for "
        "pre-trained and random weights alike)"
    )
