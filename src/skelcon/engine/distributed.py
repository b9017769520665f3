"""Multi-process training on PyTorch's own engine (``torch.distributed``, torchrun, DDP).

``torchrun --nproc_per_node=N -m skelcon pretrain ...`` starts N processes with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in their
environment; :func:`distributed` reads them, joins the process group (``gloo`` on
CPU, ``nccl`` on CUDA) and returns a :class:`Dist` that the training loop uses
through a handful of small helpers: the rank's part of each global batch, the mean
of a value over ranks, the BatchNorm statistics averaged before a checkpoint, and
whether this rank logs. Without torchrun (``WORLD_SIZE`` unset or 1) everything is
a no-op and a run is exactly the single-process one.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import SkelconError
from .device import resolve_device
from .launch import (
    AGENT_STORE,
    COLLECTIVE_DEFAULT_MIN,
    COLLECTIVE_ENV,
    LAUNCH_VARS,
    RENDEZVOUS_DEFAULT_S,
    RENDEZVOUS_ENV,
    START_HINT,
    LaunchInfo,
    dist_timeouts,
    launch_env,
    launch_info,
    take_local_rank_arg,
)

__all__ = [  # the launcher's environment is read in .launch (no torch); named here too
    "AGENT_STORE",
    "COLLECTIVE_DEFAULT_MIN",
    "COLLECTIVE_ENV",
    "LAUNCH_VARS",
    "RENDEZVOUS_DEFAULT_S",
    "RENDEZVOUS_ENV",
    "SINGLE",
    "START_HINT",
    "Dist",
    "LaunchInfo",
    "current",
    "dist_timeouts",
    "distributed",
    "launch_env",
    "launch_info",
    "take_local_rank_arg",
]


@dataclass(frozen=True)
class Dist:
    """Where this process stands: ``rank`` of ``world_size`` (``local_rank`` on its node)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """Whether there is more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs, shows progress and writes files."""
        return self.rank == 0

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's contiguous part ``[a, b)`` of the rows ``[start, stop)``.

        Ranks take consecutive parts in rank order, so gathering their results in rank
        order gives the rows in their original order; sizes differ by at most one.
        """
        n = stop - start
        return start + self.rank * n // self.world_size, start + (
            self.rank + 1
        ) * n // self.world_size

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """The mean of ``t`` (any shape, floating) over all ranks; ``t`` itself with one."""
        if not self.enabled:
            return t
        t = t.detach().clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t / self.world_size

    @torch.no_grad()
    def mean_stats(self, stats: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """Every 0-dim statistic of ``stats`` averaged over ranks, as Python floats.

        One ``all_reduce`` of the stacked values (one host sync), so every rank must call
        it at the same step. Means over each rank's equal part of the batch (losses,
        accuracies, cosines) become the means over the global batch; a nonlinear
        statistic of a rank's part (``std``, ``uniformity``) becomes the mean over ranks
        of that statistic. With one process: the values themselves.
        """
        if not stats:
            return {}
        flat = torch.stack([v.detach().float().reshape(()) for v in stats.values()])
        values = self.mean(flat).tolist()
        return dict(zip(stats, values, strict=True))

    @torch.no_grad()
    def average_batchnorm(self, model: nn.Module) -> None:
        """Average every BatchNorm running mean and variance of ``model`` over ranks.

        Each rank's BatchNorm layers track the statistics of its own part of the batch;
        averaging them before a checkpoint or an evaluation makes the weights of every
        rank identical again and the statistics those of the whole batch.
        """
        if not self.enabled:
            return
        stats = [
            b
            for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
            for b in (m.running_mean, m.running_var)
            if b is not None
        ]
        if not stats:
            return
        flat = torch.cat([b.reshape(-1) for b in stats])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world_size
        parts = flat.split([b.numel() for b in stats])  # type: ignore[no-untyped-call]
        torch._foreach_copy_(stats, list(parts))

    @torch.no_grad()
    def gather_rows(self, t: torch.Tensor) -> torch.Tensor:
        """Concatenate ``t: (n_r, ...)`` of every rank in rank order -> ``(sum n_r, ...)``.

        Ranks may hold different numbers of rows (the parts of :meth:`shard`).
        """
        if not self.enabled:
            return t
        n = torch.tensor([t.shape[0]], device=t.device)
        counts = [torch.zeros_like(n) for _ in range(self.world_size)]
        dist.all_gather(counts, n)
        sizes = [int(c.item()) for c in counts]
        padded = t.new_zeros((max(sizes), *t.shape[1:]))
        padded[: t.shape[0]] = t
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([p[:s] for p, s in zip(parts, sizes, strict=True)])


SINGLE = Dist()


def current() -> Dist:
    """The :class:`Dist` of an already joined process group (``SINGLE`` when none)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        rank, world = dist.get_rank(), dist.get_world_size()
        env = launch_info(check=False)  # a launcher's LOCAL_RANK when it started this group
        return Dist(rank, world, env.local_rank if env.world_size == world else rank)
    return SINGLE


