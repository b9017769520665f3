"""The CPU thread policy: how many intra-op threads a command uses.

PyTorch starts one intra-op thread per core and its OpenMP threads spin (busy-wait)
between parallel regions. On a machine whose cores other jobs also use, spinning
threads and threads waiting for a pre-empted team-mate make every step many times
slower. Measured on the 2-core development CPU, small SEQ+STG step, batch 16
(docs/scaling.md): alone, 2 spinning threads 75.7 samples/s,
2 passive ones (``OMP_WAIT_POLICY=PASSIVE``) 48.8; two such processes at once, 12.6
each spinning, 45-47 each passive. One thread has no team to wait for. skelcon's
commands therefore, unless told otherwise, use as many threads as the cores the
process may run on (CPU affinity, capped by a cgroup CPU quota), minus the cores that
*other* processes kept busy over the last couple of seconds (``/proc/stat`` of those
cores minus this process's own CPU time), at least one: all cores alone (spinning,
the fastest), one thread each when two jobs share two cores. :func:`tick` re-decides
every :data:`INTERVAL_S` seconds; the batch loaders call it, so pre-training and
evaluation follow the machine's load. The OpenMP wait policy is left as it is
(passive waits cost a third of the speed alone).

Overrides, read from the environment when a command starts:

* ``SKELCON_THREADS=N``: exactly N intra-op threads, never changed;
* ``OMP_NUM_THREADS=N`` (set by the user or by torchrun): the same, N threads (of
  OpenMP's nested list ``N,M`` the first level); any other value is refused;
* ``SKELCON_THREADS=torch``: leave PyTorch's own choice (one thread per core,
  spinning), as skelcon 0.1 did;
* ``OMP_WAIT_POLICY=PASSIVE``: idle OpenMP threads sleep (slower alone, far faster
  than spinning on busy cores with a fixed thread count).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import SkelconError

ENV = "SKELCON_THREADS"
INTERVAL_S = 2.0  # how often the thread count is re-decided (seconds of wall time)


def mode_from_env(env: dict[str, str] | os._Environ[str] = os.environ) -> str | int:
    """``"auto"``, ``"torch"`` or a fixed thread count, from ``SKELCON_THREADS``.

    Raises :class:`SkelconError` for any other value.
    """
    raw = env.get(ENV, "auto").strip().lower() or "auto"
    if raw in ("auto", "torch"):
        return raw
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise SkelconError(
            f"{ENV}={env.get(ENV)!r} is not valid (valid: auto, torch, or a thread count >= 1)"
        )
    return n


def omp_threads(env: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """The thread count ``OMP_NUM_THREADS`` asks for: ``None`` when unset or empty, the
    first level of OpenMP's nested list (``4,1`` -> 4) otherwise.

    Raises :class:`SkelconError` for a value that is not a comma-separated list of
    positive integers (``0``, ``abc``, ``1.5``)."""
    raw = env.get("OMP_NUM_THREADS", "").strip()
    if not raw:
        return None
    levels = [v.strip() for v in raw.split(",")]
    if not all(v.isdigit() and int(v) >= 1 for v in levels):
        raise SkelconError(
            f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS')!r} is not valid (valid: a thread "
            "count >= 1, or OpenMP's nested list of them such as 4,1: skelcon uses the first)"
        )
    return int(levels[0])


def usable_cores(
    affinity: set[int] | None = None, cgroup_root: Path = Path("/sys/fs/cgroup")
) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota
    (``cpu.max``: ``quota period`` in microseconds, ``max`` for none), at least 1."""
    if affinity is None:
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    n = len(affinity) if affinity else (os.cpu_count() or 1)
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def busy_seconds(cpus: set[int], stat: Path = Path("/proc/stat")) -> float | None:
    """Seconds of CPU time spent so far (all processes, not idle or iowait) on ``cpus``,
    from ``/proc/stat``; ``None`` where it cannot be read (not Linux)."""
    try:
        lines = stat.read_text().splitlines()
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    total, seen = 0, 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            f = [int(v) for v in rest.split()]
            total += sum(f) - f[3] - (f[4] if len(f) > 4 else 0)  # minus idle, iowait
            seen += 1
    return total / hz if seen else None


class Governor:
    """Re-decides the intra-op thread count from the load of other processes.

    ``cores``: the usable cores; ``busy``: CPU seconds used on those cores by everyone
    (:func:`busy_seconds`); ``own``: this process's CPU seconds; ``set_threads`` /
    ``get_threads``: PyTorch's. All injectable for tests.
    """

    def __init__(
        self,
        cores: int,
        busy: Callable[[], float | None],
        own: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
        set_threads: Callable[[int], None] | None = None,
        get_threads: Callable[[], int] | None = None,
        interval: float = INTERVAL_S,
    ):
        import torch

        self.cores, self.busy, self.own, self.clock, self.interval = (
            cores,
            busy,
            own,
            clock,
            interval,
        )
        self.set_threads = set_threads or torch.set_num_threads
        self.get_threads = get_threads or torch.get_num_threads
        self._mark = (clock(), busy(), own())

    def target(self, others: float) -> int:
        """Threads for ``others`` cores kept busy by other processes (at least 1)."""
        return int(min(self.cores, max(1, math.floor(self.cores - others + 0.5))))

    def tick(self) -> None:
        """Re-decide when :attr:`interval` seconds have passed since the last decision."""
        now = self.clock()
        t0, b0, o0 = self._mark
        if now - t0 < self.interval:
            return
        b1, o1 = self.busy(), self.own()
        self._mark = (now, b1, o1)
        if b0 is None or b1 is None:
            return
        others = max(0.0, ((b1 - b0) - (o1 - o0)) / (now - t0))
        n = self.target(others)
        if n != self.get_threads():
            self.set_threads(n)


_governor: Governor | None = None
_policy: str | None = None  # the line configure() returned last


def configure(env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """Apply the policy for this process (commands call it once, first thing); returns a
    one-line description, also kept for :func:`policy`. Raises :class:`SkelconError`
    for a bad ``SKELCON_THREADS`` or, when that is ``auto``, a bad ``OMP_NUM_THREADS``
    (:func:`omp_threads`)."""
    global _governor
    import torch

    mode = mode_from_env(env)
    _governor = None
    wait = env.get("OMP_WAIT_POLICY", "default")
    if mode == "torch":
        return _record(
            f"threads: PyTorch's default ({torch.get_num_threads()}), OpenMP wait {wait}"
        )
    fixed = mode if isinstance(mode, int) else omp_threads(env)
    if fixed is not None:
        torch.set_num_threads(fixed)
        return _record(f"threads: {fixed} (fixed), OpenMP wait {wait}")
    cores = usable_cores()
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(cores))
    torch.set_num_threads(cores)
    _governor = Governor(cores, lambda: busy_seconds(cpus))
    return _record(
        f"threads: up to {cores}, fewer while other processes keep cores busy; OpenMP wait {wait}"
    )


def _record(line: str) -> str:
    global _policy
    _policy = line
    return line


def policy() -> str:
    """The line :func:`configure` returned last (what a run records beside its figures),
    or PyTorch's own thread count when skelcon's policy was not applied (the Python API)."""
    if _policy is not None:
        return _policy
    import torch

    return f"threads: {torch.get_num_threads()} (PyTorch's, skelcon's policy not applied)"


def tick() -> None:
    """Let the thread policy follow the machine's load (cheap; a no-op unless
    :func:`configure` chose ``auto``). Called by the batch loaders once per batch."""
    if _governor is not None:
        _governor.tick()
