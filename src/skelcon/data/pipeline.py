"""The shared driver of every ``skelcon prepare``: parse raw files in a process pool,
stream the samples into a :class:`~skelcon.data.prepared.PreparedWriter`.

A dataset module supplies a list of picklable *tasks* (one per sample, e.g. a path)
and a module-level ``parse_fn(task) -> Sample`` that raises
:class:`~skelcon.errors.DataFormatError` on bad input. :func:`run_prepare` then

* runs ``parse_fn`` over the tasks, in this process (``workers=1``) or in a pool of
  ``workers`` processes, results in task order (deterministic output);
* writes every sample straight into the writer's memory map as it arrives; at most a
  bounded number of samples are in flight, so RAM does not grow with the task count;
* on bad input prints ``skipped <file>:<line>: <reason>`` and records it with
  ``writer.skip`` (default), or re-raises the first error (``strict=True``; the CLI
  prints it on one line and exits 2);
* shows a tqdm progress bar with rate and ETA on stderr.

Usage::

    report = run_prepare(files, parse_ntu_file, writer, workers=4, strict=False,
                         desc="ntu60")
    report.indices["S001C001P001R001A001"]  # -> row in the prepared arrays
    writer.finalize(splits)

Pool processes start with ``forkserver`` (``spawn`` where unavailable), so ``parse_fn``
and the tasks must be importable/picklable, and a script calling this with
``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard.

The writer is not finalised here: an interrupted or failed run leaves only the
writer's hidden ``.partial`` directory, which ``load_prepared`` never accepts, and the
next run starts afresh.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataFormatError, SkelconError
from .prepared import PreparedWriter

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["PrepareReport", "Sample", "run_prepare"]


@dataclass
class Sample:
    """One prepared sample as a parser returns it.

    ``x``: ``(C, T_max, V, M)`` float32; ``label``: 0-based; ``num_frames``: valid
    frames; ``info``: small JSON-serialisable facts kept by the caller (e.g.
    ``{"truncated_from": 412}``).
    """

    name: str
    x: np.ndarray
    label: int
    num_frames: int
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class PrepareReport:
    """What :func:`run_prepare` did: ``indices`` maps each added sample name to its
    row; ``info`` holds the non-empty ``Sample.info`` per name; ``skipped`` lists
    ``(name, message)`` of the samples left out for bad input."""

    indices: dict[str, int] = field(default_factory=dict)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Failure:
    name: str
    message: str
    path: str | None
    line: int | None
    reason: str


class _Call:
    """Picklable wrapper: ``parse_fn(task)`` with DataFormatError turned into a value."""

    def __init__(self, parse_fn: Callable[[Any], Sample], name_fn: Callable[[Any], str]):
        self.parse_fn = parse_fn
        self.name_fn = name_fn

    def __call__(self, task: Any) -> Sample | _Failure:
        try:
            return self.parse_fn(task)
        except DataFormatError as e:
            return _Failure(self.name_fn(task), str(e), e.path, e.line, e.reason)


def _default_name(task: Any) -> str:
    return str(getattr(task, "name", task))


class _Feeder:
    """Yields the tasks to the pool, at most ``limit`` ahead of the consumer, so that
    finished samples never pile up in RAM. :meth:`stop` unblocks it for shutdown."""

    def __init__(self, tasks: Sequence[Any], limit: int):
        self.tasks = tasks
        self.sem = threading.Semaphore(limit)
        self.stopped = False

    def __iter__(self) -> Iterator[Any]:
        for t in self.tasks:
            self.sem.acquire()
            if self.stopped:
                return
            yield t

    def release(self) -> None:
        self.sem.release()

    def stop(self) -> None:
        self.stopped = True
        self.sem.release()


def run_prepare(
    tasks: Sequence[Any],
    parse_fn: Callable[[Any], Sample],
    writer: PreparedWriter,
    *,
    workers: int = 1,
    strict: bool = False,
    desc: str = "prepare",
    name_fn: Callable[[Any], str] = _default_name,
    chunksize: int | None = None,
    progress: bool = True,
) -> PrepareReport:
    """Parse every task with ``parse_fn`` and add the samples to ``writer``.

    ``parse_fn`` and ``name_fn`` (the sample name of a task, used for skip records)
    must be picklable (module-level functions) when ``workers > 1``.
    Raises the first :class:`DataFormatError` when ``strict``.
    """
    if int(workers) < 1:
        raise SkelconError(f"workers must be at least 1, got {workers}", param="workers")
    workers = int(workers)
    call = _Call(parse_fn, name_fn)
    report = PrepareReport()
    from tqdm import tqdm  # here: `skelcon --help` does not import it

    bar = tqdm(
        total=len(tasks),
        desc=desc,
        unit="file",
        disable=not progress,
        mininterval=0.5,
        file=sys.stderr,
    )
    try:
        if workers == 1:
            _consume((call(t) for t in tasks), writer, report, strict, bar, lambda: None)
        else:
            cs = chunksize or max(1, min(16, len(tasks) // (workers * 8) or 1))
            feeder = _Feeder(tasks, max(64, 4 * workers * cs))
            ctx = mp.get_context(
                "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            )
            pool = ctx.Pool(workers)
            try:
                results = pool.imap(call, iter(feeder), chunksize=cs)
                _consume(results, writer, report, strict, bar, feeder.release)
                pool.close()
            finally:
                feeder.stop()  # the pool's feeding thread may be waiting on the semaphore
                pool.terminate()
                pool.join()
    finally:
        bar.close()
    return report


def _consume(
    results: Iterator[Sample | _Failure],
    writer: PreparedWriter,
    report: PrepareReport,
    strict: bool,
    bar: tqdm,
    release: Callable[[], None],
) -> None:
    for res in results:
        release()
        if isinstance(res, _Failure):
            if strict:
                raise DataFormatError(res.reason, res.path, res.line)
            bar.write(f"skipped {res.message}", file=sys.stderr)
            writer.skip(res.name, res.message)
            report.skipped.append((res.name, res.message))
        else:
            report.indices[res.name] = writer.add(res.x, res.label, res.num_frames, res.name)
            if res.info:
                report.info[res.name] = res.info
        bar.update(1)
