"""Running a sweep's points on this machine: each point is ``skelcon pretrain`` and then
its ``skelcon eval`` commands, each a subprocess whose output goes to the point's
``log.txt``; a finished step is never run again and an interrupted pre-training resumes
from its ``last.pt`` (``skelcon pretrain --resume``).

:func:`run_point` runs one point (also what a Slurm job runs, :mod:`.slurm`);
:func:`run_sweep` runs every unfinished point, ``jobs`` of them side by side, with a
line per point as it starts and ends. SIGINT / SIGTERM stop every running command
(each saves what it finished: pretrain keeps ``last.pt`` of its last whole epoch),
mark their points ``interrupted`` and raise :class:`~skelcon.errors.Interrupted`;
running the same command again goes on. Imports no torch.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Interrupted, SkelconError
from ..utils.io import output_lock
from ..utils.threads import ENV as THREADS_ENV
from ..utils.threads import usable_cores
from .grid import EvalStep, Plan, Point
from .status import (
    duration,
    eval_dir,
    eval_top1,
    load_plan,
    log_path,
    point_dir,
    point_status,
    read_status,
    results_text,
    run_dir,
    this_host,
    write_status,
)

# How a step starts skelcon: this Python, ``-m skelcon`` (read when a step starts: a test
# may put a stand-in here)
SKELCON = (sys.executable, "-m", "skelcon")
# The launcher of a point's pre-training in a Slurm job (``torchrun ...``), set by the
# job script (skelcon.sweep.slurm): the one place it is read
LAUNCHER_ENV = "SKELCON_SWEEP_TORCHRUN"
STOP_WAIT_S = 120.0  # how long a stopped command may take to save and exit


def pretrain_argv(
    plan: Plan,
    point: Point,
    out: str | os.PathLike[str],
    command: Sequence[str] | None = None,
    launcher: str | None = None,
) -> list[str]:
    """The ``skelcon pretrain`` command line of ``point`` (``--resume`` when its run has a
    ``last.pt``); ``launcher`` (``torchrun --nproc_per_node=N``) starts it instead of
    ``command``."""
    run = run_dir(out, point.id)
    base = [*shlex.split(launcher), "-m", "skelcon"] if launcher else list(command or SKELCON)
    argv = [*base, "pretrain", "--data", plan.data, "--benchmark", plan.benchmark]
    argv += ["--config", plan.recipe, "--out", str(run), "--quiet"]
    for item in point.overrides:
        argv += ["--set", item]
    if (run / "last.pt").is_file():
        argv.append("--resume")
    return argv


def eval_argv(
    plan: Plan,
    point: Point,
    ev: EvalStep,
    out: str | os.PathLike[str],
    command: Sequence[str] | None = None,
) -> list[str]:
    """The ``skelcon eval <protocol>`` command line of evaluation ``ev`` of ``point``."""
    argv = [*(command or SKELCON), "eval", ev.protocol, "--checkpoint", str(run_dir(out, point.id))]
    argv += ["--representation", ev.representation, "--data", plan.data]
    argv += ["--benchmark", plan.benchmark, "--out", str(eval_dir(out, point.id, ev.name))]
    argv.append("--quiet")
    for item in ev.overrides:
        argv += ["--set", item]
    return argv


def threads_per_job(jobs: int, env: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """``SKELCON_THREADS`` for each of ``jobs`` points run side by side: the usable cores
    divided among them (at least 1), so they do not fight over cores
    (:mod:`skelcon.utils.threads`). ``None`` (each command's own policy) for one job or
    when the user fixed a count (``SKELCON_THREADS`` / ``OMP_NUM_THREADS``)."""
    if jobs <= 1 or env.get(THREADS_ENV) or env.get("OMP_NUM_THREADS"):
        return None
    return max(1, usable_cores() // jobs)


class Children:
    """The commands running for a sweep, so that a stop can end them all.

    :meth:`run` starts one and waits for it; :meth:`stop` sends SIGTERM to every running
    one (skelcon's commands save what they finished and exit 143) and keeps new ones from
    starting."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self.stopped: int | None = None  # the signal that stopped the sweep

    def run(self, argv: Sequence[str], log: Path, env: dict[str, str]) -> int:
        """Run ``argv`` with stdout and stderr appended to ``log``; its exit status."""
        with open(log, "ab") as f:
            f.write(f"\n$ {shlex.join(argv)}\n".encode())
            f.flush()
            with self._lock:
                if self.stopped is not None:
                    return 128 + self.stopped
                try:
                    proc = subprocess.Popen(
                        list(argv),
                        stdout=f,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=env,
                    )
                except OSError as e:  # e.g. no torchrun on this node: the point fails
                    f.write(f"skelcon: error: cannot start {argv[0]}: {e.strerror}\n".encode())
                    return 127
                self._procs.add(proc)
            try:
                return proc.wait()
            finally:
                with self._lock:
                    self._procs.discard(proc)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """SIGTERM to every running command; no new one starts."""
        with self._lock:
            self.stopped = int(signum)
            procs = list(self._procs)
        for p in procs:
            try:
                p.send_signal(signal.SIGTERM)
            except OSError:
                pass

    def wait(self, timeout: float = STOP_WAIT_S) -> None:
        """Wait for the stopped commands (killed after ``timeout`` seconds)."""
        end = time.monotonic() + timeout
        while True:
            with self._lock:
                procs = list(self._procs)
            if not procs:
                return
            if time.monotonic() > end:
                for p in procs:
                    p.kill()
                return
            time.sleep(0.1)


def error_line(log: Path, offset: int, rc: int) -> str:
    """The line that says why a command failed: of its output (``log`` from byte
    ``offset``), the last ``skelcon: ... error`` line, else the last line, with the exit
    status."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        text = ""
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("$ ")]
    errors = [ln for ln in lines if ln.startswith("skelcon:") and "error" in ln]
    line = (errors or lines or [""])[-1]
    if len(line) > 300:
        line = line[:297] + "..."
    return f"{line} (exit {rc})" if line else f"exit status {rc}, no output"


@dataclass
class Outcome:
    """How one attempt at a point ended: ``state`` (done, failed, interrupted, or busy:
    another process holds the point), the stage it ended in, the error line, seconds,
    and the top-1 of each finished evaluation."""

    point: str
    state: str
    stage: str | None = None
    error: str | None = None
    seconds: float = 0.0
    results: dict[str, float | None] = field(default_factory=dict)


def _interrupted(rc: int, children: Children) -> bool:
    return children.stopped is not None or rc in (130, 143, -signal.SIGINT, -signal.SIGTERM)


def run_point(
    out: str | os.PathLike[str],
    point_id: str,
    *,
    command: Sequence[str] | None = None,
    launcher: str | None = None,
    threads: int | None = None,
    children: Children | None = None,
) -> Outcome:
    """Run what is left of point ``point_id`` of the sweep in ``out``: its pre-training
    (resumed from ``last.pt`` if there is one) unless it finished, then every evaluation
    without a ``metrics.json``. The point's ``status.json`` says what is running, where,
    and how it ended; another process running the point makes this one return ``busy``."""
    out = Path(out).absolute()
    plan = load_plan(out)
    point = plan.point(point_id)
    children = children or Children()
    pdir = point_dir(out, point_id)
    pdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if threads is not None:
        env[THREADS_ENV] = str(threads)
    log = log_path(out, point_id)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(output_lock(pdir, "sweep point"))
        except SkelconError as e:  # another process runs this point
            return Outcome(point_id, "busy", error=str(e))
        return _run_steps(out, plan, point, command, launcher, children, env, log)
    raise AssertionError("unreachable")  # (the with statement returns)


def _run_steps(
    out: Path,
    plan: Plan,
    point: Point,
    command: Sequence[str] | None,
    launcher: str | None,
    children: Children,
    env: dict[str, str],
    log: Path,
) -> Outcome:
    t0 = time.time()
    job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job = (
        f"{job}_{os.environ.get('SLURM_ARRAY_TASK_ID')}" if job else os.environ.get("SLURM_JOB_ID")
    )
    status = write_status(
        out,
        point.id,
        state="running",
        stage="pretrain",
        host=this_host(),
        pid=os.getpid(),
        job=job,
        started=t0,
        error=None,
    )
    steps: list[tuple[str, list[str]]] = []
    if not status.get("pretrained"):
        steps.append(("pretrain", pretrain_argv(plan, point, out, command, launcher)))
    for ev in point.evaluations:
        if not (eval_dir(out, point.id, ev.name) / "metrics.json").is_file():
            steps.append((f"eval {ev.name}", eval_argv(plan, point, ev, out, command)))
    for stage, argv in steps:
        write_status(out, point.id, stage=stage)
        log.touch()
        offset = log.stat().st_size
        rc = children.run(argv, log, env)
        if rc != 0:
            state = "interrupted" if _interrupted(rc, children) else "failed"
            err = error_line(log, offset, rc)
            secs = time.time() - t0
            write_status(out, point.id, state=state, stage=stage, error=err, seconds=secs)
            return Outcome(point.id, state, stage, err, secs, _results(out, point))
        if stage == "pretrain":
            write_status(out, point.id, pretrained=True)
    secs = time.time() - t0
    results = _results(out, point)
    write_status(out, point.id, state="done", stage=None, error=None, seconds=secs, results=results)
    return Outcome(point.id, "done", None, None, secs, results)


def _results(out: Path, point: Point) -> dict[str, float | None]:
    return {e.name: eval_top1(eval_dir(out, point.id, e.name)) for e in point.evaluations}


def run_point_job(
    out: str, point_id: str, command: Sequence[str] | None = None
) -> dict[str, object]:
    """What a Slurm (or submitit local) job runs: :func:`run_point`, with the pre-training
    launcher the job script exports (:data:`LAUNCHER_ENV`). Returns the outcome as a dict."""
    launcher = os.environ.get(LAUNCHER_ENV) or None
    o = run_point(out, point_id, command=command, launcher=launcher)
    return {"point": o.point, "state": o.state, "stage": o.stage, "error": o.error}


def outcome_line(o: Outcome, out: Path) -> str:
    """The progress line of a finished attempt."""
    if o.state == "done":
        return f"done in {duration(o.seconds)}: {results_text(o.results) or 'no evaluations'}"
    if o.state == "busy":
        return f"skipped: {o.error}"
    return f"{o.state} in {o.stage}: {o.error}; log: {log_path(out, o.point)}"


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did: points per state (``done`` counts those done before)."""

    counts: dict[str, int]

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)


_SAY_LOCK = threading.Lock()


def _say_line(line: str) -> None:
    """Print one whole line: the points' threads never interleave within a line."""
    with _SAY_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def run_sweep(
    out: str | os.PathLike[str],
    *,
    jobs: int = 1,
    command: Sequence[str] | None = None,
    say: Callable[[str], None] | None = None,
) -> SweepSummary:
    """Run every unfinished point of the sweep in ``out``, ``jobs`` at a time, saying a
    line per point as it starts and ends. Raises :class:`Interrupted` on SIGINT/SIGTERM
    after stopping the running commands (their points resume on the next run)."""
    say = say or _say_line
    if jobs < 1:
        raise SkelconError(f"jobs {jobs} must be at least 1", param="jobs")
    out = Path(out).absolute()
    plan = load_plan(out)
    n = len(plan.points)
    states = {p.id: point_status(out, p) for p in plan.points}
    todo = [
        (i, p)
        for i, p in enumerate(plan.points, 1)
        if not (states[p.id].state == "done" and not states[p.id].missing)
    ]
    done_before = n - len(todo)
    threads = threads_per_job(jobs)
    side = (
        f", {jobs} side by side" + (f", {threads} threads each" if threads else "")
        if jobs > 1
        else ""
    )
    say(
        f"sweep {plan.name}: {n} points, {done_before} done, {len(todo)} to run{side}; "
        f"in {out} (skelcon sweep --status {out})"
    )
    width = len(str(n))
    children = Children()
    counts = {"done": done_before}

    def attempt(i: int, p: Point) -> Outcome:
        resume = (
            " (resuming from run/last.pt)" if (run_dir(out, p.id) / "last.pt").is_file() else ""
        )
        if read_status(out, p.id).get("pretrained"):
            resume = " (pre-trained; evaluating)"
        say(f"[{i:>{width}}/{n}] {p.id}: started{resume}")
        return run_point(out, p.id, command=command, threads=threads, children=children)

    pool = cf.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sweep")
    futures = {pool.submit(attempt, i, p): i for i, p in todo}
    try:
        for fut in cf.as_completed(futures):
            o = fut.result()
            counts[o.state] = counts.get(o.state, 0) + 1
            say(f"[{futures[fut]:>{width}}/{n}] {o.point}: {outcome_line(o, out)}")
    except BaseException as e:  # SIGINT, SIGTERM (Interrupted), or an error of the runner
        signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
        children.stop(signum)
        pool.shutdown(wait=False, cancel_futures=True)
        children.wait()
        pool.shutdown(wait=True)
        if not isinstance(e, Interrupted | KeyboardInterrupt):
            raise
        done = sum(1 for p in plan.points if read_status(out, p.id).get("state") == "done")
        name = signal.Signals(signum).name
        raise Interrupted(
            f"sweep stopped by {name}: {done} of {n} points done; the stopped ones resume "
            f"(from run/last.pt) when you run the same command again",
            signum,
        ) from None
    pool.shutdown(wait=True)
    return SweepSummary(counts)
