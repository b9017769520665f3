"""Faults mid-run: signals, corrupt checkpoints, a full disk, two runs on one output,
NaN/Inf. Each is injected from inside the loop (or a real subprocess) and must leave
``last.pt`` at the last finished epoch, with a one-line message."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import torch
from tinydata import TINY_PRETRAIN

import skelcon.engine.checkpoint as checkpoint_mod
import skelcon.engine.pretrain as pretrain_mod
from skelcon.cli import main
from skelcon.config import PretrainConfig, load_config
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.engine.guards import guard_loss
from skelcon.engine.pretrain import pretrain
from skelcon.errors import Interrupted, SkelconError
from skelcon.utils.io import output_lock

STEPS = 4  # 36 tiny training clips, batch 8


def _stopped(after: int, *args, **kw):
    """``pretrain(*args, **kw)`` ended after ``after`` epochs, as by an interruption."""
    import skelcon.engine.pretrain as pretrain_mod

    with mock.patch.object(pretrain_mod, "_STOP_AFTER", after):
        return pretrain(*args, **kw)


def _cfg(*extra: str) -> PretrainConfig:
    return load_config(PretrainConfig, None, [*TINY_PRETRAIN, *extra])


def _cli_args(data, out, *extra: str) -> list[str]:
    sets = [a for s in TINY_PRETRAIN for a in ("--set", s)]
    return [
        "pretrain",
        "--data",
        str(data),
        "--benchmark",
        "default",
        "--out",
        str(out),
        "--quiet",
        *sets,
        *extra,
    ]


def _signal_at_step(monkeypatch, step: int, signum: int) -> None:
    """Send ``signum`` to this process from inside the loop, at global step ``step``
    (the lr schedule is called once at the start of every step)."""
    calls = []
    real = pretrain_mod.lr_at

    def hook(*args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(pretrain_mod, "lr_at", hook)


def _assert_same_weights(a: Path, b: Path) -> None:
    ma, mb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    assert ma.keys() == mb.keys()
    for k in ma:
        assert torch.equal(ma[k], mb[k]), k


@pytest.fixture(scope="module")
def straight3(tiny_data, tmp_path_factory) -> Path:
    """An uninterrupted 3-epoch run to compare resumed runs with."""
    out = tmp_path_factory.mktemp("straight") / "a"
    return pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)


def test_sigint_mid_epoch_keeps_the_last_epoch_and_resume_is_exact(
    tiny_data, tmp_path, monkeypatch, straight3
):
    out = tmp_path / "b"
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN under a background CI job
    _signal_at_step(monkeypatch, STEPS + 2, signal.SIGINT)  # epoch 2, batch 2
    with pytest.raises(Interrupted) as info:
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)
    msg = str(info.value)
    assert info.value.exit_code == 130 and "\n" not in msg
    assert msg.startswith("pretrain stopped by SIGINT during epoch 2 of 3; ")
    assert f"{out / 'last.pt'} holds epoch 1" in msg
    assert msg.endswith(
        f"resume with: skelcon pretrain --data {tiny_data} --benchmark default --out {out} --resume"
    )
    assert load_checkpoint(out)["epoch"] == 1 and not (out / "epoch_0002.pt").exists()
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    monkeypatch.undo()
    pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False, resume=True)
    _assert_same_weights(straight3, out)


def test_sigterm_while_checkpointing_waits_for_the_checkpoints(tiny_data, tmp_path, monkeypatch):
    out = tmp_path / "r"
    real = pretrain_mod.save_checkpoint

    def save(path, state):
        if Path(path).name == "last.pt" and state["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives between the two writes
        real(path, state)

    monkeypatch.setattr(pretrain_mod, "save_checkpoint", save)
    with pytest.raises(Interrupted) as info:
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)
    assert info.value.exit_code == 143
    assert "stopped by SIGTERM during epoch 2 of 3" in str(info.value)
    assert load_checkpoint(out)["epoch"] == 1
    assert load_checkpoint(out / "epoch_0001.pt")["epoch"] == 1


def test_sigint_before_the_first_epoch_says_nothing_was_saved(tiny_data, tmp_path, monkeypatch):
    _signal_at_step(monkeypatch, 2, signal.SIGINT)
    with pytest.raises(Interrupted, match="no epoch has finished, nothing saved; run the same"):
        pretrain(_cfg("epochs=2"), tiny_data, "default", tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "last.pt").exists()


def test_cli_sigint_prints_one_line_and_exits_130(tiny_data, tmp_path, monkeypatch, capsys):
    _signal_at_step(monkeypatch, STEPS + 1, signal.SIGINT)
    assert main(_cli_args(tiny_data, tmp_path / "r", "--epochs", "2")) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skelcon: pretrain stopped by SIGINT during epoch 2")
    assert err[0].endswith("--resume")


@pytest.mark.slow
def test_real_sigterm_to_a_cli_process_exits_143(tiny_data, tmp_path):
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from skelcon.cli import main; sys.exit(main())",
            *_cli_args(tiny_data, out, "--epochs", "200"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (out / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "pretrain stopped by SIGTERM during epoch" in lines[0], err
    held = load_checkpoint(out)["epoch"]
    assert f"last.pt holds epoch {held};" in lines[0] and lines[0].endswith("--resume")


def _run_two_of_three(tiny_data, out: Path) -> None:
    _stopped(2, _cfg("epochs=3"), tiny_data, "default", out, progress=False)


@pytest.mark.slow
def test_corrupt_last_pt_names_the_newest_intact_epoch(
    tiny_data, tmp_path, capsys, monkeypatch, straight3
):
    out = tmp_path / "r"
    _run_two_of_three(tiny_data, out)
    for name in ("last.pt", "epoch_0002.pt"):  # both truncated, as by a crash mid-copy
        data = (out / name).read_bytes()
        (out / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(SkelconError) as info:
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False, resume=True)
    msg = str(info.value)
    good = out / "epoch_0001.pt"
    assert f"{out / 'last.pt'} is truncated or corrupt" in msg
    assert f"the newest intact checkpoint is {good} (epoch 1)" in msg
    assert msg.endswith(f"--out {out} --resume-from {good}")
    # the CLI: one line, exit 2 (also when it reads the run's config from last.pt)
    assert main(_cli_args(tiny_data, out, "--resume")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume-from" in err[0] and err[0].startswith("skelcon: error: ")
    # stopped again before an epoch finishes: last.pt is still bad, so it names the file
    _signal_at_step(monkeypatch, 1, signal.SIGINT)
    assert main(_cli_args(tiny_data, out, "--resume-from", str(good))) == 130
    err = capsys.readouterr().err.strip()
    assert f"; {good} holds epoch 1; resume with: " in err and err.endswith(f"--resume-from {good}")
    monkeypatch.undo()
    # --resume-from continues into the same --out, exactly as an unbroken run
    assert main(_cli_args(tiny_data, out, "--resume-from", str(good))) == 0
    assert load_checkpoint(out)["epoch"] == 3
    _assert_same_weights(straight3, out)


def test_corrupt_last_pt_without_intact_epochs(tiny_data, tmp_path):
    out = tmp_path / "r"
    _stopped(1, _cfg("epochs=2", "save_every=0"), tiny_data, "default", out, progress=False)
    (out / "last.pt").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(SkelconError, match="no intact epoch_NNNN.pt beside it"):
        pretrain(
            _cfg("epochs=2", "save_every=0"), tiny_data, "default", out, progress=False, resume=True
        )


def test_full_disk_while_checkpointing_keeps_the_previous(tiny_data, tmp_path, monkeypatch):
    out = tmp_path / "r"
    real = torch.save

    def full(obj, f, *args, **kwargs):
        if obj.get("epoch") == 2:
            f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(checkpoint_mod.torch, "save", full)
    with pytest.raises(SkelconError) as info:
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)
    assert str(info.value) == (
        f"no space left on the device writing {out / 'last.pt'} (the previous last.pt is "
        "intact); free some space and run again"
    )
    assert load_checkpoint(out)["epoch"] == 1
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def test_full_disk_through_the_cli_is_one_line(tiny_data, tmp_path, monkeypatch, capsys):
    def full(obj, f, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint_mod.torch, "save", full)
    assert main(_cli_args(tiny_data, tmp_path / "r", "--epochs", "1")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skelcon: error: no space left on the device")


def test_second_run_on_the_same_out_is_refused(tiny_data, tmp_path):
    out = tmp_path / "r"
    with output_lock(out, "pretrain"):
        with pytest.raises(
            SkelconError, match=rf"in use by another skelcon pretrain \(pid {os.getpid()}"
        ):
            pretrain(_cfg("epochs=1"), tiny_data, "default", out, progress=False)
    pretrain(_cfg("epochs=1"), tiny_data, "default", out, progress=False)  # released
    pretrain(_cfg("epochs=2"), tiny_data, "default", out, progress=False, resume=True)


def test_nan_weights_name_the_step_terms_and_representation(tiny_data, tmp_path, monkeypatch):
    out = tmp_path / "r"
    built = []
    real_build, real_lr = pretrain_mod.build_moco, pretrain_mod.lr_at
    monkeypatch.setattr(
        pretrain_mod, "build_moco", lambda *a: built.append(real_build(*a)) or built[-1]
    )
    calls = []

    def poison(*args, **kwargs):  # NaN into the stg query encoder at step 6
        calls.append(1)
        if len(calls) == STEPS + 2:
            with torch.no_grad():
                next(built[0].query_encoders["stg"].parameters()).fill_(float("nan"))
        return real_lr(*args, **kwargs)

    monkeypatch.setattr(pretrain_mod, "lr_at", poison)
    with pytest.raises(SkelconError) as info:
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)
    msg = str(info.value)
    assert msg.startswith("loss became nan at step 6 (epoch 2, batch 2 of 4): ")
    assert "loss/seq->stg = nan" in msg and "loss/stg->seq = nan" in msg
    assert "non-finite weights in stg encoder;" in msg and "seq encoder" not in msg
    assert msg.endswith(f"{out / 'last.pt'} holds epoch 1; lower optim.lr")
    assert load_checkpoint(out)["epoch"] == 1 and not (out / "epoch_0002.pt").exists()


def test_nan_weights_after_the_last_step_are_never_saved(tiny_data, tmp_path, monkeypatch):
    out = tmp_path / "r"
    real_step = torch.optim.SGD.step
    calls = []

    def step(self, *args, **kwargs):  # the last update of epoch 2 breaks the weights
        calls.append(1)
        res = real_step(self, *args, **kwargs)
        if len(calls) == 2 * STEPS:
            with torch.no_grad():
                self.param_groups[0]["params"][0].fill_(float("inf"))
        return res

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    with pytest.raises(
        SkelconError, match=r"became non-finite at the last step of epoch 2; .*holds epoch 1"
    ):
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)
    assert load_checkpoint(out)["epoch"] == 1


def test_guard_loss_blames_the_representation_shared_by_the_bad_pairs():
    nan, one = torch.tensor(float("nan")), torch.tensor(1.0)
    stats = {
        "loss/seq->stg": nan,
        "loss/stg->img": nan,
        "loss/seq->img": one,
        "loss/img->seq": one,
        "acc/seq->stg": one,
    }
    with pytest.raises(SkelconError) as info:
        guard_loss(nan, stats, where="step 3", modules={}, advice="lower optim.lr")
    assert str(info.value) == (
        "loss became nan at step 3: loss/seq->stg = nan, loss/stg->img = nan; "
        "non-finite embeddings of stg; lower optim.lr"
    )
    stats["std/img"] = nan  # the collapse statistic points at img's embeddings
    with pytest.raises(SkelconError, match="non-finite embeddings of img;"):
        guard_loss(nan, stats, where="step 3", modules={}, advice="x")
    guard_loss(one, stats, where="step 3", modules={}, advice="x")  # finite: nothing


def test_full_disk_hidden_by_torch_zip_writer_is_one_line(tiny_data, tmp_path, monkeypatch):
    """torch.save's zip writer turns the disk-full OSError into a RuntimeError (the
    OSError is its __context__): still the one-line error, the previous file intact."""
    out = tmp_path / "r"
    real = torch.save

    def full(obj, f, *args, **kwargs):
        if obj.get("epoch") != 2:
            return real(obj, f, *args, **kwargs)
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError:
            raise RuntimeError(
                "[enforce fail at inline_container.cc:672] . unexpected pos"
            ) from None

    monkeypatch.setattr(checkpoint_mod.torch, "save", full)
    with pytest.raises(SkelconError, match="^no space left on the device writing .*last.pt"):
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False)
    assert load_checkpoint(out)["epoch"] == 1


def test_non_finite_weights_or_missing_last_pt_name_the_intact_epoch(tiny_data, tmp_path):
    """A last.pt that still loads but holds a NaN (a flipped bit), or no last.pt at all:
    the same one line naming the newest intact epoch_NNNN.pt as a truncated one."""
    out = tmp_path / "r"
    _run_two_of_three(tiny_data, out)
    state = torch.load(out / "last.pt", weights_only=True)
    name = next(k for k, v in state["model"].items() if v.is_floating_point() and v.numel() > 1)
    state["model"][name].view(-1)[0] = float("nan")
    torch.save(state, out / "last.pt")
    with pytest.raises(SkelconError) as info:
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False, resume=True)
    msg = str(info.value)
    assert f"non-finite values in model tensor {name}" in msg
    assert f"the newest intact checkpoint is {out / 'epoch_0002.pt'} (epoch 2)" in msg
    (out / "last.pt").unlink()
    with pytest.raises(SkelconError, match=r"has no last.pt to resume; the newest intact "):
        pretrain(_cfg("epochs=3"), tiny_data, "default", out, progress=False, resume=True)


def test_resume_refuses_data_of_another_stored_shape(tiny_data, tmp_path):
    from tinydata import make_tiny_prepared

    out = tmp_path / "r"
    pretrain(_cfg("epochs=1"), tiny_data, "default", out, progress=False)
    longer = make_tiny_prepared(tmp_path / "t30", frames=30)  # same names and split, T 24 -> 30
    with pytest.raises(SkelconError, match=r"the training data differ \(stored_shape: "):
        pretrain(_cfg("epochs=2"), longer, "default", out, progress=False, resume=True)


def test_a_stop_after_the_last_epoch_says_so(tmp_path):
    """A signal between the last epoch's checkpoint and the run's end is not "during
    epoch N+1 of N"."""
    from skelcon.config import PretrainConfig
    from skelcon.engine.resume import RunReport

    report = RunReport(PretrainConfig(epochs=40), "d", "default", tmp_path, start_epoch=0)
    report.done = 40
    msg = report.stopped("SIGTERM")
    assert msg.startswith("pretrain stopped by SIGTERM after its last epoch (40), while finishing")
    report.done = 12
    assert "during epoch 13 of 40" in report.stopped("SIGTERM")
