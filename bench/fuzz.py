"""Fuzz every skelcon reader and print the outcome counts per reader.

Each case mutates a real file from the shared data (``$SKELCON_SHARED_DATA`` or
``../shared/data``; synthesised inputs when absent) or synthesises one, feeds it to a
reader and classifies the outcome (the harness in ``tests/fuzz``): ``ok``,
``skipped``, ``refused`` (one-line SkelconError) are fine; ``TRACEBACK``,
``multiline``, ``NaN``, ``hang``, ``incomplete-output``, ``silent`` are bugs. Exits 1 when any
case is bad, after printing a reproducer for each.

    PYTHONPATH=src .venv/bin/python bench/fuzz.py --cases 10000 --seed 0 --jobs 2
    PYTHONPATH=src .venv/bin/python bench/fuzz.py --replay ntu:1234   # one case, verbose
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# the harness is test code (tests/fuzz, not installed): importable as `fuzz` from tests/
_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
from fuzz import OUTCOMES, READERS, CaseResult, Corpus, run_case, schedule  # noqa: E402

_CORPUS: Corpus | None = None


def shared_dir() -> Path | None:
    """The shared real-data folder, as the tests find it."""
    env = os.environ.get("SKELCON_SHARED_DATA")
    for c in ([Path(env)] if env else []) + [
        Path(__file__).resolve().parents[1].parent / "shared" / "data"
    ]:
        if c.is_dir():
            return c
    return None


def _init(shared: str | None) -> None:
    global _CORPUS
    _CORPUS = Corpus.load(shared)


def _run(job: tuple[str, int, float]) -> CaseResult:
    reader, seed, limit = job
    assert _CORPUS is not None
    return run_case(reader, seed, _CORPUS, limit=limit)


def table(results: list[CaseResult], seconds: float) -> str:
    """Reader x outcome counts as a fixed-width text table."""
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results:
        counts[r.reader][r.outcome] += 1
    cols = list(OUTCOMES)
    w = max(len(r) for r in READERS) + 2
    cw = {c: max(9, len(c)) + 2 for c in cols}
    lines = [f"{'reader':<{w}}" + "".join(f"{c:>{cw[c]}}" for c in cols) + f"{'total':>8}"]
    total: collections.Counter = collections.Counter()
    for reader in READERS:
        if reader in counts:
            c = counts[reader]
            total.update(c)
            lines.append(
                f"{reader:<{w}}"
                + "".join(f"{c[o]:>{cw[o]}}" for o in cols)
                + f"{sum(c.values()):>8}"
            )
    lines.append(
        f"{'all':<{w}}"
        + "".join(f"{total[o]:>{cw[o]}}" for o in cols)
        + f"{sum(total.values()):>8}"
    )
    lines.append(f"{len(results)} cases in {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=10000, help="number of cases (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="base seed (case i uses seed*10**7 + i)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per case before 'hang'")
    ap.add_argument(
        "--readers",
        nargs="+",
        choices=sorted(READERS),
        default=None,
        help="only these readers (default: all, weighted)",
    )
    ap.add_argument("--replay", metavar="READER:SEED", help="run one case and show it in full")
    args = ap.parse_args(argv)
    shared = shared_dir()
    if args.replay:
        reader, _, seed = args.replay.partition(":")
        r = run_case(reader, int(seed), Corpus.load(shared), limit=args.limit)
        print(
            f"{r.reader}:{r.seed} -> {r.outcome} ({r.seconds:.2f} s)\n  mutation: {r.mutation}\n  detail: {r.detail}"
        )
        return 1 if r.bad else 0
    print(
        f"corpus: {'real files from ' + str(shared) if shared else 'synthesised (no shared data)'}"
    )
    readers = schedule(args.cases)
    if args.readers:
        readers = [args.readers[i % len(args.readers)] for i in range(args.cases)]
    jobs = [(r, args.seed * 10**7 + i, args.limit) for i, r in enumerate(readers)]
    t0 = time.perf_counter()
    results: list[CaseResult] = []
    arg = str(shared) if shared else None
    if args.jobs <= 1:
        _init(arg)
        results = [_run(j) for j in jobs]
    else:
        with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=(arg,)) as pool:
            results = list(pool.map(_run, jobs, chunksize=16))
    seconds = time.perf_counter() - t0
    print(table(results, seconds))
    slow = sorted(results, key=lambda r: -r.seconds)[:3]
    print("slowest: " + ", ".join(f"{r.reader}:{r.seed} {r.seconds:.2f} s" for r in slow))
    bad = [r for r in results if r.bad]
    for r in bad:
        print(
            f"BAD {r.outcome}: reproduce with --replay {r.reader}:{r.seed}\n"
            f"    mutation: {r.mutation}\n    detail: {r.detail}"
        )
    print(f"{len(bad)} bad outcomes" if bad else "no bad outcomes")
    return 1 if bad else 0


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    sys.exit(main())
