"""Contrastive pre-training: the loop on one screen (:func:`_pretrain`).

:func:`setup` turns a config, the prepared data and an output directory into a
:class:`Run` (model, optimizer, views, monitor, logger, progress, where to resume);
each epoch is :func:`train_one_epoch` then :func:`end_epoch` (epoch line, kNN monitor,
checkpoints). Each epoch draws its batch order, its augmentations and any dropout from
seeds derived from ``(cfg.seed, epoch)``, so a run resumed from ``last.pt`` continues
exactly as if it had never stopped. Resuming lives in :mod:`skelcon.engine.resume`,
fitting the recipe to the data in :mod:`skelcon.engine.plan`.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import os
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml
from torch import nn
from tqdm import tqdm

from ..augment import ViewMaker
from ..config import PretrainConfig, to_dict
from ..data.channels import channels_of, coord_count
from ..data.coverage import reachable, reachable_note
from ..data.prepared import PreparedSplit, load_prepared
from ..errors import SkelconError
from ..utils import threads
from ..utils.io import atomic_write, output_lock
from .build import DataSpec, build_moco
from .checkpoint import rng_state, save_checkpoint, seed_everything
from .data import batch_loader, epoch_seed
from .distributed import Dist, distributed
from .guards import StopSignals, guard_loss, guard_weights
from .logging import MetricsLogger, NullLogger
from .monitor import KnnMonitor
from .plan import cap_queue, check_data, check_world, stretch_epochs, stretch_to_min_steps
from .precision import Precision, apply_precision, compile_encoders
from .progress import RunProgress, size_notes
from .resume import (
    RESUME_MUST_MATCH,
    RunReport,
    check_resume,
    load_resume,
    restore,
    resume_command,
)
from .schedules import lr_at, momentum_at
from .verdict import conclude, levers

if TYPE_CHECKING:
    from ..contrast import SkeletonMoCo

__all__ = [  # names that lived here before engine.resume and engine.plan, still importable
    "RESUME_MUST_MATCH",
    "EpochStats",
    "Run",
    "cap_queue",
    "check_world",
    "end_epoch",
    "load_resume",
    "pretrain",
    "resume_command",
    "setup",
    "stretch_epochs",
    "stretch_to_min_steps",
    "train_one_epoch",
    "wrap_ddp",
]

SAVE_LAST_STEPS = 20  # last.pt at least every this many steps, and after every epoch of more
# for tests: end a call after this many epochs, as an interruption would (None: never);
# last.pt is written after the last of them, so the run looks like any other stopped one
_STOP_AFTER: int | None = None


@dataclass
class Run:
    """One pre-training run under way: what :func:`setup` made for the loop."""

    cfg: PretrainConfig
    data: str | os.PathLike[str]
    benchmark: str
    out: Path
    world: Dist
    device: torch.device
    split: PreparedSplit
    spec: DataSpec
    model: SkeletonMoCo
    trainer: nn.Module  # the module a step runs through (DDP-wrapped under torchrun)
    optimizer: torch.optim.Optimizer
    amp: Precision
    views: ViewMaker
    monitor: KnnMonitor | None
    logger: MetricsLogger
    progress: RunProgress
    report: RunReport  # what the run keeps; the stop and NaN lines
    start_epoch: int
    steps_per_epoch: int
    save_last_every: int  # epochs between last.pt writes (min_steps on small data: several)
    echo: bool  # rank 0 with progress on: the one process that prints

    @property
    def nets(self) -> dict[str, nn.Module]:
        """The query encoders and heads, by name: what the NaN/Inf guards look into."""
        reps = self.cfg.representations
        return {
            **{f"{r} encoder": self.model.query_encoders[r] for r in reps},
            **{f"{r} head": self.model.query_heads[r] for r in reps},
        }


@dataclass(frozen=True)
class EpochStats:
    """One epoch of training: the sum of its batch losses over ``batches``, the clips
    ``seen`` by all ranks and the ``seconds`` it took."""

    loss_sum: float
    batches: int
    seen: int
    seconds: float

    @property
    def loss(self) -> float:
        return self.loss_sum / self.batches

    @property
    def samples_per_s(self) -> float:
        return self.seen / max(self.seconds, 1e-9)


def pretrain(
    cfg: PretrainConfig,
    data: str | os.PathLike[str],
    benchmark: str,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    resume_from: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Path:
    """Pre-train on the ``train`` split of ``benchmark``; write the run to ``out``.

    Logs to ``out/metrics.jsonl`` and TensorBoard: every ``log_every`` steps the loss,
    lr, key momentum and the per-pair / per-representation statistics of
    :class:`~skelcon.contrast.SkeletonMoCo` (under torchrun averaged over the ranks,
    :meth:`~skelcon.engine.distributed.Dist.mean_stats`, as ``loss`` is); every epoch the mean loss and samples/s;
    and the kNN monitor (:class:`~skelcon.engine.monitor.KnnMonitor`) when due.
    ``resume`` continues from ``out/last.pt``, ``resume_from`` from that checkpoint
    file (e.g. an ``epoch_NNNN.pt`` when ``last.pt`` is corrupt) into ``out``.
    Raises :class:`SkelconError` on an empty split, a config that does not fit the
    data, a ``--resume`` that does not match the run, another run holding ``out``,
    a NaN/Inf loss or weights (nothing of that step is saved) or a full disk;
    :class:`~skelcon.errors.Interrupted` on SIGINT/SIGTERM (the epoch under way is
    abandoned; ``last.pt`` keeps the last finished one).
    """
    cfg.validate()
    cfg = copy.deepcopy(cfg)  # the run stretches its own copy (min_steps, queue cap)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SkelconError(f"out {out} is a file; give a directory for the run", param="out")
    with distributed(cfg.device) as (world, device):
        lock = output_lock(out, "pretrain") if world.is_main else contextlib.nullcontext()
        with lock:
            run = setup(
                cfg,
                data,
                benchmark,
                out,
                world,
                device,
                resume=resume or resume_from is not None,
                resume_from=resume_from,
                progress=progress,
            )
            return out if run is None else _pretrain(run)


def _pretrain(run: Run) -> Path:
    """The loop: epochs of training, each ended by its line, monitor and checkpoints."""
    cfg, stats = run.cfg, None
    try:
        with StopSignals(run.report.stopped) as stop:
            if run.start_epoch == 0:
                measure(run, 0)  # this run's own random-init baseline
            for n, epoch in enumerate(range(run.start_epoch, cfg.epochs), 1):
                stats = train_one_epoch(run, epoch)
                stopping = _STOP_AFTER is not None and n >= _STOP_AFTER
                end_epoch(run, epoch, stats, stop, save_last=stopping)
                if stopping:
                    break
    finally:  # also on an error or a signal: the bar and the logs are closed
        run.progress.close()
        run.logger.close()
    if stats is not None and not math.isfinite(stats.loss_sum):
        raise SkelconError("training diverged")
    if run.world.is_main and run.monitor is not None and run.report.done == cfg.epochs:
        steps = cfg.epochs * run.steps_per_epoch
        tips = levers(steps, run.views.coords == 2, run.views.temporal)
        right = reachable(run.split.labels, run.monitor.test.labels)[0]
        conclude(
            run.out, len(run.monitor.test), steps, echo=run.echo, tips=tips, reachable=right
        )  # verdict.json
    return run.out


def train_one_epoch(run: Run, epoch: int) -> EpochStats:
    """Train epoch ``epoch`` (0-based): its batches in the order of ``(seed, epoch)``,
    this rank's part of each; the weights checked and every rank's identical at its end."""
    cfg, world, device = run.cfg, run.world, run.device
    es = epoch_seed(cfg.seed, epoch, world.rank)
    torch.manual_seed(es)  # dropout and any other global draws
    aug_gen = torch.Generator(device=device).manual_seed(es)
    loader = batch_loader(  # global batches from (seed, epoch); this rank's part
        run.split,
        cfg.batch_size,
        shuffle=True,
        drop_last=True,
        seed=epoch_seed(cfg.seed, epoch),
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
        rank=world.rank,
        world_size=world.world_size,
        with_index=True,  # each clip's index: its own older keys are not its negatives
    )
    run.model.train()
    t0, seen, total = time.time(), 0, 0.0
    run.progress.epoch(epoch)
    for i, batch in enumerate(loader):
        value = train_step(run, epoch, i, len(loader), batch, aug_gen)
        seen += batch[0].shape[0] * world.world_size
        total += value
        run.progress.step(value)
    guard_weights(run.nets, where=f"the last step of epoch {epoch + 1}", advice=run.report.advice())
    world.average_batchnorm(run.model)  # every rank's weights identical again
    return EpochStats(total, max(len(loader), 1), seen, time.time() - t0)


def train_step(
    run: Run,
    epoch: int,
    i: int,
    batches: int,
    batch: Iterable[torch.Tensor],
    aug_gen: torch.Generator,
) -> float:
    """Batch ``i`` of ``batches`` of epoch ``epoch``: one optimiser step; returns the loss
    of the global batch. One device-to-host sync (that loss, before ``backward``: a NaN
    or Inf stops the run there, nothing of the step applied), another at logged steps."""
    cfg, device = run.cfg, run.device
    x, nf, _, ids = batch
    t = epoch + i / batches
    set_lr(run.optimizer, lr_at(cfg.optim, t, cfg.epochs))
    run.model.momentum = momentum_at(cfg.moco, t, cfg.epochs)
    x = x.to(device, non_blocking=True)
    nf = nf.to(device, non_blocking=True)
    view_q = run.views(x, nf, generator=aug_gen)
    view_k = run.views(x, nf, generator=aug_gen)
    ids = ids.to(device, non_blocking=True)
    loss, stats = run.trainer(view_q, view_k, generator=aug_gen, ids=ids)
    step = epoch * run.steps_per_epoch + i + 1
    value = run.world.mean(loss.detach()).item()  # of the global batch, on every rank
    if not math.isfinite(value):
        guard_loss(
            value,
            stats,
            modules=run.nets,
            advice=run.report.advice(),
            where=f"step {step} (epoch {epoch + 1}, batch {i + 1} of {batches})",
        )
    run.amp.step(loss, run.optimizer)
    final = epoch + 1 == cfg.epochs and i + 1 == batches
    if cfg.log_every and (step % cfg.log_every == 0 or final):  # global steps
        # every rank: the statistics of the global batch, one all_reduce
        run.logger.log(
            step,
            loss=value,
            lr=run.optimizer.param_groups[0]["lr"],
            epoch=epoch + 1,
            key_momentum=run.model.momentum,
            **run.world.mean_stats(stats),
        )
    return value


def end_epoch(
    run: Run, epoch: int, stats: EpochStats, stop: StopSignals, *, save_last: bool = False
) -> None:
    """After epoch ``epoch`` (0-based): its line and metrics, the kNN monitor when due,
    then ``last.pt`` (every :attr:`Run.save_last_every` epochs, after the last, or
    ``save_last``) and ``epoch_NNNN.pt`` every ``save_every`` epochs (rank 0 writes),
    with ``stop``'s signals held back until they are written."""
    cfg, done = run.cfg, epoch + 1
    run.logger.log(
        done * run.steps_per_epoch,
        epoch=done,
        epoch_loss=stats.loss,
        samples_per_s=stats.samples_per_s,
        threads=threads.policy(),  # the CPU thread choice behind samples_per_s
    )
    run.progress.epoch_line(done, stats.loss, stats.samples_per_s)
    measure(run, done)
    kept_every = bool(cfg.save_every) and done % cfg.save_every == 0
    last_due = done % run.save_last_every == 0 or done == cfg.epochs or save_last
    # a signal now waits until the checkpoints are written (not in the training speed)
    with stop.deferred(), run.progress.aside():
        if run.world.is_main and (last_due or kept_every):
            state = run_state(run, done)
            save_checkpoint(run.out / "last.pt", state)
            if kept_every:
                save_checkpoint(run.out / f"epoch_{done:04d}.pt", state)
        if last_due or kept_every:
            run.report.done = done


