"""A sweep directory: its grid (``sweep.json``), one folder per point and what each
point's status is.

Layout::

    DIR/sweep.json                  the Plan (skelcon.sweep.grid), written atomically
    DIR/points/<id>/run/            the point's pre-training (skelcon pretrain --out)
    DIR/points/<id>/evals/<name>/   each evaluation (metrics.json when it finished)
    DIR/points/<id>/status.json     state, stage, host, pid or Slurm job, error line, times
    DIR/points/<id>/log.txt         every command run for the point and its output

A point's state is one of :data:`STATES`. ``done`` needs every evaluation's
``metrics.json``; a ``running`` point on this host whose process is gone reads as
``interrupted``. Imports no torch.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, SkelconError
from ..utils.io import read_json, write_json
from .grid import Plan, Point, plan_difference

SWEEP_FILE = "sweep.json"
STATES = ("done", "running", "submitted", "interrupted", "failed", "pending")


def point_dir(out: str | os.PathLike[str], point_id: str) -> Path:
    return Path(out) / "points" / point_id


def run_dir(out: str | os.PathLike[str], point_id: str) -> Path:
    """The point's pre-training run (``skelcon pretrain --out``)."""
    return point_dir(out, point_id) / "run"


def eval_dir(out: str | os.PathLike[str], point_id: str, name: str) -> Path:
    return point_dir(out, point_id) / "evals" / name


def log_path(out: str | os.PathLike[str], point_id: str) -> Path:
    return point_dir(out, point_id) / "log.txt"


def _status_path(out: str | os.PathLike[str], point_id: str) -> Path:
    return point_dir(out, point_id) / "status.json"


def open_sweep(out: str | os.PathLike[str], plan: Plan) -> bool:
    """Make ``out`` the sweep directory of ``plan``, or check that it is; returns whether
    it held the grid already. A directory holding another grid is refused with one line
    naming the first difference; a non-empty directory that is no sweep's too."""
    out = Path(out)
    path = out / SWEEP_FILE
    new = plan.to_dict()
    existed = path.is_file()
    if existed:
        old = _read_plan_dict(out)
        diff = plan_difference(old, new)
        if diff is not None:
            raise SkelconError(
                f"{out} holds another grid (sweep {old.get('name')!r}): {diff}; give the same "
                "sweep file and flags to resume it, or another --out"
            )
    elif out.is_dir() and any(out.iterdir()):
        raise SkelconError(
            f"{out} is not empty and holds no {SWEEP_FILE}: give a new or empty --out"
        )
    write_json(path, new)
    return existed


def _read_plan_dict(out: Path) -> dict[str, Any]:
    path = out / SWEEP_FILE
    if not path.is_file():
        raise SkelconError(
            f"{out} is not a sweep directory (no {SWEEP_FILE}; `skelcon sweep FILE --out "
            f"{out}` makes one)"
        )
    try:
        data = read_json(path)
    except (OSError, ValueError) as e:
        raise DataFormatError(f"cannot read ({str(e).splitlines()[0]})", str(path)) from None
    if not isinstance(data, dict) or data.get("format") != 1 or "points" not in data:
        raise DataFormatError("not a skelcon sweep file (format 1)", str(path))
    return data


def load_plan(out: str | os.PathLike[str]) -> Plan:
    """The :class:`Plan` recorded in sweep directory ``out``."""
    data = _read_plan_dict(Path(out))
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise DataFormatError(f"incomplete sweep plan ({e})", str(Path(out) / SWEEP_FILE)) from None


def read_status(out: str | os.PathLike[str], point_id: str) -> dict[str, Any]:
    """The recorded status of a point (``{"state": "pending"}`` when none is)."""
    path = _status_path(out, point_id)
    try:
        data = read_json(path)
    except FileNotFoundError:
        return {"state": "pending"}
    except (OSError, ValueError):
        return {"state": "pending", "error": f"{path} is unreadable"}
    return data if isinstance(data, dict) else {"state": "pending"}


