"""A command alone and N copies of it at once, under the CPU thread policy before and
after: how much slower does each copy get when the cores are shared?

``before`` is PyTorch's default as skelcon 0.1 ran (``SKELCON_THREADS=torch``: one
thread per core, spinning OpenMP threads); ``after`` is skelcon's policy
(:mod:`skelcon.utils.threads`: passive OpenMP waits, threads following the load). Each
copy gets its own output folder (``{out}`` in the command). Prints the wall time of
each run and the slowdown of the concurrent copies against the lone run.

    PYTHONPATH=src .venv/bin/python bench/shared_machine.py --copies 2 -- \\
        .venv/bin/skelcon demo --quiet --out {out}
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

POLICIES = {"before": {"SKELCON_THREADS": "torch"}, "after": {}}


def run_copies(cmd: list[str], copies: int, env: dict[str, str], root: str) -> list[float]:
    """Start ``copies`` copies of ``cmd`` at once; returns each one's wall seconds."""
    procs, starts = [], []
    for i in range(copies):
        out = os.path.join(root, f"copy{i}")
        shutil.rmtree(out, ignore_errors=True)
        argv = [a.replace("{out}", out) for a in cmd]
        starts.append(time.perf_counter())
        procs.append(
            subprocess.Popen(
                argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        )
    times = [0.0] * copies
    for i, p in enumerate(procs):
        _, err = p.communicate()
        times[i] = time.perf_counter() - starts[i]
        if p.returncode:
            sys.exit(f"copy {i} failed (exit {p.returncode}):\n{err[-2000:]}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=2, help="copies run at once (default 2)")
    ap.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND ... ({out}: output)")
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("give the command after --")
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "SKELCON_THREADS")
    }
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; command: {' '.join(cmd)}"
    )
    print(
        f"{'policy':<8}{'alone s':>10}{'each of ' + str(args.copies) + ' at once, s':>28}"
        f"{'slowdown':>10}"
    )
    with tempfile.TemporaryDirectory() as root:
        for name in args.policies:
            env = {**base, **POLICIES[name]}
            alone = run_copies(cmd, 1, env, root)[0]
            both = run_copies(cmd, args.copies, env, root)
            each = ", ".join(f"{t:.0f}" for t in both)
            print(f"{name:<8}{alone:>10.0f}{each:>28}{max(both) / alone:>9.2f}x", flush=True)


if __name__ == "__main__":
    main()
