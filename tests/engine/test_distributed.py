"""DDP on CPU (gloo), two processes: the same step as one process, identical ranks,
exact resume, and a resume with another number of processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch
import torch.multiprocessing as mp
from tinydata import TINY_PRETRAIN
from torch import nn

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.checkpoint import load_checkpoint
from skelcon.engine.distributed import Dist, current
from skelcon.engine.pretrain import pretrain

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="torch.distributed with the gloo backend is not available in this build",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(rank: int, world: int, port: int) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    torch.set_num_threads(1)


def _spawn(fn, world: int, *args) -> None:
    mp.start_processes(fn, args=(world, _free_port(), *args), nprocs=world, start_method="spawn")


# --- one MoCo step: 2 x B/2 equals 1 x B for an encoder without BatchNorm ------------------


class _Flat(nn.Module):
    """A BatchNorm-free encoder: (N, C, T, V, M) -> (N, 16)."""

    feature_dim = 16

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 8 * 5 * 1, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(x.flatten(1)))


def _step(model, views, opt, ids=None):
    loss, stats = model(*views, ids=ids)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach(), stats


# (symmetric, queue size): the paper's one direction, and both directions into a queue of
# 20 keys, not a multiple of the 2 x 8 keys a step enqueues, so the queue wraps mid-step
SETUPS = ((False, 32), (True, 20))
# statistics that are means over the batch's queries (their mean over ranks is exact)
MEANS = ("loss/", "acc/", "align/", "pos_cos/", "neg_cos/", "queue_age/")


def _moco(symmetric: bool = False, queue_size: int = 32):
    from skelcon.contrast import SkeletonMoCo

    torch.manual_seed(0)
    return SkeletonMoCo(
        {"seq": _Flat(), "img": _Flat()},
        dim=8,
        queue_size=queue_size,
        momentum=0.9,
        temperature=0.2,
        shuffle_bn=2,
        symmetric=symmetric,
    )


def _views(batch: int = 8):
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, 3, 8, 5, 1, generator=g), torch.randn(batch, 3, 8, 5, 1, generator=g)


def _one_step_worker(rank: int, world: int, port: int, out: str) -> None:
    _env(rank, world, port)
    torch.distributed.init_process_group("gloo")
    here = Dist(rank, world)
    for symmetric, size in SETUPS:
        model = _moco(symmetric, size)
        ddp = nn.parallel.DistributedDataParallel(model, broadcast_buffers=False)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
        q, k = _views()
        a, b = here.shard(0, q.shape[0])
        ids = torch.arange(a, b)  # the same clips twice: step 2 meets their older keys
        steps = [_step(ddp, (q[a:b], k[a:b]), opt, ids) for _ in range(2)]
        reduce = torch.distributed.all_reduce
        with mock.patch.object(torch.distributed, "all_reduce", wraps=reduce) as spy:
            stats = here.mean_stats(steps[1][1])  # what metrics.jsonl logs under torchrun
        torch.save(
            {
                "loss": torch.stack([here.mean(loss) for loss, _ in steps]),
                "model": model.state_dict(),
                "stats": stats,
                "reduces": spy.call_count,
            },
            f"{out}/rank{rank}_{symmetric}.pt",
        )
    torch.distributed.barrier()  # no rank tears down the group while a peer still uses it
    torch.distributed.destroy_process_group()


@pytest.mark.slow
@pytest.mark.ddp
def test_two_half_batches_equal_one_full_batch(tmp_path):
    """Loss, weights, queues (keys, clips, pointer) and the logged statistics of 2 steps
    of 2 processes x 4 clips equal those of 1 process x 8 clips, also symmetric with a
    queue that wraps in the middle of a step's keys."""
    _spawn(_one_step_worker, 2, str(tmp_path))
    for symmetric, size in SETUPS:
        model = _moco(symmetric, size)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
        q, k = _views()
        steps = [_step(model, (q, k), opt, torch.arange(8)) for _ in range(2)]
        single = torch.stack([loss for loss, _ in steps])
        ranks = [
            torch.load(tmp_path / f"rank{r}_{symmetric}.pt", weights_only=True) for r in range(2)
        ]
        for r in ranks:
            torch.testing.assert_close(r["loss"], single, rtol=1e-5, atol=1e-6)
            for name, t in model.state_dict().items():  # queues.*.keys / ids / ptr too
                torch.testing.assert_close(r["model"][name], t, rtol=1e-5, atol=1e-6, msg=name)
            assert r["reduces"] == 1  # all statistics in one all_reduce
            for name, v in steps[1][1].items():
                if name.startswith(MEANS):  # std and uniformity: the mean of the ranks' own
                    assert r["stats"][name] == pytest.approx(float(v), rel=1e-5, abs=1e-6), name
        assert set(ranks[0]["stats"]) == set(steps[1][1])
        assert int(model.queues["seq"].ptr) == (32 if symmetric else 16) % size
        # the weights moved (the comparison above is not between two untouched copies)
        assert not torch.allclose(
            ranks[0]["model"]["query_encoders.seq.fc.weight"],
            _moco().state_dict()["query_encoders.seq.fc.weight"],
        )


