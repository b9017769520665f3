"""Launcher environments (issue 17, case s3/14-old-launcher-local-rank): the old
``python -m torch.distributed.launch`` passes ``--local-rank``; ``WORLD_SIZE`` > 1
without ``RANK``, ``MASTER_ADDR`` or ``MASTER_PORT`` is one line naming the variable
and how to start the processes, before any work."""

from __future__ import annotations

import os

import pytest

from skelcon.cli import main
from skelcon.engine.distributed import launch_env, take_local_rank_arg
from skelcon.errors import SkelconError

FULL = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1", "MASTER_ADDR": "localhost",
        "MASTER_PORT": "29500"}  # fmt: skip


def test_full_environment_and_single_process():
    assert launch_env(FULL) == (2, 1, 1)
    assert launch_env({k: v for k, v in FULL.items() if k != "LOCAL_RANK"}) == (2, 1, 0)
    assert launch_env({}) == (1, 0, 0) and launch_env({"WORLD_SIZE": "1"}) == (1, 0, 0)


@pytest.mark.parametrize("name", ["RANK", "MASTER_ADDR", "MASTER_PORT"])
def test_missing_variable_named_with_the_command(name):
    env = {k: v for k, v in FULL.items() if k != name}
    with pytest.raises(SkelconError) as e:
        launch_env(env, command="eval knn")
    msg = str(e.value)
    assert msg.startswith(f"WORLD_SIZE=2 is set but {name} is not; start the 2 processes with "
                          "torchrun --nproc_per_node=2 -m skelcon eval knn ...")  # fmt: skip
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("name", "value", "want"),
    [("WORLD_SIZE", "two", "WORLD_SIZE='two' is not an integer >= 1"),
     ("RANK", "2", "RANK='2' is not an integer in 0..1"),
     ("MASTER_PORT", "http", "MASTER_PORT='http' is not an integer in 1..65535"),
     ("LOCAL_RANK", "-1", "LOCAL_RANK='-1' is not an integer in 0..1")],
)  # fmt: skip
def test_malformed_variable(name, value, want):
    with pytest.raises(SkelconError, match=want):
        launch_env({**FULL, name: value})


def test_old_launcher_local_rank_arguments():
    env: dict[str, str] = {}
    assert take_local_rank_arg(["pretrain", "--data", "d", "--local-rank=3"], env) == [
        "pretrain", "--data", "d"]  # fmt: skip
    assert env == {"LOCAL_RANK": "3"}
    env = {"LOCAL_RANK": "1"}  # the launcher's own variable wins (they agree in practice)
    assert take_local_rank_arg(["--local_rank", "1", "configs"], env) == ["configs"]
    assert env == {"LOCAL_RANK": "1"}
    with pytest.raises(SkelconError, match="--local-rank='x' is not a local rank"):
        take_local_rank_arg(["--local-rank=x"], {})


def test_cli_accepts_local_rank_and_sets_local_rank(monkeypatch, capsys):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert main(["configs", "--local-rank=0"]) == 0
    assert "cpu_small" in capsys.readouterr().out and os.environ["LOCAL_RANK"] == "0"


def test_cli_refuses_incomplete_environment_before_any_work(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for k in ("RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    out = tmp_path / "run"
    rc = main(["pretrain", "--data", str(tmp_path / "nowhere"), "--out", str(out), "--local-rank=0"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "WORLD_SIZE=2 is set but RANK is not; start the 2 processes with torchrun" in err
    assert not out.exists()  # nothing done: not even the data was looked at
