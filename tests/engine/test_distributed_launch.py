"""Launcher environments: the old ``python -m torch.distributed.launch`` passes
``--local-rank``; ``WORLD_SIZE`` > 1 without ``RANK``, ``MASTER_ADDR`` or ``MASTER_PORT``
is one line naming the variable and how to start the processes, before any work."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch.distributed

from skelcon.cli import main
from skelcon.engine.distributed import distributed, launch_env, take_local_rank_arg
from skelcon.engine.launch import LaunchInfo, launch_info
from skelcon.errors import SkelconError

AGENT_STORE = "TORCHELASTIC_USE_AGENT_STORE"  # set by torchrun: its agent gathered the ranks
FULL = {
    "WORLD_SIZE": "2",
    "RANK": "1",
    "LOCAL_RANK": "1",
    "MASTER_ADDR": "localhost",
    "MASTER_PORT": "29500",
}


def test_full_environment_and_single_process():
    assert launch_env(FULL) == (2, 1, 1)
    assert launch_env({k: v for k, v in FULL.items() if k != "LOCAL_RANK"}) == (2, 1, 0)
    assert launch_env({}) == (1, 0, 0) and launch_env({"WORLD_SIZE": "1"}) == (1, 0, 0)


def test_launch_info_unchecked_takes_defaults_for_malformed_values():
    assert launch_info(FULL) == LaunchInfo(2, 1, 1, 2)
    assert launch_info({**FULL, "LOCAL_WORLD_SIZE": "1"}).nodes == 2
    lenient = launch_info({"WORLD_SIZE": "4", "RANK": "x", "LOCAL_WORLD_SIZE": "?"}, check=False)
    assert lenient == LaunchInfo(4, 0, 0, 4) and lenient.nodes == 1
    assert launch_info({"WORLD_SIZE": "two", "RANK": "1"}, check=False) == LaunchInfo()
    assert launch_info({"RANK": "3"}, check=False) == LaunchInfo()  # no launcher


@pytest.mark.parametrize("name", ["RANK", "MASTER_ADDR", "MASTER_PORT"])
def test_missing_variable_named_with_the_command(name):
    env = {k: v for k, v in FULL.items() if k != name}
    with pytest.raises(SkelconError) as e:
        launch_env(env, command="eval knn")
    msg = str(e.value)
    assert msg.startswith(
        f"WORLD_SIZE=2 is set but {name} is not; start the 2 processes with "
        "torchrun --nproc_per_node=2 -m skelcon eval knn ..."
    )
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("name", "value", "want"),
    [
        ("WORLD_SIZE", "two", "WORLD_SIZE='two' is not an integer >= 1"),
        ("RANK", "2", "RANK='2' is not an integer in 0..1"),
        ("MASTER_PORT", "http", "MASTER_PORT='http' is not an integer in 1..65535"),
        ("LOCAL_RANK", "-1", "LOCAL_RANK='-1' is not an integer in 0..1"),
    ],
)
def test_malformed_variable(name, value, want):
    with pytest.raises(SkelconError, match=want):
        launch_env({**FULL, name: value})


def test_old_launcher_local_rank_arguments():
    env: dict[str, str] = {}
    assert take_local_rank_arg(["pretrain", "--data", "d", "--local-rank=3"], env) == [
        "pretrain",
        "--data",
        "d",
    ]
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
    rc = main(
        ["pretrain", "--data", str(tmp_path / "nowhere"), "--out", str(out), "--local-rank=0"]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "WORLD_SIZE=2 is set but RANK is not; start the 2 processes with torchrun" in err
    assert not out.exists()  # nothing done: not even the data was looked at


def test_local_rank_without_a_value(monkeypatch, capsys):
    for argv in (
        ["pretrain", "--local-rank", "--data", "d"],
        ["configs", "--local_rank"],
        ["configs", "--local-rank="],
    ):
        flag = argv[1].rstrip("=")
        with pytest.raises(SkelconError, match=rf"^{flag} needs a value \(e.g. {flag} 0\)$"):
            take_local_rank_arg(argv, {})
    with pytest.raises(SystemExit) as e:
        main(["pretrain", "--local-rank", "--data", "d", "--out", "o"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == "skelcon: error: --local-rank needs a value (e.g. --local-rank 0)\n"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SKELCON_RENDEZVOUS_TIMEOUT", "soon"),
        ("SKELCON_RENDEZVOUS_TIMEOUT", "0"),
        ("SKELCON_DIST_TIMEOUT_MIN", "-5"),
    ],
)
def test_bad_timeout_setting_is_one_line_before_any_work(name, value):
    unit = "seconds" if "RENDEZVOUS" in name else "minutes"
    with pytest.raises(
        SkelconError,
        match=rf"^{name}='{value}' is not valid \(valid: a number "
        rf"of {unit} > 0\)$",
    ):
        launch_env({**FULL, name: value})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lone_env(rank: int, seconds: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LOCAL_RANK", AGENT_STORE)}
    return {
        **env,
        "WORLD_SIZE": "2",
        "RANK": str(rank),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "SKELCON_RENDEZVOUS_TIMEOUT": str(seconds),
    }


@pytest.mark.ddp
@pytest.mark.parametrize(
    ("rank", "who"),
    [(0, "the other process did not arrive"), (1, "nothing answered at 127.0.0.1:")],
)
def test_rendezvous_time_is_bounded_and_names_who_did_not_arrive(monkeypatch, capsys, rank, who):
    env = _lone_env(rank, 1)
    for k in ("LOCAL_RANK", AGENT_STORE):
        monkeypatch.delenv(k, raising=False)
    for k in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT", "SKELCON_RENDEZVOUS_TIMEOUT"):
        monkeypatch.setenv(k, env[k])
    monkeypatch.setenv("SKELCON_DIST_TIMEOUT_MIN", "0.05")  # a bound even without the fix
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(SkelconError) as e, distributed("cpu"):  # bounded by the timeouts set
        pytest.fail("joined a group of 2 alone")
    msg = str(e.value)
    assert msg.startswith(
        f"rendezvous at 127.0.0.1:{env['MASTER_PORT']} timed out after 1 s "
        f"(rank {rank} of 2): {who}"
    )
    assert "SKELCON_RENDEZVOUS_TIMEOUT=SECONDS" in msg and "\n" not in msg
    assert "skelcon: waiting for the other process at 127.0.0.1:" in capsys.readouterr().err
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert not torch.distributed.is_initialized()


@pytest.mark.ddp
def test_lone_rank_says_it_waits_and_sigterm_ends_it(tiny_data, tmp_path):
    """The reported hang: a lone rank of WORLD_SIZE=2 printed nothing and ignored SIGTERM
    (skelcon's Python handler cannot run while the C++ rendezvous blocks)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skelcon",
            "pretrain",
            "--data",
            str(tiny_data),
            "--config",
            "cpu_small",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--out",
            str(tmp_path / "run"),
        ],
        env=_lone_env(0, 60),
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()
    try:
        first = lines.get(timeout=30)  # (a fresh interpreter imports torch first)
        assert first.startswith("skelcon: waiting for the other process at 127.0.0.1:")
        assert "(rank 0 of 2; up to 60 s, SKELCON_RENDEZVOUS_TIMEOUT) ..." in first
        time.sleep(0.3)  # inside the rendezvous
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == -signal.SIGTERM  # ended at once, by the signal
    finally:
        proc.kill()
        proc.wait()
    assert not (tmp_path / "run" / "last.pt").exists()


def test_launch_info_names_the_rendezvous_and_the_agent_store():
    info = launch_info({**FULL, "TORCHELASTIC_USE_AGENT_STORE": "True"})
    assert info.master == f"{FULL['MASTER_ADDR']}:{FULL['MASTER_PORT']}" and info.agent_store
    assert not launch_info(FULL).agent_store