# --- shuffle-BN across ranks -----------------------------------------------------------------


def _shuffle_worker(rank: int, world: int, port: int, out: str) -> None:
    from skelcon.contrast.shuffle_bn import distributed_shuffled_forward

    _env(rank, world, port)
    torch.distributed.init_process_group("gloo")
    x = torch.arange(8.0).reshape(8, 1) + 100 * rank
    seen = []

    def fn(chunk):
        seen.append(chunk.clone())
        return chunk * 2

    g = torch.Generator().manual_seed(3)
    y = distributed_shuffled_forward(fn, x, 0, g)
    torch.save({"y": y, "seen": seen[0]}, f"{out}/rank{rank}.pt")
    torch.distributed.barrier()  # no rank tears down the group while a peer still uses it
    torch.distributed.destroy_process_group()


@pytest.mark.ddp
def test_distributed_shuffle_mixes_ranks_and_restores_order(tmp_path):
    _spawn(_shuffle_worker, 2, str(tmp_path))
    for r in range(2):
        got = torch.load(tmp_path / f"rank{r}.pt", weights_only=True)
        mine = torch.arange(8.0).reshape(8, 1) + 100 * r
        assert torch.equal(got["y"], mine * 2)  # this rank's rows, in order
        seen = got["seen"].flatten()
        # the rows this rank encoded come from both ranks (shuffled across processes)
        assert (seen < 100).any() and (seen >= 100).any()


# --- the whole loop: identical ranks, exact resume, another world size ---------------------------


def _cfg(*extra: str) -> PretrainConfig:
    return load_config(PretrainConfig, None, [*TINY_PRETRAIN, "monitor.every=1", *extra])


def _run(world: int, data: Path, run: Path, *extra: str, **kw) -> dict:
    mp.start_processes(
        _ranks_main,
        args=(world, _free_port(), str(data), str(run), list(extra), kw),
        nprocs=world,
        start_method="spawn",
    )
    return load_checkpoint(run)


def _ranks_main(
    rank: int, world: int, port: int, data: str, run: str, extra: list, kw: dict
) -> None:
    """Run pretrain in this rank and keep this rank's final model state for the test."""
    import skelcon.engine.pretrain as engine

    _env(rank, world, port)
    seen: dict = {}
    original = engine.wrap_ddp

    def keep(model, world_, device):
        seen["model"] = model
        return original(model, world_, device)

    engine.wrap_ddp = keep
    engine._STOP_AFTER = kw.pop("stop_after", None)  # an interruption after that many epochs
    engine.pretrain(_cfg(*extra), data, "default", run, progress=False, **kw)
    torch.save(
        {k: v.detach().clone() for k, v in seen["model"].state_dict().items()},
        f"{run}/rank{rank}_state.pt",
    )


@pytest.mark.slow
@pytest.mark.ddp
def test_two_processes_keep_identical_ranks_and_resume_exactly(tiny_data, tmp_path):
    straight = _run(2, tiny_data, tmp_path / "a", "epochs=2")
    r0 = torch.load(tmp_path / "a/rank0_state.pt", weights_only=True)
    r1 = torch.load(tmp_path / "a/rank1_state.pt", weights_only=True)
    assert r0.keys() == r1.keys()
    for name in r0:  # weights, BatchNorm statistics (averaged) and queues
        torch.testing.assert_close(r0[name], r1[name], rtol=1e-6, atol=1e-7, msg=name)
        torch.testing.assert_close(straight["model"][name], r0[name], rtol=0, atol=0, msg=name)
    assert straight["world_size"] == 2
    metrics = (tmp_path / "a/metrics.jsonl").read_text()
    assert '"knn/seq"' in metrics and '"samples_per_s"' in metrics
    # the per-pair losses are those of the global batch, as `loss` is (their sum)
    steps = [r for r in map(json.loads, metrics.splitlines()) if "loss/seq->stg" in r]
    assert len(steps) == 8
    for r in steps:
        assert r["loss"] == pytest.approx(r["loss/seq->stg"] + r["loss/stg->seq"], rel=1e-5)

    _run(2, tiny_data, tmp_path / "b", "epochs=2", stop_after=1)
    assert load_checkpoint(tmp_path / "b")["epoch"] == 1
    resumed = _run(2, tiny_data, tmp_path / "b", "epochs=2", resume=True)
    for name, t in straight["model"].items():
        assert torch.equal(resumed["model"][name], t), name

    # the same global batch on one process continues the 2-process run
    single = pretrain(
        _cfg("epochs=3"), tiny_data, "default", tmp_path / "b", progress=False, resume=True
    )
    assert load_checkpoint(single)["epoch"] == 3 and load_checkpoint(single)["world_size"] == 1


