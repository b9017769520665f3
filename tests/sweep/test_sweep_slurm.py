"""The Slurm executor: points submitted through submitit (its LocalExecutor runs them
here, as Slurm would on nodes) and the job script a dry run writes."""

from __future__ import annotations

import pytest

from skelcon.cli import main
from skelcon.errors import SkelconError
from skelcon.sweep import slurm
from skelcon.sweep.grid import build_plan
from skelcon.sweep.spec import load_sweep
from skelcon.sweep.status import open_sweep, read_status, status_lines

submitit = pytest.importorskip("submitit")


def test_points_run_as_submitit_jobs(fake, sweep_file, tiny_data, tmp_path):
    out = tmp_path / "sw"
    open_sweep(out, build_plan(load_sweep(sweep_file), data=tiny_data, axes={"seed": [0]}))
    ids = slurm.points_to_submit(out)
    assert len(ids) == 2
    executor = submitit.LocalExecutor(folder=str(out / "slurm"))
    executor.update_parameters(timeout_min=5)
    jobs = slurm.submit(out, executor, ids)
    assert all(read_status(out, i)["state"] in ("submitted", "running", "done") for i in ids)
    slurm.wait(jobs)
    assert [j.result()["state"] for j in jobs] == ["done", "done"]
    assert all(read_status(out, i)["state"] == "done" for i in ids)
    assert {p for _, p in fake.commands()} == set(ids)  # each job ran its point's commands
    assert slurm.points_to_submit(out) == []  # nothing left
    assert status_lines(out)[0].endswith("2 points: 2 done")


def test_dry_run_writes_the_job_script(fake, sweep_file, tiny_data, tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep", str(sweep_file), "--data", str(tiny_data), "--out", str(out)]
    argv += ["--executor", "slurm", "--dry-run", "--partition", "gpu", "--time", "1-00:00:00"]
    assert main([*argv, "--torchrun", "4", "--array-parallelism", "2"]) == 0
    assert "the job script for 4 points is" in capsys.readouterr().out
    text = (out / "slurm" / "dry_run.sbatch").read_text()
    for want in (
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --time=1440",
        "#SBATCH --array=0-3%2",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --job-name=skelcon-small",
        "export SKELCON_SWEEP_TORCHRUN=",
        "--standalone --nnodes=1 --nproc_per_node=4",
    ):
        assert want in text, want
    assert "torchrun" in text.split("SKELCON_SWEEP_TORCHRUN=")[1].splitlines()[0]
    assert not fake.calls()  # nothing ran
    # one GPU per point, no torchrun: no launcher line
    assert main([*argv, "--gpus", "1"]) == 0
    text = (out / "slurm" / "dry_run.sbatch").read_text()
    assert "#SBATCH --gpus-per-node=1" in text and "SKELCON_SWEEP_TORCHRUN" not in text


def test_slurm_options_are_checked():
    with pytest.raises(SkelconError, match="torchrun 4 processes need as many GPUs, not gpus 2"):
        slurm.slurm_parameters(job_name="x", time_min=10, gpus=2, torchrun=4)
    with pytest.raises(SkelconError, match="time 0 must be at least 1 minute"):
        slurm.slurm_parameters(job_name="x", time_min=0)
    p = slurm.slurm_parameters(job_name="x", time_min=10, torchrun=2)
    assert p["gpus_per_node"] == 2 and p["ntasks_per_node"] == 1


def test_without_slurm_a_submission_is_one_line(fake, sweep_file, tiny_data, tmp_path, capsys):
    argv = ["sweep", str(sweep_file), "--data", str(tiny_data), "--out", str(tmp_path / "sw")]
    assert main([*argv, "--executor", "slurm", "--partition", "gpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skelcon: error: no Slurm here") and "\n" not in err
    assert main([*argv, "--torchrun", "2"]) == 2
    assert "go with --executor slurm" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--partition", "gpu"], "--partition go with --executor slurm"),
        (["--dry-run", "--torchrun", "2"], "--torchrun, --dry-run go with --executor slurm"),
        (["--executor", "slurm", "--jobs", "2"], "--jobs is for --executor local"),
    ],
)
def test_executor_flags_are_checked_before_anything_runs(tmp_path, capsys, flags, said):
    from skelcon.cli.main import main

    assert main(["sweep", "table6", "--out", str(tmp_path / "s"), *flags]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