def write_status(out: str | os.PathLike[str], point_id: str, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the point's status and write it atomically."""
    status = read_status(out, point_id)
    status.update(fields)
    status["updated"] = time.time()
    write_json(_status_path(out, point_id), status)
    return status


def jobs_path(out: str | os.PathLike[str]) -> Path:
    """Where a Slurm submission records each point's job id."""
    return Path(out) / "slurm" / "jobs.json"


def record_jobs(out: str | os.PathLike[str], jobs: dict[str, str]) -> None:
    """Add point -> Slurm job id entries to :func:`jobs_path` (atomically)."""
    known = read_jobs(out)
    known.update(jobs)
    write_json(jobs_path(out), known)


def read_jobs(out: str | os.PathLike[str]) -> dict[str, str]:
    try:
        data = read_json(jobs_path(out))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def this_host() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def eval_top1(path: Path) -> float | None:
    """``top1`` of an evaluation's ``metrics.json`` (``None``: not finished or none)."""
    try:
        rec = json.loads((path / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    v = rec.get("top1") if isinstance(rec, dict) else None
    return float(v) if isinstance(v, int | float) else None


@dataclass
class PointStatus:
    """What ``skelcon sweep --status`` says about one point."""

    id: str
    state: str
    stage: str | None = None
    error: str | None = None
    seconds: float | None = None
    where: str | None = None  # host and pid, or the Slurm job
    results: dict[str, float | None] = field(default_factory=dict)  # eval name -> top-1
    missing: list[str] = field(default_factory=list)  # evaluations without metrics.json
    resumable: bool = False  # its run has a last.pt to continue from


def point_status(
    out: str | os.PathLike[str], point: Point, jobs: dict[str, str] | None = None
) -> PointStatus:
    """The status of ``point`` in sweep directory ``out``, from its files (``jobs``: the
    Slurm job ids of :func:`read_jobs`, read here when not given)."""
    s = read_status(out, point.id)
    jobs = read_jobs(out) if jobs is None else jobs
    state = str(s.get("state", "pending"))
    if state not in STATES:
        state = "pending"
    results = {e.name: eval_top1(eval_dir(out, point.id, e.name)) for e in point.evaluations}
    where = None
    job = s.get("job") or (jobs.get(point.id) if state == "submitted" else None)
    if job:
        where = f"Slurm job {job}"
    if s.get("host"):
        where = f"{s['host']} pid {s.get('pid')}" + (f", {where}" if where else "")
    error = s.get("error")
    if state == "running" and s.get("host") == this_host() and s.get("pid"):
        if not process_alive(int(s["pid"])):
            state, error = "interrupted", error or f"its process (pid {s['pid']}) is gone"
    last = run_dir(out, point.id) / "last.pt"
    return PointStatus(
        id=point.id,
        state=state,
        stage=s.get("stage"),
        error=error,
        seconds=s.get("seconds"),
        where=where,
        results=results,
        missing=[
            e.name
            for e in point.evaluations
            if not (eval_dir(out, point.id, e.name) / "metrics.json").is_file()
        ],
        resumable=state != "done" and last.is_file(),
    )


def duration(seconds: float) -> str:
    """``45 s``, ``12.5 min``, ``3.4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def results_text(results: dict[str, float | None]) -> str:
    """``linear-seq 45.20 %, knn-seq 40.10 %`` (finished evaluations only)."""
    return ", ".join(f"{k} {v:.2f} %" for k, v in results.items() if v is not None)


def status_lines(out: str | os.PathLike[str]) -> list[str]:
    """The lines of ``skelcon sweep --status``: a count per state, then one line per point
    (state, id, and the results, the stage and where it runs, or the error line)."""
    plan = load_plan(out)
    jobs = read_jobs(out)
    rows = [point_status(out, p, jobs) for p in plan.points]
    counts = {s: sum(r.state == s for r in rows) for s in STATES}
    head = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines = [f"sweep {plan.name} in {out}: {len(rows)} points: {head}"]
    width = max(len(s) for s in STATES)
    for r in rows:
        text = f"{r.state:<{width}}  {r.id}"
        if r.state == "done":
            took = f" in {duration(r.seconds)}" if r.seconds is not None else ""
            text += f"{took}: {results_text(r.results) or 'no evaluations'}"
        elif r.state in ("running", "submitted"):
            text += f": {r.stage or 'queued'}" + (f" ({r.where})" if r.where else "")
        elif r.state in ("failed", "interrupted"):
            text += f": {r.stage or ''}: {r.error or 'no error line recorded'}"
            if r.resumable:
                text += " (resumes from run/last.pt)"
            text += f"; log: {log_path(out, r.id)}"
        lines.append(text)
    return lines