@pytest.mark.ddp
def test_global_batch_must_split_evenly(tiny_data, tmp_path):
    with pytest.raises(Exception) as info:  # noqa: B017 - the child's error comes back wrapped
        _run(2, tiny_data, tmp_path / "odd", "epochs=1", "batch_size=7")
    assert "must be a multiple of the 2 processes" in str(info.value)


def test_single_process_is_unaffected():
    assert current() == Dist() and not Dist().enabled and Dist().shard(3, 10) == (3, 10)
    assert [Dist(r, 3).shard(0, 10) for r in range(3)] == [(0, 3), (3, 6), (6, 10)]
    stats = {"loss/a->b": torch.tensor(1.5), "acc/a->b": torch.tensor(25.0, dtype=torch.float64)}
    assert Dist().mean_stats(stats) == {"loss/a->b": 1.5, "acc/a->b": 25.0}
    assert Dist().mean_stats({}) == {}


@pytest.mark.slow
@pytest.mark.ddp
def test_torchrun_command_line(tiny_data, tmp_path):
    """The README's command: ``torchrun --nproc_per_node=2 -m skelcon pretrain ...``."""
    run = tmp_path / "cli"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        "-m",
        "skelcon",
        "pretrain",
        "--data",
        str(tiny_data),
        "--out",
        str(run),
        "--quiet",
        *sum((["--set", s] for s in TINY_PRETRAIN), []),
        "--set",
        "epochs=1",
        "--set",
        "monitor.every=0",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_checkpoint(run)["world_size"] == 2
    assert done.stdout.count("run in ") == 1  # rank 0 alone speaks


# --- downstream features: sharded across ranks, gathered in order ------------------------------


def _features_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    from skelcon.augment import center_crop_resize
    from skelcon.data.prepared import load_prepared
    from skelcon.eval.features import extract_features

    _env(rank, world, port)
    torch.distributed.init_process_group("gloo")
    torch.manual_seed(0)
    enc = _Flat()
    split = load_prepared(data, "default", "train")

    def crop(x, nf):
        return center_crop_resize(x, nf, out_len=8)[:, :, :, :5, :1]

    f, y = extract_features(enc, split, crop, "cpu", batch_size=5, progress=False)
    torch.save({"f": f, "y": y}, f"{out}/rank{rank}.pt")
    torch.distributed.barrier()  # no rank tears down the group while a peer still uses it
    torch.distributed.destroy_process_group()


@pytest.mark.ddp
def test_feature_extraction_shards_and_gathers_in_order(tiny_data, tmp_path):
    from skelcon.augment import center_crop_resize
    from skelcon.data.prepared import load_prepared
    from skelcon.eval.features import extract_features

    _spawn(_features_worker, 2, str(tiny_data), str(tmp_path))
    torch.manual_seed(0)
    split = load_prepared(tiny_data, "default", "train")
    f, y = extract_features(
        _Flat(),
        split,
        lambda x, nf: center_crop_resize(x, nf, out_len=8)[:, :, :, :5, :1],
        "cpu",
        batch_size=7,
        progress=False,
    )
    assert len(split) % 2 == 0 and len(split) % 5  # ranks' parts end inside a batch
    for r in range(2):
        got = torch.load(tmp_path / f"rank{r}.pt", weights_only=True)
        assert torch.equal(got["y"], y) and got["f"].shape == f.shape
        torch.testing.assert_close(got["f"], f, rtol=1e-5, atol=1e-6)


def test_commands_without_processes_refuse_torchrun(tmp_path, monkeypatch, capsys):
    from skelcon.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    code = main(
        [
            "eval",
            "finetune",
            "--checkpoint",
            str(tmp_path),
            "--representation",
            "seq",
            "--data",
            str(tmp_path),
            "--benchmark",
            "x",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("skelcon: rank 1: error: skelcon eval finetune runs in one")
    assert len(err.splitlines()) == 1


def test_resume_line_names_torchrun(monkeypatch):
    from skelcon.engine.pretrain import resume_command

    assert resume_command("d", "xsub", "r").startswith("skelcon pretrain --data d")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    line = resume_command("d", "xsub", "r")
    assert (
        line.startswith("torchrun --nnodes=2 ") and "--nproc_per_node=2 -m skelcon pretrain" in line
    )
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert resume_command("d", "xsub", "r").startswith(
        "torchrun --nproc_per_node=4 -m skelcon pretrain --data d --benchmark xsub --out r --resume"
    )


def test_sync_bn_on_cpu_is_one_line(tiny_data, tmp_path):
    from skelcon.errors import SkelconError

    with pytest.raises(SkelconError, match="sync_bn=true needs CUDA devices"):
        pretrain(
            _cfg("epochs=1", "sync_bn=true"), tiny_data, "default", tmp_path / "r", progress=False
        )


def test_uneven_batch_names_usable_process_counts():
    from skelcon.engine.pretrain import check_world
    from skelcon.errors import SkelconError

    with pytest.raises(SkelconError, match=r"start one of 1, 2, 4 processes"):
        check_world(_cfg("batch_size=8"), Dist(0, 3), torch.device("cpu"), 100)