def _device_for(name: str, local_rank: int) -> torch.device:
    """The device of local rank ``local_rank``: ``cuda`` (or ``auto`` with CUDA) -> its own GPU."""
    if name in ("auto", "cuda") and torch.cuda.is_available():
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise SkelconError(
                f"local rank {local_rank} has no GPU ({count} visible); start at most "
                f"{count} processes per node (torchrun --nproc_per_node={count})"
            )
        return torch.device("cuda", local_rank)
    device = resolve_device(name)
    if device.type == "cuda" and device.index is not None:
        raise SkelconError(
            f"device {name!r} pins every process to one GPU; under torchrun use "
            "device=cuda or auto (each process takes the GPU of its LOCAL_RANK)"
        )
    return device


@contextlib.contextmanager
def _default_stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM at their default action (end the process) inside the block.

    A rendezvous blocks in C++, where Python's handlers (skelcon's SIGTERM handler,
    ``KeyboardInterrupt``) never get to run; with the default action the signal ends
    the process at once. The previous handlers are restored on leaving (main thread
    only; elsewhere the handlers cannot be changed and are left alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _others(world: int) -> str:
    """``"the other process"`` / ``"the other N processes"`` of a group of ``world``."""
    return "the other process" if world == 2 else f"the other {world - 1} processes"


def _rendezvous_error(e: BaseException, rank: int, world: int, where: str, seconds: float) -> str:
    """One line for a failed rendezvous: who did not arrive, or torch's first line."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    me = f"rank {rank} of {world}"
    if "timed out" not in text.lower() and "timeout" not in text.lower():
        return f"cannot join {_others(world)} at {where} ({me}): {first}"
    hosting = rank == 0 and not launch_info(check=False).agent_store  # rank 0 opens the store
    joined = re.search(r"(\d+)/(\d+) clients joined", text)
    missing = world - int(joined.group(1)) if hosting and joined is not None else world - 1
    if hosting and 0 < missing < world - 1:
        who = f"{missing} of {_others(world)} did not arrive"
    elif hosting:
        who = f"{_others(world)} did not arrive"
    else:
        who = f"nothing answered at {where} (rank 0 is not running there)"
    return (
        f"rendezvous at {where} timed out after {seconds:g} s ({me}): {who}; start all "
        f"{world} processes with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE "
        f"(torchrun --nproc_per_node={world} ...), or wait longer with {RENDEZVOUS_ENV}=SECONDS"
    )


def _join(backend: str, rank: int, world: int, rendezvous_s: float, collective_min: float) -> None:
    """Join the default process group: the rendezvous bounded by ``rendezvous_s`` seconds
    (a line on stderr first, SIGINT/SIGTERM end the process while it waits), then the
    group with collectives bounded by ``collective_min`` minutes. Raises a one-line
    :class:`SkelconError` naming what did not arrive."""
    info = launch_info(check=False)
    where = info.master
    if not info.agent_store:  # under torchrun the ranks are all there
        print(
            f"skelcon: waiting for {_others(world)} at {where} (rank {rank} of {world}; up to "
            f"{rendezvous_s:g} s, {RENDEZVOUS_ENV}) ...",
            file=sys.stderr,
            flush=True,
        )
    with _default_stop_signals():
        try:
            store, _, _ = next(
                dist.rendezvous(
                    "env://", rank, world, timeout=datetime.timedelta(seconds=rendezvous_s)
                )
            )
        except (RuntimeError, ValueError, OSError) as e:  # DistStoreError, DistNetworkError
            raise SkelconError(_rendezvous_error(e, rank, world, where, rendezvous_s)) from None
        timeout = datetime.timedelta(minutes=collective_min)
        store.set_timeout(timeout)
        dist.init_process_group(
            backend,
            store=dist.PrefixStore("default_pg", store),
            rank=rank,
            world_size=world,
            timeout=timeout,
        )


@contextlib.contextmanager
def distributed(device_name: str) -> Iterator[tuple[Dist, torch.device]]:
    """Join torchrun's process group when there is one; yield ``(Dist, device)``.

    Reads ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` (set by torchrun); with one
    process this is ``(SINGLE, resolve_device(device_name))``. The backend is ``nccl``
    for CUDA devices and ``gloo`` for CPU. Outside torchrun's agent each process says
    on stderr that it waits for the others; the wait is bounded by
    ``SKELCON_RENDEZVOUS_TIMEOUT`` seconds (default 300) and SIGINT/SIGTERM end the
    process during it; collectives wait ``SKELCON_DIST_TIMEOUT_MIN`` minutes (default
    60) for a slow rank. A group joined here is left on exit; one that was already
    joined (a caller's) is kept. Raises :class:`SkelconError` when a rank has no GPU of
    its own, the launcher's environment is incomplete (:func:`launch_info`), a timeout
    setting is not a positive number, or the rendezvous fails or times out (naming
    what did not arrive).
    """
    if dist.is_available() and dist.is_initialized():
        here = current()
        yield (
            here,
            _device_for(device_name, here.local_rank)
            if here.enabled
            else resolve_device(device_name),
        )
        return
    info = launch_info()
    if not info.enabled:
        yield SINGLE, resolve_device(device_name)
        return
    rendezvous_s, collective_min = dist_timeouts()
    device = _device_for(device_name, info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    _join(backend, info.rank, info.world_size, rendezvous_s, collective_min)
    try:
        yield Dist(info.rank, info.world_size, info.local_rank), device
        # every rank has finished its collectives before any tears its group down: rank
        # 0 hosts the store, and a peer still using it aborts ("terminate called ...")
        dist.barrier()
    finally:
        dist.destroy_process_group()
