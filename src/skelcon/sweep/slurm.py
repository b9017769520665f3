"""Running a sweep's points as Slurm jobs, through submitit (``pip install
'skelcon[slurm]'``).

Every unfinished point becomes one task of a Slurm job array (``--array=0-N%P``:
at most P at once); the task runs :func:`skelcon.sweep.runner.run_point_job`, i.e. the
point's ``skelcon pretrain`` and ``skelcon eval`` commands, exactly as a local sweep
does. With ``torchrun=N`` the job script exports the pre-training launcher
(``torchrun --standalone --nnodes=1 --nproc_per_node=N``, torch.distributed's own) and
asks for N GPUs; the evaluations run in one process. The job folder is ``DIR/slurm``
(submitit's pickles and logs; it must be on a filesystem the nodes share, as ``DIR``).
:func:`dry_run` writes the job script that would be submitted instead of submitting.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SkelconError
from .runner import LAUNCHER_ENV, run_point_job
from .status import load_plan, point_status, read_status, record_jobs, write_status

INSTALL_HINT = "pip install 'skelcon[slurm]' (or pip install submitit)"


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise SkelconError(f"the Slurm executor needs submitit: {INSTALL_HINT}") from None
    return submitit


def torchrun_line(nproc: int) -> str:
    """The launcher of a point's pre-training on ``nproc`` GPUs of one node: torchrun
    beside this Python (the environment's own), ``--standalone`` rendezvous."""
    exe = Path(sys.executable).with_name("torchrun")
    torchrun = str(exe) if exe.is_file() else "torchrun"
    return f"{torchrun} --standalone --nnodes=1 --nproc_per_node={nproc}"


def slurm_parameters(
    *,
    job_name: str,
    time_min: int,
    partition: str | None = None,
    gpus: int | None = None,
    cpus_per_task: int | None = None,
    array_parallelism: int = 256,
    torchrun: int | None = None,
) -> dict[str, Any]:
    """submitit's ``SlurmExecutor`` parameters of a sweep's jobs: one task per job on one
    node, ``gpus`` GPUs (``torchrun`` N: N unless given), ``time_min`` minutes, at most
    ``array_parallelism`` array tasks at once. Raises :class:`SkelconError` for a value
    that cannot work."""
    if time_min < 1:
        raise SkelconError(f"time {time_min} must be at least 1 minute", param="time")
    if array_parallelism < 1:
        raise SkelconError(
            f"array_parallelism {array_parallelism} must be at least 1", param="array_parallelism"
        )
    if torchrun is not None:
        if torchrun < 1:
            raise SkelconError(f"torchrun {torchrun} must be at least 1 process", param="torchrun")
        if gpus is None:
            gpus = torchrun
        elif gpus != torchrun:
            raise SkelconError(
                f"torchrun {torchrun} processes need as many GPUs, not gpus {gpus} (give "
                "one, or both equal)",
                param="torchrun",
            )
    if gpus is not None and gpus < 0:
        raise SkelconError(f"gpus {gpus} must be >= 0", param="gpus")
    params: dict[str, Any] = {
        "job_name": job_name,
        "time": int(time_min),
        "nodes": 1,
        "ntasks_per_node": 1,
        "array_parallelism": int(array_parallelism),
    }
    if partition:
        params["partition"] = partition
    if gpus:
        params["gpus_per_node"] = int(gpus)
    if cpus_per_task:
        params["cpus_per_task"] = int(cpus_per_task)
    if torchrun is not None:
        params["setup"] = [f"export {LAUNCHER_ENV}={shlex.quote(torchrun_line(torchrun))}"]
    return params


def slurm_executor(folder: str | os.PathLike[str], params: dict[str, Any]) -> Any:
    """submitit's ``SlurmExecutor`` on ``folder`` with ``params``; a one-line error where
    there is no Slurm (no ``srun``)."""
    submitit = _submitit()
    try:
        ex = submitit.SlurmExecutor(folder=str(folder))
    except RuntimeError as e:
        raise SkelconError(
            f"no Slurm here ({e}); --dry-run writes the job script without submitting, "
            "--executor local runs the points on this machine"
        ) from None
    ex.update_parameters(**params)
    return ex


def dry_run(
    out: str | os.PathLike[str], params: dict[str, Any], *, resubmit: bool = False
) -> tuple[Path, list[str]]:
    """Write the job script :func:`submit` would submit for the sweep in ``out`` to
    ``out/slurm/dry_run.sbatch`` (submitit's own script, with the array of the points
    left to run); returns its path and those points. Submits nothing."""
    submitit = _submitit()

    class _DryRun(submitit.SlurmExecutor):  # type: ignore[misc, name-defined]
        """A SlurmExecutor usable where Slurm is not (it only writes the script)."""

        @classmethod
        def affinity(cls) -> int:
            return 1

    ids = points_to_submit(out, resubmit=resubmit)
    folder = Path(out) / "slurm"
    ex = _DryRun(folder=str(folder))
    ex.update_parameters(**params)
    if len(ids) > 1:
        ex.parameters["map_count"] = len(ids)  # as submitit sets it for a job array
    text = ex._make_submission_file_text(ex._submitit_command_str, "dry-run")
    path = folder / "dry_run.sbatch"
    folder.mkdir(parents=True, exist_ok=True)
    from ..utils.io import atomic_write

    atomic_write(path, lambda p: p.write_text(text))
    return path, ids


def points_to_submit(out: str | os.PathLike[str], *, resubmit: bool = False) -> list[str]:
    """The points of the sweep in ``out`` a submission runs: not done, and (unless
    ``resubmit``) not already queued or running."""
    plan = load_plan(out)
    ids = []
    for p in plan.points:
        s = point_status(out, p)
        if s.state == "done" and not s.missing:
            continue
        if s.state in ("submitted", "running") and not resubmit:
            continue
        ids.append(p.id)
    return ids


def submit(
    out: str | os.PathLike[str],
    executor: Any,
    point_ids: Sequence[str],
    command: Sequence[str] | None = None,
) -> list[Any]:
    """Submit ``point_ids`` of the sweep in ``out`` through the submitit ``executor``
    (``SlurmExecutor``: one job array; ``LocalExecutor``: local processes) and return
    submitit's jobs. Each point is marked ``submitted`` before (a job that starts at once
    then says ``running`` itself; a failed submission puts the old states back) and its
    job id goes to ``out/slurm/jobs.json``."""
    from . import runner

    command = tuple(command or runner.SKELCON)  # resolved here: the jobs run elsewhere
    out = os.path.abspath(out)
    before = {pid: read_status(out, pid) for pid in point_ids}
    for pid in point_ids:
        write_status(out, pid, state="submitted", stage=None, job=None, host=None, pid=None)
    try:
        with executor.batch():
            jobs = [
                executor.submit(run_point_job, str(out), pid, tuple(command)) for pid in point_ids
            ]
    except BaseException:
        for pid, old in before.items():
            write_status(out, pid, **old)
        raise
    record_jobs(out, {pid: str(job.job_id) for pid, job in zip(point_ids, jobs, strict=True)})
    return jobs


def wait(jobs: Sequence[Any]) -> None:
    """Wait until every submitted job has ended (however it ended: the points'
    ``status.json`` say how)."""
    for job in jobs:
        try:
            job.wait()
        except Exception:  # a failed job: its point's status.json says why
            pass