def measure(run: Run, epoch: int) -> None:
    """The kNN monitor after ``epoch`` epochs, when due (every rank: the features are
    sharded); logged, and said on the console."""
    if run.monitor is None or not run.monitor.due(epoch, run.cfg.epochs):
        return
    with run.progress.monitor_pass(epoch):  # its own bar; not in the training speed
        knn = run.monitor.measure(
            dict(run.model.query_encoders),
            run.device,
            progress=run.echo,
            speed=run.progress.monitor_speed,
        )
    run.logger.log(epoch * run.steps_per_epoch, epoch=epoch, **knn)
    if run.echo:
        tqdm.write(
            f"epoch {epoch}  kNN top-1 "
            + "  ".join(f"{k.split('/')[1]} {v:.1f}%" for k, v in knn.items())
        )


def setup(
    cfg: PretrainConfig,
    data: str | os.PathLike[str],
    benchmark: str,
    out: Path,
    world: Dist,
    device: torch.device,
    *,
    resume: bool,
    resume_from: str | os.PathLike[str] | None,
    progress: bool,
) -> Run | None:
    """Everything the loop needs, in the order that fixes the run's random draws: the
    data (checked, the recipe fitted to it), the model and optimizer from ``cfg.seed``,
    the resumed state, the output directory, logger, progress, views and monitor.
    ``None``: a resumed run that is complete already (said on stderr)."""
    echo = progress and world.is_main  # rank 0 alone logs, shows progress and writes
    split, spec, notes = training_data(cfg, data, benchmark, world, device)
    seed_everything(cfg.seed)
    model = build_moco(cfg, spec).to(device)
    amp = Precision(cfg.precision, device, cfg.tf32)
    optimizer = prepare_model(cfg, model, amp, world)
    start_epoch = 0
    if resume:
        ckpt = load_resume(out, data, benchmark, resume_from, map_location=device)
        check_resume(ckpt, cfg, benchmark, spec, split, out)
        start_epoch = restore(ckpt, model, optimizer, amp, resume_from or out / "last.pt")
        if start_epoch >= cfg.epochs:
            if world.is_main:  # also with --quiet: the one line that says nothing was done
                print(
                    f"skelcon: {out} is complete ({start_epoch} of {cfg.epochs} epochs); "
                    "nothing to resume",
                    file=sys.stderr,
                )
            return None
    elif (out / "last.pt").exists():
        raise SkelconError(
            f"{out} already holds a run; pass --resume to continue it or pick another --out"
        )
    for note in notes if echo else []:
        print(f"skelcon: note: {note}", file=sys.stderr)
    trainer = wrap_ddp(model, world, device)
    if world.is_main:
        prepare_out(cfg, out, start_epoch)
    logger = MetricsLogger(out) if world.is_main else NullLogger()
    steps_per_epoch = max(len(split) // cfg.batch_size, 1)
    logger.truncate_after(start_epoch * steps_per_epoch)
    shown = RunProgress(cfg, device, steps_per_epoch, start_epoch, enabled=echo)
    for text in [*size_notes(cfg, len(split)), *amp.notes()]:
        shown.note(text)
    views = ViewMaker.from_config(cfg.augment, coords=coord_count(channels_of(split.meta)))
    monitor = attach_monitor(cfg, data, benchmark, split, shown, echo)
    report = RunReport(cfg, data, benchmark, out, start_epoch, resume_from)
    return Run(
        cfg,
        data,
        benchmark,
        out,
        world,
        device,
        split,
        spec,
        model,
        trainer,
        optimizer,
        amp,
        views,
        monitor,
        logger,
        shown,
        report,
        start_epoch,
        steps_per_epoch,
        max(SAVE_LAST_STEPS // steps_per_epoch, 1),
        echo,
    )


def training_data(
    cfg: PretrainConfig,
    data: str | os.PathLike[str],
    benchmark: str,
    world: Dist,
    device: torch.device,
) -> tuple[PreparedSplit, DataSpec, list[str]]:
    """The training split, its :class:`DataSpec`, and the notes of fitting ``cfg`` to it
    (said once a resume has been accepted); refuses data and configs that cannot run."""
    split = load_prepared(data, benchmark, "train")
    if len(split) == 0:
        raise SkelconError(f"benchmark {benchmark!r} of {data} has an empty train split")
    spec = DataSpec.from_meta(
        split.meta, cfg.augment.out_len, cfg.seq_init, cfg.stream, cfg.seq.recurrence
    )
    check_data(cfg, spec, len(split), data)
    check_world(cfg, world, device, len(split))
    notes = [stretch_to_min_steps(cfg, len(split)), cap_queue(cfg, len(split))]
    return split, spec, [n for n in notes if n]


def prepare_model(
    cfg: PretrainConfig, model: SkeletonMoCo, amp: Precision, world: Dist
) -> torch.optim.Optimizer:
    """Precision, SyncBatchNorm and compilation of ``model`` as ``cfg`` says; its SGD."""
    apply_precision(model, amp)
    if cfg.sync_bn and world.enabled:
        model.query_encoders = nn.SyncBatchNorm.convert_sync_batchnorm(  # type: ignore[no-untyped-call]
            model.query_encoders
        )
    compile_encoders(model, cfg.compile)
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(
        params, lr=cfg.optim.lr, momentum=cfg.optim.momentum, weight_decay=cfg.optim.weight_decay
    )


def prepare_out(cfg: PretrainConfig, out: Path, start_epoch: int) -> None:
    """The run directory with this run's ``config.yaml``; a fresh run starts with no
    logs of an earlier failed start."""
    out.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    atomic_write(out / "config.yaml", lambda p: p.write_text(text))
    if start_epoch == 0:
        (out / "metrics.jsonl").unlink(missing_ok=True)
        shutil.rmtree(out / "tb", ignore_errors=True)


def attach_monitor(
    cfg: PretrainConfig,
    data: str | os.PathLike[str],
    benchmark: str,
    split: PreparedSplit,
    shown: RunProgress,
    echo: bool,
) -> KnnMonitor | None:
    """The kNN monitor of the run (``None``: off or impossible, said with ``echo``); its
    passes still due count in the time left."""
    monitor, why_not = KnnMonitor.for_run(cfg.monitor, data, benchmark, split, cfg.augment.out_len)
    if monitor is None:
        if echo and cfg.monitor.every:
            print(f"skelcon: note: no kNN monitor ({why_not})", file=sys.stderr)
        return None
    shown.plan_monitor(lambda e: monitor.due(e, cfg.epochs))
    cannot = reachable_note(*reachable(split.labels, monitor.test.labels))
    if cannot and echo:
        shown.note(f"kNN monitor: {cannot}")
    return monitor


def run_state(run: Run, epoch: int) -> dict[str, Any]:
    """What a checkpoint holds after ``epoch`` finished epochs: config, weights,
    optimizer, loss-scaler and RNG states, the number of processes, and what the data
    was (checked again on resume), and the skelcon version that wrote it."""
    from ..version import package_version

    return {
        "config": to_dict(run.cfg),
        "epoch": epoch,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scaler": run.amp.state_dict(),
        "world_size": run.world.world_size,
        "rng": rng_state(),
        "data": run.spec.to_dict(),
        "benchmark": run.benchmark,
        "num_clips": len(run.split),
        "data_fingerprint": run.split.fingerprint(),
        "representations": list(run.cfg.representations),
        "skelcon_version": package_version(),
    }


def wrap_ddp(model: torch.nn.Module, world: Dist, device: torch.device) -> torch.nn.Module:
    """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` under torchrun.

    DDP averages the query encoders' gradients over ranks (key encoders have none);
    buffers are not broadcast each step (queues are identical by construction, and
    BatchNorm statistics are averaged each epoch by :meth:`Dist.average_batchnorm`).
    """
    if not world.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    ddp = nn.parallel.DistributedDataParallel
    # PyTorch >= 2.13 names it forward_sync_buffers (buffers are still synced once, at init,
    # where every rank holds the same seeded values anyway); older ones broadcast_buffers
    new = "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters
    sync: dict[str, Any] = {"forward_sync_buffers" if new else "broadcast_buffers": False}
    return ddp(model, device_ids=ids, **sync)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in opt.param_groups:
        group["lr"] = lr
