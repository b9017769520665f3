"""The outcome classifier: what a case's run means (:data:`OUTCOMES`; :data:`GOOD`
and :data:`BAD`), the per-case time limit, and the checks of a prepared sample or
directory against the documented contract.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelcon.errors import SkelconError

OUTCOMES = (
    "ok",
    "skipped",
    "refused",
    "TRACEBACK",
    "multiline",
    "NaN",
    "hang",
    "incomplete-output",
    "silent",  # wrong data accepted without a word (a reader's own check says so)
)
GOOD = frozenset(["ok", "skipped", "refused"])
BAD = frozenset(OUTCOMES) - GOOD


class _Hang(BaseException):
    """Raised by the alarm: a case ran over its time limit (not an Exception, so that
    readers' ``except Exception`` blocks cannot swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Hang` after ``seconds`` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class CaseResult:
    """The outcome of one case; ``mutation`` describes the input, ``detail`` the
    error message or traceback tail."""

    reader: str
    seed: int
    outcome: str
    mutation: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def bad(self) -> bool:
        return self.outcome in BAD


def check_sample(
    x: np.ndarray, shape: tuple[int, ...], num_frames: int, label: int, num_classes: int
) -> str | None:
    """None when a prepared sample is sound, else the bad outcome."""
    if tuple(x.shape) != shape or x.dtype != np.float32:
        return "incomplete-output"
    if not np.isfinite(x).all():
        return "NaN"
    if not 1 <= num_frames <= shape[1] or not 0 <= label < num_classes:
        return "incomplete-output"
    return None


def check_output(out: Path) -> str:
    """Classify a prepared directory that a prepare call returned: ``ok``, ``skipped``,
    ``NaN`` or ``incomplete-output``."""
    from skelcon.data.prepared import read_meta

    try:
        meta = read_meta(out)
        data = np.load(out / "data.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(out / "labels.npy", allow_pickle=False)
        frames = np.load(out / "num_frames.npy", allow_pickle=False)
        names = np.load(out / "names.npy", allow_pickle=False)
        n = meta["counts"]["samples"]
        ok = (
            list(data.shape) == list(meta["shape"])
            and data.shape[0] == n == len(labels) == len(frames) == len(names)
            and data.dtype == np.float32
            and (n == 0 or (labels.min() >= 0 and labels.max() < meta["num_classes"]))
            and (n == 0 or (frames.min() >= 1 and frames.max() <= meta["max_frames"]))
            and len(set(names.tolist())) == n
        )
        for bench, parts in meta["benchmarks"].items():
            for split, count in parts.items():
                idx = np.load(out / "splits" / bench / f"{split}.npy", allow_pickle=False)
                ok = ok and len(idx) == count and (count == 0 or (idx.min() >= 0 and idx.max() < n))
    except (SkelconError, OSError, ValueError, KeyError, TypeError) as e:
        return f"incomplete-output:{type(e).__name__}: {e}"
    if not ok:
        return "incomplete-output:arrays disagree with meta.json"
    for s in range(0, n, 256):
        if not np.isfinite(data[s : s + 256]).all():
            return "NaN"
    return "skipped" if meta["skipped"] else "ok"


def classify(fn: Callable[[], str], limit: float) -> tuple[str, str]:
    """Run ``fn`` (which returns a good or bad outcome, optionally ``outcome:detail``)
    under the time limit and classify what it raised."""
    try:
        with (
            time_limit(limit),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            res = fn()
    except _Hang:
        return "hang", f"over {limit:g} s"
    except SkelconError as e:
        msg = str(e)
        if not msg.strip() or "\n" in msg or "\r" in msg:
            return "multiline", repr(msg[:300])
        return "refused", msg[:300]
    except RecursionError as e:  # a traceback, but keep the report short
        return "TRACEBACK", f"RecursionError: {e}"
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb[-3:]))
        return "TRACEBACK", f"{type(e).__name__}: {str(e)[:200]} at {where}"
    outcome, _, detail = res.partition(":")
    return outcome, detail


def out_after_refusal(out: Path) -> Callable[[str, str], tuple[str, str]]:
    def post(outcome: str, detail: str) -> tuple[str, str]:
        partial = out.parent / f".{out.name}.partial"
        if partial.exists():
            return "incomplete-output", f"{partial.name} left behind after: {outcome} {detail}"
        if outcome != "refused":
            return outcome, detail
        if out.exists():
            return "incomplete-output", f"{out.name} exists after: {detail}"
        return outcome, detail

    return post


def expect_check(out: Path, expect: dict[str, Any]) -> str:
    """The prepared ``out`` against what a fuzz case knows of its input: ``silent`` (with
    what) when wrong data were accepted without a word, else :func:`check_output`'s."""
    from skelcon.data.prepared import read_meta

    res = check_output(out)
    if res.split(":")[0] not in ("ok", "skipped"):
        return res
    meta = read_meta(out)
    if "refuse" in expect:
        return f"silent:accepted although {expect['refuse']}"
    if "channels" in expect and meta["channels"] != expect["channels"]:
        return f"silent:channels {meta['channels']} != {expect['channels']}"
    if "max_samples" in expect and meta["counts"]["samples"] > expect["max_samples"]:
        return f"silent:{meta['counts']['samples']} samples kept, at most {expect['max_samples']}"
    if "shape" in expect and meta["shape"][1:] != expect["shape"]:
        return f"silent:(C, T, V, M) {meta['shape'][1:]} != {expect['shape']}: axes misread"
    if "unused" in expect and meta.get("unused_count") != expect["unused"]:
        return f"silent:{expect['unused']} files not read, {meta.get('unused_count')} accounted for"
    if "max_persons" in expect and meta["num_persons"] > expect["max_persons"]:
        return f"silent:M={meta['num_persons']}: frame and person axes swapped"
    if "nonfinite" in expect:
        got = sum(r["joints"] for r in meta.get("nonfinite_joints", []))
        if got != expect["nonfinite"] and not meta["skipped"]:
            return f"silent:{expect['nonfinite']} non-finite joints, {got} counted"
    return res
